"""Reading the broadcast history: announcements by filter, page by page, and the playback
log (one row per delivery) for export.

Why here and not in the web module: the same filters serve the history page and the CSV
export (and could serve an API later), and they are domain questions — "which bulletins
reached thôn Đông last week?" needs the zone tree, not just columns. Dates are calendar
days in Vietnam time on the creation instant. The zone filter matches a bulletin whose
targets reach the zone: the whole system, the zone itself, a zone above it (a commune
bulletin plays in each of its hamlets), a zone inside it, or a speaker inside it. It is
applied in Python over the rows the SQL filters leave: targets are JSON, and a commune's
history is thousands of rows, not millions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists
from sqlmodel import Session, col, select

from controller.models import Announcement, AnnouncementStatus, Delivery, Node
from controller.topology import TopologyError, ZoneTree

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
EXPORT_BATCH = 200
"""Announcements read per query while exporting (the export streams; memory stays flat)."""


@dataclass(frozen=True)
class Filters:
    """What the history page and the export narrow by; None = any."""

    date_from: date | None = None
    date_to: date | None = None
    """Inclusive, like the form says ("đến ngày")."""
    zone: str | None = None
    state: str | None = None
    """A delivery state: bulletins with at least one delivery in it (export: only those rows)."""
    priority: str | None = None
    status: str | None = None


def local_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, LOCAL_TZ).astimezone(UTC)


def _query(filters: Filters) -> Any:
    query = select(Announcement.id, Announcement.targets)
    if filters.date_from is not None:
        query = query.where(col(Announcement.created_at) >= local_day_start(filters.date_from))
    if filters.date_to is not None:
        query = query.where(col(Announcement.created_at) < local_day_start(filters.date_to + timedelta(days=1)))
    if filters.priority:
        query = query.where(col(Announcement.priority) == filters.priority)
    if filters.status:
        query = query.where(col(Announcement.status) == filters.status)
    if filters.state:
        query = query.where(
            exists().where(col(Delivery.announcement_id) == col(Announcement.id), col(Delivery.state) == filters.state)
        )
    return query.order_by(col(Announcement.id).desc())


def reaches(targets: dict[str, Any], zone: str, tree: ZoneTree) -> bool:
    """Whether a bulletin with these targets plays somewhere in `zone` (module docstring)."""
    if targets.get("all"):
        return True
    try:
        for z in targets.get("zones") or ():
            if z in tree.parent and (zone in tree.chain(z) or z in tree.chain(zone)):
                return True
        for n in targets.get("nodes") or ():
            own = tree.node_zone.get(n)
            if own is not None and zone in tree.chain(own):
                return True
    except TopologyError:  # a zone removed since: it cannot be the one asked about
        return False
    return False


def matching_ids(session: Session, filters: Filters, tree: ZoneTree) -> list[int]:
    """Ids of the announcements the filters keep, newest first."""
    rows = session.exec(_query(filters)).all()
    if filters.zone:
        zone = filters.zone
        if zone not in tree.parent:
            return []
        return [ann_id for ann_id, targets in rows if reaches(targets or {}, zone, tree)]
    return [ann_id for ann_id, _ in rows]


def page(session: Session, filters: Filters, tree: ZoneTree, number: int, size: int) -> tuple[list[Announcement], int]:
    """(the announcements of page `number`, counted from 1; how many match in all)."""
    ids = matching_ids(session, filters, tree)
    chosen = ids[(number - 1) * size : number * size]
    return load(session, chosen), len(ids)


def load(session: Session, ids: Sequence[int]) -> list[Announcement]:
    """The rows of `ids`, in that order."""
    if not ids:
        return []
    rows = {a.id: a for a in session.exec(select(Announcement).where(col(Announcement.id).in_(list(ids)))).all()}
    return [rows[i] for i in ids if i in rows]


def own_open(session: Session, username: str, limit: int = 20) -> list[Announcement]:
    """What `username` submitted that is still waiting, or was rejected (to read the reason)."""
    statuses = [AnnouncementStatus.AWAITING_APPROVAL.value, AnnouncementStatus.REJECTED.value]
    return list(
        session.exec(
            select(Announcement)
            .where(col(Announcement.created_by) == username, col(Announcement.status).in_(statuses))
            .order_by(col(Announcement.id).desc())
            .limit(limit)
        ).all()
    )


@dataclass(frozen=True)
class DeliveryRow:
    node_id: str
    node_name: str
    zone_id: str
    state: str
    play_at: datetime | None
    updated_at: datetime
    occurrence: str | None
    detail: str | None


def deliveries(session: Session, ann_ids: Sequence[int], *, zone: str | None = None, state: str | None = None,
               tree: ZoneTree | None = None) -> dict[int, list[DeliveryRow]]:
    """Per announcement, its deliveries with the speaker's name and hamlet, by play time."""
    query = (
        select(Delivery, Node.name, Node.zone_id)
        .join(Node, col(Node.id) == col(Delivery.node_id))
        .where(col(Delivery.announcement_id).in_(list(ann_ids)))
        .order_by(col(Delivery.announcement_id).desc(), col(Delivery.play_at), col(Delivery.occurrence), col(Delivery.node_id))
    )
    if state:
        query = query.where(col(Delivery.state) == state)
    out: dict[int, list[DeliveryRow]] = {i: [] for i in ann_ids}
    for d, name, zone_id in session.exec(query).all():
        if zone and tree is not None and not _inside(tree, zone_id, zone):
            continue
        out[d.announcement_id].append(
            DeliveryRow(d.node_id, name, zone_id, d.state, d.play_at, d.updated_at, d.occurrence, d.detail)
        )
    return out


def _inside(tree: ZoneTree, own: str, zone: str) -> bool:
    try:
        return zone in tree.chain(own)
    except TopologyError:
        return False


def export(engine: Any, filters: Filters) -> Iterator[tuple[Announcement, DeliveryRow]]:
    """Every (announcement, delivery) the filters keep, newest announcement first, read in
    batches with a short session each (a long export never holds a transaction open)."""
    with Session(engine) as session:
        tree = ZoneTree.load(session)
        ids = matching_ids(session, filters, tree)
    for start in range(0, len(ids), EXPORT_BATCH):
        chunk = ids[start : start + EXPORT_BATCH]
        with Session(engine) as session:
            rows = load(session, chunk)
            for ann in rows:
                session.expunge(ann)
            found = deliveries(session, chunk, zone=filters.zone, state=filters.state, tree=tree)
        for ann in rows:
            for row in found.get(ann.id or 0, []):
                yield ann, row


__all__ = ["Filters", "DeliveryRow", "deliveries", "export", "load", "local_day_start", "matching_ids", "own_open", "page", "reaches"]
