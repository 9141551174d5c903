"""Who goes first when plays meet: the three levels of Circular 39/2020/TT-BTTTT.

* normal — plays in the commune's schedule;
* priority — goes ahead within the programme: it keeps its time and a normal play that
  would run into it is pushed back until it ends; it never cuts a play already on air;
* emergency — plays at once and interrupts whatever is on air.

Everything here is a pure function of the plays it is given (each carries its own
creation time), so the controller can recompute a zone's timeline at any moment and the
tests can check it without a clock. `find_conflicts` warns an official while they are
still editing; `resolve` says what a zone will actually hear.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from protocol.commands import Priority
from schedules.messages import effect_text

RANK: dict[Priority, int] = {Priority.NORMAL: 0, Priority.PRIORITY: 1, Priority.EMERGENCY: 2}
"""normal < priority < emergency. (The enum's own string order is alphabetical, never use it.)"""


def rank(priority: Priority | str) -> int:
    """The level's weight: higher plays first."""
    return RANK[Priority(priority)]


def _aware_utc(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Play:
    """One scheduled playback as the planner sees it (times are normalised to UTC)."""

    id: str
    """Stable id (the controller's occurrence id); the last tie-breaker."""
    play_at: datetime
    """When it is meant to start."""
    duration_s: float
    """Length of the audio in seconds."""
    created_at: datetime
    """When the controller learnt of it; a plan never acts on a play before this instant."""
    priority: Priority = Priority.NORMAL
    zones: frozenset[str] = field(default_factory=frozenset)
    """Zones it plays in (used by the default zone-overlap function)."""
    expires_at: datetime | None = None
    """After this instant it must not start any more (None = never expires)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "play_at", _aware_utc("play_at", self.play_at))
        object.__setattr__(self, "created_at", _aware_utc("created_at", self.created_at))
        object.__setattr__(self, "priority", Priority(self.priority))
        object.__setattr__(self, "zones", frozenset(self.zones))
        if self.expires_at is not None:
            object.__setattr__(self, "expires_at", _aware_utc("expires_at", self.expires_at))
        if not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise ValueError("duration_s must be a finite number >= 0")

    @property
    def ends_at(self) -> datetime:
        """Nominal end: play_at + duration."""
        return self.play_at + timedelta(seconds=self.duration_s)

    @property
    def known_at(self) -> datetime:
        """From when a plan may take this play into account."""
        return min(self.created_at, self.play_at)


def order_key(play: Play) -> tuple[int, datetime, datetime, str]:
    """Sort key: higher priority, then earlier play_at, earlier created_at, smaller id."""
    return (-rank(play.priority), play.play_at, play.created_at, play.id)


def order_plays(plays: Iterable[Play]) -> list[Play]:
    """The deterministic order in which plays that meet are served."""
    return sorted(plays, key=order_key)


class PreemptPolicy(StrEnum):
    """What becomes of a play an emergency cuts off."""

    RESTART = "restart"
    """Play it again from the start after the emergency, if it may still start (default)."""
    DROP = "drop"
    """Give it up."""


# --- conflicts -------------------------------------------------------------------------

ZoneOverlapFn = Callable[[Play, Play], Collection[str]]
"""Given two plays, the zones both reach (empty = they never share a speaker)."""


def shared_zones(a: Play, b: Play) -> Collection[str]:
    """Default ZoneOverlapFn: the zone ids the two plays have in common."""
    return a.zones & b.zones


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two plays that would sound on the same speakers at the same time."""

    new: Play
    existing: Play
    zones: tuple[str, ...]
    """Shared zones, sorted."""
    start: datetime
    """Start of the overlap (UTC)."""
    end: datetime
    """End of the overlap (UTC); equal to start when plays of unknown length start together."""
    warning: str
    """One English sentence (`schedules.messages` words it in Vietnamese from `effect`)."""
    effect: str = ""
    """What resolve() will do about it, as a stable code (see `schedules.messages`)."""


def _overlap(a: Play, b: Play) -> tuple[datetime, datetime] | None:
    """[start, end) intersection; plays starting at the same instant always meet."""
    start, end = max(a.play_at, b.play_at), min(a.ends_at, b.ends_at)
    if start < end or a.play_at == b.play_at:
        return start, max(start, end)
    return None


def effect_code(new: Play, existing: Play, policy: PreemptPolicy | str = PreemptPolicy.RESTART) -> str:
    """What the resolve() policy will do about the overlap, from the new play's side, as a
    stable code (`schedules.messages` words it in Vietnamese and English)."""
    policy = PreemptPolicy(policy)
    new_rank, old_rank = rank(new.priority), rank(existing.priority)
    if new_rank == old_rank:
        return "new_first" if order_key(new) < order_key(existing) else "new_waits"
    if Priority.EMERGENCY in (new.priority, existing.priority):
        emergency, other = (new, existing) if new_rank > old_rank else (existing, new)
        if other.play_at < emergency.play_at:
            victim = "existing" if emergency is new else "new"
            return f"{victim}_interrupted_dropped" if policy is PreemptPolicy.DROP else f"{victim}_interrupted"
        return "new_waits_for_emergency" if emergency is existing else "existing_waits_for_emergency"
    return "existing_pushed_back" if new_rank > old_rank else "new_pushed_back"


def _clock(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def find_conflicts(
    new_play: Play,
    existing_plays: Iterable[Play],
    zone_overlap_fn: ZoneOverlapFn = shared_zones,
    *,
    timezone: str = "Asia/Ho_Chi_Minh",
    policy: PreemptPolicy | str = PreemptPolicy.RESTART,
) -> list[Conflict]:
    """Every existing play that shares a zone and a moment with `new_play`.

    A play with the same id as `new_play` (its earlier version) is ignored. Times in the
    warning are shown in `timezone`; the warning states what `resolve` will do under
    `policy`. Sorted by the existing play's start, then id.
    """
    zone = ZoneInfo(timezone)
    policy = PreemptPolicy(policy)
    found: list[Conflict] = []
    for other in existing_plays:
        if other.id == new_play.id:
            continue
        window = _overlap(new_play, other)
        if window is None:
            continue
        zones = tuple(sorted(zone_overlap_fn(new_play, other)))
        if not zones:
            continue
        start, end = window
        where = ", ".join(zones)
        effect = effect_code(new_play, other, policy)
        warning = (
            f"Overlaps {other.priority.value} play {other.id!r} on zone{'s' if len(zones) > 1 else ''} "
            f"{where} from {_clock(start, zone)} to {_clock(end, zone)} ({timezone}); "
            f"{effect_text(effect, 'en', other.priority.value)}."
        )
        found.append(Conflict(new_play, other, zones, start, end, warning, effect))
    found.sort(key=lambda c: (c.existing.play_at, c.existing.id))
    return found


# --- the timeline of one zone ----------------------------------------------------------


class SegmentEnd(StrEnum):
    """How a segment ends: the play ran to its end, or an emergency cut it."""

    FINISHED = "finished"
    INTERRUPTED = "interrupted"


class DropReason(StrEnum):
    """Why a play will not be heard in this zone."""

    EXPIRED = "expired"
    """It could not start before its expires_at."""
    PREEMPTED = "preempted"
    """An emergency cut it off and the policy is DROP."""


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of time during which the zone plays one play."""

    play: Play
    start: datetime
    end: datetime
    outcome: SegmentEnd
    attempt: int
    """1 for the first start, 2 after one restart, ..."""

    @property
    def delay(self) -> timedelta:
        """How late the segment starts compared with the play's play_at."""
        return self.start - self.play.play_at


@dataclass(frozen=True, slots=True)
class Dropped:
    """A play the zone will not hear (any interrupted part is still in the segments)."""

    play: Play
    reason: DropReason
    at: datetime
    """When the plan gave up on it."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What one zone will hear: segments in time order, plus the plays it will not hear."""

    segments: tuple[Segment, ...]
    dropped: tuple[Dropped, ...]

    def starts(self) -> dict[str, datetime]:
        """Play id → the start of its last (finishing) segment."""
        return {s.play.id: s.start for s in self.segments if s.outcome is SegmentEnd.FINISHED}


def _blocked(candidate: Play, now: datetime, pending: list[Play]) -> bool:
    """Would starting `candidate` now run into a higher play already known to be coming?"""
    end = now + timedelta(seconds=candidate.duration_s)
    mine = rank(candidate.priority)
    return any(
        rank(p.priority) > mine and p.known_at <= now and now < p.play_at < end for p in pending
    )


def resolve(plays: Iterable[Play], *, policy: PreemptPolicy | str = PreemptPolicy.RESTART) -> Plan:
    """The deterministic timeline of ONE zone (pass only the plays that reach it).

    Simulates the zone's speaker, one play at a time:

    1. When idle, it starts the first due play (play_at reached) in `order_plays` order,
       skipping one whose expires_at has passed (dropped as EXPIRED) and one that would
       still be playing when a higher-priority play known by then is due: that one is
       pushed back until after it (a shorter play may fill the gap meanwhile).
    2. Nothing but an emergency interrupts a play on air. An emergency interrupts any
       normal or priority play at its play_at; it never interrupts another emergency (it
       queues behind it). The cut-off play is, by `policy`, re-queued to restart from the
       beginning (RESTART: if it can still start before its expiry) or DROPPED.

    A play whose emergency was known before it would start is simply pushed after the
    emergency (rule 1), so interruption only happens to unexpected emergencies.
    """
    policy = PreemptPolicy(policy)
    pending = order_plays(plays)
    ids = [p.id for p in pending]
    if len(set(ids)) != len(ids):
        raise ValueError("play ids must be unique")
    attempts: dict[str, int] = {}
    segments: list[Segment] = []
    dropped: list[Dropped] = []
    now = min((p.play_at for p in pending), default=datetime.min.replace(tzinfo=UTC))

    while pending:
        chosen: Play | None = None
        for play in [p for p in pending if p.play_at <= now]:
            if play.expires_at is not None and play.expires_at <= now:
                pending.remove(play)
                dropped.append(Dropped(play, DropReason.EXPIRED, now))
                continue
            if not _blocked(play, now, pending):
                chosen = play
                break
        if chosen is None:
            if not pending:  # the last ones just expired
                break
            later = [p.play_at for p in pending if p.play_at > now]
            if not later:  # a blocked play always has its blocker due later
                raise RuntimeError("resolve: no play can start and none is due later")
            now = min(later)
            continue

        pending.remove(chosen)
        attempt = attempts[chosen.id] = attempts.get(chosen.id, 0) + 1
        end = now + timedelta(seconds=chosen.duration_s)
        cut = None
        if chosen.priority is not Priority.EMERGENCY:
            cut = min(
                (p.play_at for p in pending if p.priority is Priority.EMERGENCY and now < p.play_at < end),
                default=None,
            )
        if cut is None:
            segments.append(Segment(chosen, now, end, SegmentEnd.FINISHED, attempt))
            now = end
            continue
        segments.append(Segment(chosen, now, cut, SegmentEnd.INTERRUPTED, attempt))
        now = cut
        if policy is PreemptPolicy.RESTART:
            pending.append(chosen)
            pending.sort(key=order_key)
        else:
            dropped.append(Dropped(chosen, DropReason.PREEMPTED, cut))

    return Plan(tuple(segments), tuple(dropped))


__all__ = [
    "RANK",
    "Conflict",
    "DropReason",
    "Dropped",
    "Plan",
    "Play",
    "PreemptPolicy",
    "Priority",
    "Segment",
    "SegmentEnd",
    "ZoneOverlapFn",
    "effect_code",
    "find_conflicts",
    "order_key",
    "order_plays",
    "rank",
    "resolve",
    "shared_zones",
]
