"""Commands from the controller to nodes (`.../cmd` topics, QoS 1, signed).

A command is the unit a node authenticates, de-duplicates and expires: it always has
an id, the time it was issued and the time after which it must not be acted on.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol.base import Payload, UtcDatetime
from protocol.topics import ID_PATTERN

SHA256_PATTERN = r"^[0-9a-f]{64}$"


class Priority(StrEnum):
    """The three levels of Circular 39/2020/TT-BTTTT."""

    NORMAL = "normal"
    PRIORITY = "priority"
    EMERGENCY = "emergency"


class CommandKind(StrEnum):
    PLAY = "play"


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


class Command(Payload):
    id: Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    """Unique per command; nodes drop a second command with an id they have seen."""
    kind: CommandKind
    issued_at: UtcDatetime
    expires_at: UtcDatetime
    """After this instant the node must not act on the command (it reports `expired`)."""
    play: PlayOrder | None = None
    """Present exactly when kind is `play`."""
    nodes: list[Annotated[str, Field(pattern=ID_PATTERN)]] | None = None
    """Optional narrowing on a zone topic: only these nodes act. Absent means all."""

    @model_validator(mode="after")
    def _shape(self) -> "Command":
        if self.expires_at <= self.issued_at:
            raise ValueError("expires_at must be after issued_at")
        if self.kind is CommandKind.PLAY and self.play is None:
            raise ValueError("a play command needs `play`")
        return self


__all__ = ["AudioRef", "Command", "CommandKind", "PlayOrder", "Priority", "SHA256_PATTERN", "Literal"]
