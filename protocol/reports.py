"""What nodes publish: retained online state, per-play events and periodic telemetry."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from protocol.base import Payload, UtcDatetime


class NodeStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class NodeState(Payload):
    """Retained on `.../state`. The offline form is also the node's MQTT last will, so the
    broker publishes it when the node vanishes without saying goodbye."""

    state: NodeStatus
    at: UtcDatetime | None = None
    """Absent in the last will, which is fixed at connect time."""
    agent_version: str | None = None


class EventKind(StrEnum):
    """Life of one play command on one node, in the order they normally happen."""

    RECEIVED = "received"
    """Command authenticated and accepted."""
    READY = "ready"
    """Audio is in the local cache with a verified hash; the play is on the timeline."""
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"
    """Could not download, verify or play; `detail` says why."""
    EXPIRED = "expired"
    """The command reached the node, or became playable, only after `expires_at`."""
    PREEMPTED = "preempted"
    """Stopped by a higher-priority play."""
    CANCELLED = "cancelled"
    """Withdrawn by a `cancel` command, or stopped by a `stop` command."""
    APPLIED = "applied"
    """A `control` command took effect (new volume, restart under way); `detail` says what."""


TERMINAL_EVENTS = frozenset(
    {
        EventKind.FINISHED,
        EventKind.FAILED,
        EventKind.EXPIRED,
        EventKind.PREEMPTED,
        EventKind.CANCELLED,
        EventKind.APPLIED,
    }
)


class NodeEvent(Payload):
    """One step in the life of a command on a node (`.../events`, QoS 1)."""

    node: str
    cmd: str
    """Id of the command the event is about."""
    announcement: int | None = None
    event: EventKind
    at: UtcDatetime
    detail: Annotated[str, Field(max_length=500)] | None = None
    relay: str | None = None
    """The relay id when the command is a `relay` (then `announcement` is absent)."""


class StagedEntry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    cmd: str
    announcement: int
    occurrence: str | None = None
    play_at: UtcDatetime


class StagedRelay(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    cmd: str
    relay: str
    start_at: UtcDatetime
    end_at: UtcDatetime


class NodeTimeline(Payload):
    """What a node holds staged (`.../timeline`, QoS 1), published after every connect so
    the controller can re-send what is missing and cancel what should not be there."""

    node: str
    at: UtcDatetime
    staged: list[StagedEntry] = Field(default_factory=list, max_length=1000)
    relays: list[StagedRelay] = Field(default_factory=list, max_length=1000)
    """Staged (not on air) relays; kept apart from `staged`, whose entries are plays."""


class NowPlaying(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    announcement: int | None = None
    cmd: str
    started_at: UtcDatetime
    relay: str | None = None
    """Set while a relay is on air."""


class Telemetry(Payload):
    """Periodic health (`.../telemetry`, QoS 0): small, because every byte rides a paid SIM."""

    node: str
    at: UtcDatetime
    agent_version: str
    uptime_s: float
    load1: float | None = None
    mem_total_kb: int | None = None
    mem_available_kb: int | None = None
    disk_total_kb: int | None = None
    disk_free_kb: int | None = None
    cpu_temp_c: float | None = None
    """Absent where the board has no thermal sensor."""
    cache_bytes: int = 0
    cache_files: int = 0
    volume: int | None = None
    """Output volume in percent."""
    now_playing: NowPlaying | None = None
    rejected_commands: int = 0
    """Commands dropped since start (bad signature, replay, garbage)."""
