"""The staged-play data model: what the node keeps of a play command until it is done.

Split out of `timeline` so the model (and the outcome of staging one) can be read and
imported without the runner thread; `speaker_agent.timeline` re-exports all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from protocol.base import UtcDatetime
from protocol.commands import AudioRef, Command, CommandKind, Priority
from protocol.reports import EventKind

class EventSink(Protocol):
    """Receives ready/started/finished/failed/expired/preempted/cancelled for a play.

    `at` is when it happened, given when that is not "now": `started` is reported a
    moment after the start (see `play_thread`) and carries the start's own stamp.
    """

    def __call__(self, play: StagedPlay, kind: EventKind, detail: str | None, at: datetime | None = None) -> None: ...


class StagedPlay(BaseModel):
    """One play (or relay) command as the node keeps it until it is done.

    A relay is a StagedPlay with `relay` and `url` set and no announcement or audio:
    `play_at` is its start, `expires_at` its end (it may start - join in progress - at
    any time before), and `occurrence` is the relay id, so a relay is idempotent and
    cancellable exactly like a scheduled occurrence.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    cmd: str
    announcement: int | None = None
    audio: AudioRef | None = None
    play_at: UtcDatetime
    expires_at: UtcDatetime
    priority: Priority = Priority.NORMAL
    occurrence: str | None = None
    relay: str | None = None
    url: str | None = None

    @property
    def is_relay(self) -> bool:
        return self.relay is not None

    @property
    def label(self) -> str:
        return f"relay {self.relay}" if self.relay is not None else f"announcement {self.announcement}"

    @classmethod
    def from_command(cls, command: Command) -> "StagedPlay":
        if command.kind is CommandKind.RELAY and command.relay is not None:
            r = command.relay
            return cls(
                cmd=command.id, play_at=r.start_at, expires_at=r.end_at, priority=r.priority,
                occurrence=r.relay_id, relay=r.relay_id, url=r.url,
            )
        if command.play is None:
            raise ValueError(f"command {command.id} is not a play command")
        p = command.play
        return cls(
            cmd=command.id, announcement=p.announcement, audio=p.audio,
            play_at=p.play_at, expires_at=command.expires_at, priority=p.priority, occurrence=p.occurrence,
        )


class StageOutcome(StrEnum):
    STAGED = "staged"
    REPLACED = "replaced"
    """Staged in place of a staged play of the same occurrence (`StageResult.replaced`)."""
    DUPLICATE = "duplicate"
    """The same command id is already on the timeline or playing."""
    OCCURRENCE_PLAYING = "occurrence-playing"
    OCCURRENCE_DONE = "occurrence-done"


@dataclass(frozen=True)
class StageResult:
    outcome: StageOutcome
    replaced: StagedPlay | None = None

    def __bool__(self) -> bool:
        return self.outcome in (StageOutcome.STAGED, StageOutcome.REPLACED)


__all__ = ["EventSink", "StageOutcome", "StageResult", "StagedPlay"]
