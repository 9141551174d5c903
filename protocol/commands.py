"""Commands from the controller to nodes (`.../cmd` topics, QoS 1, signed).

A command is the unit a node authenticates, de-duplicates and expires: it always has
an id, the time it was issued and the time after which it must not be acted on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol.base import Payload, ProtocolError, UtcDatetime
from protocol.topics import ID_PATTERN

SHA256_PATTERN = r"^[0-9a-f]{64}$"

MAX_INLINE_AUDIO_BYTES = 128 * 1024
"""Most audio bytes one command may carry inline (`AudioRef.data`, before base64): about
40 s of 24 kbit/s Opus. Keeps a command envelope under `MAX_COMMAND_PAYLOAD_BYTES`."""

MAX_INLINE_DATA_CHARS = 4 * ((MAX_INLINE_AUDIO_BYTES + 2) // 3)
"""Length of MAX_INLINE_AUDIO_BYTES in padded base64."""


class InlineAudioError(ProtocolError):
    """`AudioRef.data` is unusable (not base64, wrong size or hash): fetch the URL instead."""


class Priority(StrEnum):
    """The three levels of Circular 39/2020/TT-BTTTT."""

    NORMAL = "normal"
    PRIORITY = "priority"
    EMERGENCY = "emergency"


class CommandKind(StrEnum):
    PLAY = "play"
    CANCEL = "cancel"
    STOP = "stop"
    RELAY = "relay"
    CONTROL = "control"


class AudioRef(BaseModel):
    """Where to fetch a piece of audio and how to know it is the right one."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    url: Annotated[str, Field(min_length=1, max_length=2048)]
    """HTTP(S) URL of the content-addressed file; supports Range requests for resume."""
    sha256: Annotated[str, Field(pattern=SHA256_PATTERN)]
    """Lower-case hex digest; the node keeps the file only if its bytes hash to this."""
    size: Annotated[int, Field(gt=0, le=512 * 1024 * 1024)]
    """Exact length in bytes."""
    duration_ms: Annotated[int, Field(ge=0)]
    """Playing time, for timelines and telemetry."""
    mime: str = "audio/ogg; codecs=opus"
    data: Annotated[str, Field(min_length=1, max_length=MAX_INLINE_DATA_CHARS)] | None = None
    """Optional: the file itself, standard base64 (RFC 4648, padded). The controller sends
    it only with small emergency plays, so the audio arrives with the (signed) command and
    the node is ready without an HTTP round trip. Checked like a download (exact `size`,
    `sha256`); when absent or unusable the node fetches `url`, which is always present.
    Not validated here beyond its length, so a bad `data` costs a download, never the play."""

    def inline_bytes(self) -> bytes | None:
        """The verified bytes of `data`; None without `data`.

        Raises InlineAudioError when `data` is not base64 or does not decode to exactly
        `size` bytes hashing to `sha256` - the receiver then downloads `url` instead.
        """
        if self.data is None:
            return None
        try:
            raw = base64.b64decode(self.data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InlineAudioError(f"inline audio is not valid base64: {exc}") from None
        if len(raw) != self.size:
            raise InlineAudioError(f"inline audio is {len(raw)} bytes, the command says {self.size}")
        actual = hashlib.sha256(raw).hexdigest()
        if actual != self.sha256:
            raise InlineAudioError(f"inline audio hashes to {actual[:12]}..., not {self.sha256[:12]}...")
        return raw

    def without_data(self) -> "AudioRef":
        """The same reference without inline bytes (what a node keeps on disk and in memory)."""
        return self if self.data is None else self.model_copy(update={"data": None})


class PlayOrder(BaseModel):
    """Play one piece of audio at a given wall-clock time."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    announcement: Annotated[int, Field(ge=1)]
    """Announcement id exactly as the controller's API shows it."""
    audio: AudioRef
    play_at: UtcDatetime
    """Start time by the node's own (NTP-disciplined) clock. A node that is ready late
    starts at once, as long as the command has not expired."""
    priority: Priority = Priority.NORMAL
    occurrence: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    """Stable id of a scheduled occurrence (`{announcement}:{key}`). A node holds at most
    one play per occurrence: a re-sent command for the same occurrence (after a
    reconnect or a controller restart) replaces the staged one instead of adding a play."""


class CancelOrder(BaseModel):
    """Withdraw staged plays: they are removed from the timeline (or stopped, if playing)
    and each is reported `cancelled`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    announcement: Annotated[int, Field(ge=1)] | None = None
    """Every play of this announcement."""
    occurrences: list[Annotated[str, Field(min_length=1, max_length=128)]] | None = None
    """Only these occurrences."""

    @model_validator(mode="after")
    def _something(self) -> "CancelOrder":
        if self.announcement is None and not self.occurrences:
            raise ValueError("a cancel names an announcement or occurrences")
        return self


class StopOrder(BaseModel):
    """Stop whatever is playing now (an operator's "stop" button); staged plays stay."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    reason: Annotated[str, Field(max_length=200)] | None = None


class ControlAction(StrEnum):
    """What a technician can make one node do remotely (the dashboard's buttons)."""

    VOLUME = "volume"
    """Set the output volume (persisted on the node, applied to every later play)."""
    TEST_TONE = "test_tone"
    """Play a short tone the node generates itself: proves the speaker chain works
    without downloading anything over the paid SIM."""
    RESTART = "restart"
    """Restart the agent process (a clean shutdown, then the same program again)."""


class ControlOrder(BaseModel):
    """A technician's remote action on a node. Stopping what plays is the `stop`
    command, not an action here: it already exists for zones and works for one node."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    action: ControlAction
    volume: Annotated[int, Field(ge=0, le=100)] | None = None
    """Output volume in percent; present exactly when action is `volume`."""

    @model_validator(mode="after")
    def _volume_iff_action(self) -> "ControlOrder":
        if self.action is ControlAction.VOLUME and self.volume is None:
            raise ValueError("a volume action needs `volume` (0-100)")
        if self.action is not ControlAction.VOLUME and self.volume is not None:
            raise ValueError(f"a {self.action.value} action carries no `volume`")
        return self


MAX_RELAY_S = 6 * 3600
"""Longest relay window one command may carry (6 h)."""

RELAY_URL_PATTERN = r"^https?://[^\s]+$"


class RelayOrder(BaseModel):
    """Relay (tiếp sóng) a live HTTP(S)/Icecast stream from `start_at` until `end_at`.

    Staged like a play: `relay_id` is its stable id (like an occurrence: a node holds at
    most one relay per id, and `cancel` with `occurrences=[relay_id]` withdraws it). No
    download, no hash: the node plays the stream live, reconnecting when it drops, and
    joins in progress when it is ready after `start_at`.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    relay_id: Annotated[str, Field(min_length=1, max_length=128)]
    url: Annotated[str, Field(min_length=8, max_length=2048, pattern=RELAY_URL_PATTERN)]
    """http:// or https:// stream URL (Icecast, plain HTTP audio stream)."""
    start_at: UtcDatetime
    end_at: UtcDatetime
    priority: Priority = Priority.NORMAL
    """`normal` or `priority`; emergencies are announcements, never relays."""

    @model_validator(mode="after")
    def _window(self) -> "RelayOrder":
        if self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        if (self.end_at - self.start_at).total_seconds() > MAX_RELAY_S:
            raise ValueError(f"a relay lasts at most {MAX_RELAY_S // 3600} h")
        if self.priority is Priority.EMERGENCY:
            raise ValueError("a relay's priority is normal or priority")
        return self


class Command(Payload):
    id: Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    """Unique per command; nodes drop a second command with an id they have seen."""
    kind: CommandKind
    issued_at: UtcDatetime
    expires_at: UtcDatetime
    """After this instant the node must not act on the command (it reports `expired`)."""
    play: PlayOrder | None = None
    """Present exactly when kind is `play`."""
    cancel: CancelOrder | None = None
    """Present exactly when kind is `cancel`."""
    stop: StopOrder | None = None
    """Present exactly when kind is `stop`."""
    relay: RelayOrder | None = None
    """Present exactly when kind is `relay`."""
    control: ControlOrder | None = None
    """Present exactly when kind is `control`."""
    nodes: list[Annotated[str, Field(pattern=ID_PATTERN)]] | None = None
    """Optional narrowing on a zone topic: only these nodes act. Absent means all."""

    @model_validator(mode="after")
    def _shape(self) -> "Command":
        if self.expires_at <= self.issued_at:
            raise ValueError("expires_at must be after issued_at")
        bodies = {
            CommandKind.PLAY: self.play,
            CommandKind.CANCEL: self.cancel,
            CommandKind.STOP: self.stop,
            CommandKind.RELAY: self.relay,
            CommandKind.CONTROL: self.control,
        }
        if bodies[self.kind] is None:
            raise ValueError(f"a {self.kind.value} command needs `{self.kind.value}`")
        if any(body is not None for kind, body in bodies.items() if kind is not self.kind):
            raise ValueError(f"a {self.kind.value} command carries only `{self.kind.value}`")
        return self


__all__ = [
    "AudioRef",
    "InlineAudioError",
    "MAX_INLINE_AUDIO_BYTES",
    "MAX_INLINE_DATA_CHARS",
    "CancelOrder",
    "Command",
    "CommandKind",
    "ControlAction",
    "ControlOrder",
    "MAX_RELAY_S",
    "PlayOrder",
    "Priority",
    "RELAY_URL_PATTERN",
    "RelayOrder",
    "SHA256_PATTERN",
    "StopOrder",
]
