"""A listener on every command topic, so a benchmark can say how its commands travelled.

The programme benchmark's emergency figure depends on whether the audio came inside
the command (`AudioRef.data`) or was downloaded: this records, per announcement, how
many commands were published, how many carried inline audio and how large they were.
It reads with the controller's broker account, which may read `loa/v1/#`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from loa.stack import Stack
from protocol.base import MAX_COMMAND_PAYLOAD_BYTES, ProtocolError, decode
from protocol.commands import Command
from protocol.topics import PREFIX


@dataclass(frozen=True)
class SeenCommand:
    topic: str
    announcement: int
    inline: bool
    """The command carried the audio itself (`play.audio.data`)."""
    envelope_bytes: int


class CommandTap:
    def __init__(self, stack: Stack) -> None:
        self.seen: list[SeenCommand] = []
        self._lock = threading.Lock()
        self.link = stack.controller_link("bench-cmds", keepalive=30)
        for pattern in (f"{PREFIX}/zones/+/cmd", f"{PREFIX}/nodes/+/cmd"):
            self.link.subscribe(pattern, self._on_command)

    def _on_command(self, topic: str, payload: bytes) -> None:
        try:
            envelope = json.loads(payload)
            cmd = decode(Command, envelope["cmd"], limit=MAX_COMMAND_PAYLOAD_BYTES)
        except (ValueError, KeyError, TypeError, ProtocolError):
            return
        if cmd.play is None:
            return
        seen = SeenCommand(topic, cmd.play.announcement, cmd.play.audio.data is not None, len(payload))
        with self._lock:
            self.seen.append(seen)

    def start(self) -> None:
        self.link.start()
        if not self.link.wait_connected(10):
            raise RuntimeError("command tap could not connect")

    def stop(self) -> None:
        self.link.stop()

    def for_announcement(self, announcement: int) -> list[SeenCommand]:
        with self._lock:
            return [c for c in self.seen if c.announcement == announcement]


__all__ = ["CommandTap", "SeenCommand"]
