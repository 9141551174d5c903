"""Withdrawing what was announced: cancel an announcement, withdraw staged occurrences,
stop what zones are playing now.

Why cancel goes to the nodes and not only into the database: scheduled occurrences
are staged on the nodes up to `stage_ahead_s` early, and a node plays from its own
clock even if the controller is gone. The cancel is published (signed) on the topics
that reach the nodes holding plays of the announcement; their deliveries stay open
until each node reports `cancelled` (the expiry sweep marks silent ones `cancelled`,
not `expired`, after they expire). Nodes that were offline get the cancel from their
persistent session, or from reconciliation when they publish their timeline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from controller.dispatch import (
    OutgoingCommand,
    Publisher,
    build_control,
    plan_fanout,
    plan_topics,
    publish_all,
)
from controller.models import TERMINAL_STATES, Announcement, AnnouncementStatus, Delivery
from controller.programme import occurrence_id
from controller.topology import ZoneTree
from protocol.commands import CancelOrder, StopOrder
from protocol.signing import Signer
from protocol.topics import zone_cmd

log = logging.getLogger(__name__)

CONTROL_MIN_TTL = timedelta(seconds=60)
"""A cancel or stop stays valid at least this long (room for a reconnecting node)."""


class NotFound(LookupError):
    pass


class NotCancellable(RuntimeError):
    """The announcement has finished (`done`) or was never approved (`rejected`): there is
    nothing left to withdraw, and marking it cancelled would rewrite what happened."""


@dataclass(frozen=True)
class CancelResult:
    announcement: int
    already: bool
    """True when it was cancelled before: nothing was published again."""
    commands: list[OutgoingCommand]


def _open(rows: list[Delivery]) -> list[Delivery]:
    return [d for d in rows if d.state not in TERMINAL_STATES]


def cancel_announcement(
    engine: Engine,
    signer: Signer,
    publisher: Publisher,
    now: datetime,
    ann_id: int,
    *,
    future_only: bool = False,
) -> CancelResult:
    """Mark the announcement cancelled and publish the cancel to the nodes holding its plays.

    `future_only` (used by edits) withdraws only occurrences that have not started
    (`play_at > now`) by occurrence id; otherwise the cancel names the whole
    announcement, which also stops a play on air.
    """
    with Session(engine) as session:
        ann = session.exec(select(Announcement).where(col(Announcement.id) == ann_id).with_for_update()).first()
        if ann is None:
            raise NotFound(f"announcement {ann_id} not found")
        if ann.status == AnnouncementStatus.CANCELLED:
            return CancelResult(ann_id, True, [])
        if ann.status in (AnnouncementStatus.DONE, AnnouncementStatus.REJECTED):
            raise NotCancellable(f"announcement {ann_id} is {ann.status}; there is nothing left to cancel")
        ann.status = AnnouncementStatus.CANCELLED
        ann.cancelled_at = now
        session.add(ann)
        session.commit()
        rows = _open(list(session.exec(select(Delivery).where(col(Delivery.announcement_id) == ann_id)).all()))
        if future_only:
            rows = [d for d in rows if d.occurrence is not None and d.play_at is not None and d.play_at > now]
        if not rows:
            return CancelResult(ann_id, False, [])
        tree = ZoneTree.load(session)
        expiry = max([d.expires_at or ann.expires_at for d in rows] + [now + CONTROL_MIN_TTL])
    if future_only:
        order = CancelOrder(occurrences=sorted({occurrence_id(ann_id, d.occurrence or "") for d in rows}))
    else:
        order = CancelOrder(announcement=ann_id)
    nodes = {d.node_id for d in rows if d.node_id in tree.node_zone}
    commands = [
        build_control(topic, signer=signer, issued_at=now, expires_at=expiry, cancel=order, nodes=members)
        for topic, members in plan_topics(plan_fanout(tree, nodes))
    ]
    failed = publish_all(publisher, commands)
    if failed:
        log.error("cancel of announcement %s: %d command(s) not published", ann_id, len(failed))
    log.info("announcement %s cancelled (%d command(s))", ann_id, len(commands))
    return CancelResult(ann_id, False, commands)


def stop_zones(
    engine: Engine, signer: Signer, publisher: Publisher, now: datetime, zones: list[str], reason: str | None
) -> list[OutgoingCommand]:
    """One signed `stop` per zone topic; raises LookupError naming unknown zones."""
    zones = list(dict.fromkeys(zones))
    with Session(engine) as session:
        tree = ZoneTree.load(session)
    unknown = [z for z in zones if z not in tree.parent]
    if unknown:
        raise NotFound("unknown zone(s): " + ", ".join(repr(z[:64]) for z in unknown))
    order = StopOrder(reason=reason)
    commands = [
        build_control(zone_cmd(z), signer=signer, issued_at=now, expires_at=now + CONTROL_MIN_TTL, stop=order)
        for z in zones
    ]
    failed = publish_all(publisher, commands)
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(commands)} stop command(s) could not be published")
    return commands


__all__ = ["CONTROL_MIN_TTL", "CancelResult", "NotFound", "cancel_announcement", "stop_zones"]
