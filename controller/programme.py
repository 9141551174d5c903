"""The broadcast programme as the controller sees it: rules of stored announcements
expanded into plays, checked for conflicts, and listed per zone.

Everything here is computed from the database and the pure `schedules` package on
demand; nothing is cached, because announcements change rarely and a commune's
programme over a week is a few hundred plays at most.

Zones in a `Play` are the announcement's target zones, plus `node:<id>` for nodes
targeted one by one and every root zone for `all`. Two plays share a speaker when a
target of one lies inside (or is) a target of the other in the commune→hamlet tree;
the overlap is reported as the more specific of the two, e.g. a commune bulletin and
a hamlet notice meet "on thon-dong".
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlmodel import Session, col, select

from controller.models import Announcement, AnnouncementStatus, Relay, RelayStatus
from controller.topology import ZoneTree
from schedules.messages import Lang, warning_text
from schedules.occurrences import next_occurrence, occurrences
from schedules.priority import Conflict, Play, find_conflicts, order_plays
from schedules.rules import AnyRule, OnceRule, parse_rule

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CONFLICT_WINDOW = timedelta(days=7)
"""How far ahead creation looks for overlapping plays (the programme a commune plans)."""
MAX_WARNINGS = 20
NOW_KEY = "now"
"""Occurrence key shown for a play-now announcement in plays and the programme."""
TITLE_CHARS = 80
INACTIVE = (
    AnnouncementStatus.CANCELLED,
    AnnouncementStatus.FAILED,
    AnnouncementStatus.REJECTED,
    AnnouncementStatus.DONE,
)
"""Statuses that will never play (again): left out of the programme and of overlap warnings."""


def occurrence_id(announcement_id: int, key: str) -> str:
    """The id nodes see in `play.occurrence`."""
    return f"{announcement_id}:{key}"


def rule_of(ann: Announcement) -> AnyRule | None:
    return None if ann.schedule is None else parse_rule(ann.schedule)


def duration_s(ann: Announcement) -> float:
    return ann.audio_duration_ms / 1000.0


def check_schedule(rule: AnyRule, now: datetime, grace_s: float, audio_s: float = 0.0) -> list[str]:
    """Why a rule cannot be accepted now (empty = fine). Shape errors were caught by pydantic."""
    since = now - timedelta(seconds=grace_s)
    if isinstance(rule, OnceRule) and rule.at < since:
        return [
            f"schedule.at {rule.at.isoformat()} is in the past (more than {grace_s:g} s ago); "
            "omit `schedule` to play now"
        ]
    if next_occurrence(rule, after=since, duration_s=audio_s) is None:
        return ["the schedule never plays from now on (check start_date, end_date and except_dates)"]
    return []


# -- zones ----------------------------------------------------------------------------


def play_zones(targets: dict[str, Any], tree: ZoneTree) -> frozenset[str]:
    """The labels a play of these targets occupies (see the module docstring)."""
    if targets.get("all"):
        return frozenset(z for z, parent in tree.parent.items() if parent is None)
    return frozenset(targets.get("zones") or ()) | {f"node:{n}" for n in targets.get("nodes") or ()}


def _inside(tree: ZoneTree, label: str, zone: str) -> bool:
    """Whether `label` (a zone or `node:<id>`) lies within `zone`'s subtree."""
    own = tree.node_zone.get(label[5:]) if label.startswith("node:") else label
    if own is None or own not in tree.parent:
        return False
    try:
        return zone in tree.chain(own)
    except Exception:  # a broken tree never blocks a warning computation
        return False


def zone_overlap(tree: ZoneTree) -> Any:
    """A `schedules.priority.ZoneOverlapFn` that knows the commune→hamlet tree."""

    def overlap(a: Play, b: Play) -> Collection[str]:
        shared: set[str] = set()
        for x in a.zones:
            for y in b.zones:
                if x == y:
                    shared.add(x)
                elif not y.startswith("node:") and _inside(tree, x, y):
                    shared.add(x)
                elif not x.startswith("node:") and _inside(tree, y, x):
                    shared.add(y)
        return shared

    return overlap


def targets_zone(targets: dict[str, Any], tree: ZoneTree, zone: str) -> bool:
    """Whether an announcement with `targets` is heard in `zone` (ancestors, descendants, nodes)."""
    if targets.get("all"):
        return True
    for label in play_zones(targets, tree):
        if _inside(tree, label, zone) or (not label.startswith("node:") and _inside(tree, zone, label)):
            return True
    return False


# -- plays ----------------------------------------------------------------------------


def plays_of(ann: Announcement, tree: ZoneTree, start: datetime, end: datetime) -> list[Play]:
    """The announcement's plays starting in [start, end)."""
    if ann.id is None:
        raise ValueError("announcement has not been stored yet")
    zones = play_zones(ann.targets, tree)
    common = {"duration_s": duration_s(ann), "created_at": ann.created_at, "priority": ann.priority, "zones": zones}
    rule = rule_of(ann)
    if rule is None:
        if not start <= ann.play_at < end:
            return []
        return [Play(id=occurrence_id(ann.id, NOW_KEY), play_at=ann.play_at, expires_at=ann.expires_at, **common)]
    return [
        Play(id=occurrence_id(ann.id, o.key), play_at=o.play_at, **common)
        for o in occurrences(rule, start=start, end=end, duration_s=duration_s(ann))
    ]


def active_announcements(
    session: Session, exclude: Iterable[int] = (), *, awaiting: bool = False
) -> list[Announcement]:
    """Announcements that will play (not cancelled, failed, rejected or done), oldest first;
    with `awaiting`, also those awaiting approval (which play only if approved)."""
    leave_out = [s.value for s in INACTIVE]
    if not awaiting:
        leave_out.append(AnnouncementStatus.AWAITING_APPROVAL.value)
    query = select(Announcement).where(col(Announcement.status).not_in(leave_out))
    excluded = list(exclude)
    if excluded:
        query = query.where(col(Announcement.id).not_in(excluded))
    return list(session.exec(query.order_by(col(Announcement.id))).all())


@dataclass(frozen=True)
class ConflictWarning:
    """One warning as data: a stable `code` and its `params` (see `schedules.messages`)."""

    code: str
    params: dict[str, Any]

    def text(self, lang: Lang = "vi") -> str:
        """The warning in Vietnamese (`vi`, what officials read) or English (`en`)."""
        return warning_text(self.code, self.params, lang)


def conflict_details(
    session: Session, ann: Announcement, tree: ZoneTree, now: datetime, exclude: Iterable[int] = ()
) -> list[ConflictWarning]:
    """Structured warnings for the new announcement's plays over the next week, in a fixed order."""
    horizon = now + CONFLICT_WINDOW
    new = plays_of(ann, tree, now - timedelta(minutes=5), horizon)
    if not new:
        return []
    lookback = timedelta(hours=6)  # longest audio the expansion accepts
    existing: list[Play] = []
    # Awaiting ones are left out: they may never air, and approving one computes its own warnings.
    for other in active_announcements(session, exclude=[*exclude, ann.id or 0]):
        existing.extend(plays_of(other, tree, now - lookback, horizon))
    existing.sort(key=lambda p: p.play_at)
    overlap = zone_overlap(tree)
    found: list[Conflict] = []
    for play in new:
        near = [p for p in existing if p.play_at <= play.ends_at and p.ends_at >= play.play_at]
        found.extend(find_conflicts(play, near, overlap, timezone=str(LOCAL_TZ)))
    found.sort(key=lambda c: (c.new.play_at, c.existing.play_at, c.existing.id))
    return _as_warnings(found)


def _as_warnings(found: list[Conflict]) -> list[ConflictWarning]:
    """`schedules.priority.Conflict`s as `overlap` warnings (at most MAX_WARNINGS, then a count)."""
    out = [
        ConflictWarning("overlap", {
            "new": c.new.id, "existing": c.existing.id, "existing_priority": c.existing.priority.value,
            "zones": list(c.zones), "start": _local(c.start), "end": _local(c.end), "timezone": str(LOCAL_TZ),
            "start_at": c.start.isoformat(), "end_at": c.end.isoformat(), "effect": c.effect,
        })
        for c in found[:MAX_WARNINGS]
    ]  # fmt: skip
    if len(found) > MAX_WARNINGS:
        out.append(ConflictWarning("more_overlaps", {"count": len(found) - MAX_WARNINGS}))
    return out


def conflict_warnings(
    session: Session, ann: Announcement, tree: ZoneTree, now: datetime, exclude: Iterable[int] = (),
    lang: Lang = "en",
) -> list[str]:
    """`conflict_details` as sentences: the API's `warnings` (English, as it always was)."""
    return [w.text(lang) for w in conflict_details(session, ann, tree, now, exclude)]


def _local(value: datetime) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


# -- the programme of one zone ----------------------------------------------------------


class ProgrammeItem(BaseModel):
    kind: str = "announcement"
    """`announcement`, or `relay` for a live stream relay (then `announcement` is null)."""
    announcement: int | None
    title: str
    """The first 80 characters of the text."""
    occurrence: str
    """`{announcement}:{key}` as nodes see it (`{announcement}:now` for play-now)."""
    play_at: datetime
    """UTC."""
    local: datetime
    """The same instant in Asia/Ho_Chi_Minh."""
    priority: str
    duration_s: float
    scheduled: bool
    """False for a play-now announcement."""
    awaiting_approval: bool = False
    """True for a scheduled announcement still awaiting approval: it plays only if approved."""
    relay: int | None = None
    """The relay's id in `/api/v1/relays` (kind `relay` only)."""
    end_at: datetime | None = None
    """When the relay ends (kind `relay` only)."""
    url: str | None = None
    """The relayed stream (kind `relay` only)."""


class Programme(BaseModel):
    zone: str
    start: date
    days: int
    timezone: str
    items: list[ProgrammeItem]


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(9000, 12, 31)
"""The days a programme may be asked for: far enough apart for any station, and far from
the ends of `datetime`, whose arithmetic overflows there."""


class ProgrammeError(Exception):
    """A programme request that cannot be answered; the router turns it into an HTTP error."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def _zone_plays(
    session: Session, zone: str, start: date, days: int
) -> tuple[ZoneTree, dict[str, tuple[Announcement, Play]], dict[str, Relay], list[Play]]:
    """The plays heard in `zone` over the window: (tree, announcements' plays by id, relays by
    play id, the relays' plays); ProgrammeError(404) for an unknown zone."""
    if not FIRST_DAY <= start <= LAST_DAY:
        raise ProgrammeError(422, f"from must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}")
    tree = ZoneTree.load(session)
    if zone not in tree.parent:
        raise ProgrammeError(404, f"zone {zone!r} not found")
    lo = datetime.combine(start, time(0), LOCAL_TZ)
    hi = datetime.combine(start + timedelta(days=days), time(0), LOCAL_TZ)
    by_id: dict[str, tuple[Announcement, Play]] = {}
    for ann in active_announcements(session, awaiting=True):
        if ann.status == AnnouncementStatus.AWAITING_APPROVAL and ann.schedule is None:
            continue  # play-now awaiting approval: it has no time until it is approved
        if targets_zone(ann.targets, tree, zone):
            for play in plays_of(ann, tree, lo, hi):
                by_id[play.id] = (ann, play)
    relays: dict[str, Relay] = {}
    for relay in session.exec(
        select(Relay).where(
            col(Relay.status).not_in([RelayStatus.CANCELLED, RelayStatus.FAILED]),
            col(Relay.start_at) < hi, col(Relay.start_at) >= lo,
        )
    ).all():
        if relay.id is not None and targets_zone(relay.targets, tree, zone):
            relays[f"relay:{relay.id}"] = relay
    relay_plays = [
        Play(id=key, play_at=r.start_at, duration_s=(r.end_at - r.start_at).total_seconds(), created_at=r.created_at,
             priority=r.priority, zones=play_zones(r.targets, tree), expires_at=r.end_at)
        for key, r in relays.items()
    ]  # fmt: skip
    return tree, by_id, relays, relay_plays


def programme_conflicts(session: Session, zone: str, start: date, days: int) -> list[ConflictWarning]:
    """Overlaps between plays of `zone_programme(session, zone, start, days)` that share a
    speaker, in time order, as `overlap` warnings (`new` is the later of the two plays).

    Unlike `conflict_details` (what creating one announcement will meet), this looks at
    the programme as it stands, plays awaiting approval and relays included.
    """
    tree, by_id, _relays, relay_plays = _zone_plays(session, zone, start, days)
    plays = sorted([*(p for _, p in by_id.values()), *relay_plays], key=lambda p: (p.play_at, p.id))
    overlap = zone_overlap(tree)
    found: list[Conflict] = []
    for i, play in enumerate(plays):
        earlier = [p for p in plays[:i] if p.ends_at >= play.play_at]
        found.extend(find_conflicts(play, earlier, overlap, timezone=str(LOCAL_TZ)))
    found.sort(key=lambda c: (c.new.play_at, c.existing.play_at, c.existing.id))
    return _as_warnings(found)


def zone_programme(session: Session, zone: str, start: date, days: int) -> Programme:
    """Every play heard in `zone` from local midnight of `start` for `days` days."""
    _tree, by_id, relays, relay_plays = _zone_plays(session, zone, start, days)
    items = []
    for play in order_plays([*(p for _, p in by_id.values()), *relay_plays]):
        if play.id in relays:
            relay = relays[play.id]
            items.append(
                ProgrammeItem(
                    kind="relay", announcement=None, title=relay.title or f"Tiếp sóng {relay.url}"[:TITLE_CHARS],
                    occurrence=play.id, play_at=play.play_at, local=play.play_at.astimezone(LOCAL_TZ),
                    priority=play.priority.value, duration_s=play.duration_s, scheduled=True, relay=relay.id,
                    end_at=relay.end_at, url=relay.url,
                )
            )  # fmt: skip
            continue
        ann = by_id[play.id][0]
        items.append(
            ProgrammeItem(
                announcement=ann.id or 0,
                title=ann.text[:TITLE_CHARS],
                occurrence=play.id,
                play_at=play.play_at,
                local=play.play_at.astimezone(LOCAL_TZ),
                priority=play.priority.value,
                duration_s=play.duration_s,
                scheduled=ann.schedule is not None,
                awaiting_approval=ann.status == AnnouncementStatus.AWAITING_APPROVAL,
            )
        )
    return Programme(zone=zone, start=start, days=days, timezone=str(LOCAL_TZ), items=items)


__all__ = [
    "NOW_KEY",
    "Programme",
    "ProgrammeError",
    "ProgrammeItem",
    "ConflictWarning",
    "check_schedule",
    "conflict_details",
    "conflict_warnings",
    "occurrence_id",
    "play_zones",
    "plays_of",
    "programme_conflicts",
    "rule_of",
    "targets_zone",
    "zone_overlap",
    "zone_programme",
]
