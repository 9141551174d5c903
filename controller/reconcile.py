"""Reconciliation: make a node's staged plays match what the controller expects.

A node publishes its timeline (`NodeTimeline`) after every connect. QoS 1 and
persistent sessions lose nothing in the normal case, but a node that was re-flashed,
lost its disk cache or its session (broker restart without persistence) has a
timeline that differs from the database. The controller compares:

* expected = occurrences dispatched to this node whose delivery is unexpired, not
  terminal and not yet started, of announcements not cancelled;
* staged = what the node reports.

Missing plays are re-sent on the node's own topic (same occurrence id, new command
id: the node replaces rather than duplicates, and its replay guard accepts the new
id). Staged occurrences the controller does not know, or of cancelled announcements,
get a `cancel`. Play-now plays (no occurrence) are only cancelled when their
announcement is cancelled; they are never re-sent (their moment has passed).

Relays (docs/protocol.md §6.4, `relays`) are reconciled the same way: a relay sent to
the node, not cancelled, not yet ended and not finished there, that the node does not
hold is re-sent on its own topic (same relay id, new command id; a late node joins in
progress, as a relay does); a staged relay the controller does not know, or that was
cancelled, gets a `cancel` of its relay id.

Running it twice for the same timeline sends the same corrections again, which the
node absorbs (replace by occurrence; cancel of an absent play is a no-op): idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from controller.dispatch import (
    Clock,
    FanoutPlan,
    OutgoingCommand,
    Publisher,
    audio_ref,
    build_commands,
    build_control,
    publish_all,
)
from controller.models import (
    Announcement,
    AnnouncementStatus,
    Delivery,
    DeliveryState,
    DispatchedOccurrence,
    Node,
    Relay,
    RelayDelivery,
    RelayStatus,
)
from controller.programme import occurrence_id
from controller.relays import parse_wire_id, relay_command, wire_id
from controller.revisions import CONTROL_MIN_TTL
from controller.settings import ControllerSettings
from protocol.commands import CancelOrder, Priority
from protocol.reports import NodeTimeline
from protocol.signing import Signer
from protocol.topics import node_cmd

log = logging.getLogger(__name__)

RESENDABLE = (DeliveryState.PENDING, DeliveryState.SENT, DeliveryState.RECEIVED, DeliveryState.READY)
"""A delivery that started (or ended) is never re-sent: that would play it twice."""
RELAY_RESENDABLE = (*RESENDABLE, DeliveryState.STARTED, DeliveryState.PREEMPTED)
"""A relay the node lost while on air is re-sent: it joins the live stream in progress."""


@dataclass
class ReconcileResult:
    resent: list[str] = field(default_factory=list)
    """Occurrence ids re-sent to the node."""
    cancelled: list[str] = field(default_factory=list)
    """Occurrence ids (or `announcement:<id>`) the node was told to drop."""
    commands: list[OutgoingCommand] = field(default_factory=list)


@dataclass
class Reconciler:
    settings: ControllerSettings
    engine: Engine
    signer: Signer
    publisher: Publisher
    clock: Clock

    def reconcile(self, timeline: NodeTimeline) -> ReconcileResult:
        node_id = timeline.node
        now = self.clock()
        result = ReconcileResult()
        staged_occ = {e.occurrence for e in timeline.staged if e.occurrence}
        with Session(self.engine) as session:
            if session.get(Node, node_id) is None:
                log.warning("timeline from unprovisioned node %r ignored", node_id)
                return result
            rows = session.exec(
                select(Delivery, Announcement)
                .join(Announcement, col(Announcement.id) == col(Delivery.announcement_id))
                .where(
                    col(Delivery.node_id) == node_id,
                    col(Delivery.occurrence).is_not(None),
                    col(Delivery.expires_at) > now,
                    col(Delivery.state).in_([s.value for s in RESENDABLE]),
                    col(Announcement.status) != AnnouncementStatus.CANCELLED,
                )
            ).all()
            expected = {occurrence_id(d.announcement_id, d.occurrence or ""): (d, a) for d, a in rows}
            known = self._known(session, node_id, timeline)
            resend: list[OutgoingCommand] = []
            for occ_id, (delivery, ann) in sorted(expected.items()):
                if occ_id in staged_occ or delivery.play_at is None or delivery.expires_at is None:
                    continue
                (cmd,) = build_commands(
                    FanoutPlan(zones={}, nodes=(node_id,)),
                    signer=self.signer,
                    announcement_id=delivery.announcement_id,
                    audio=audio_ref(self.settings.public_url, ann.audio_sha256, ann.audio_size, ann.audio_duration_ms),
                    play_at=delivery.play_at,
                    priority=Priority(ann.priority),
                    issued_at=now,
                    expires_at=delivery.expires_at,
                    occurrence=occ_id,
                )
                delivery.command_id = cmd.command.id
                delivery.updated_at = now
                session.add(delivery)
                resend.append(cmd)
                result.resent.append(occ_id)
            relay_resend, relay_extras = self._relays(session, node_id, timeline, now)
            resend.extend(relay_resend)
            result.resent.extend(c.command.relay.relay_id for c in relay_resend if c.command.relay is not None)
            session.commit()
        extras = sorted(
            {e.occurrence for e in timeline.staged if e.occurrence and e.occurrence not in expected and not known.get(e.occurrence)}
            | set(relay_extras)
        )
        cancelled_anns = sorted({e.announcement for e in timeline.staged if not e.occurrence and known.get(f"a:{e.announcement}") is False})
        latest = max([e.play_at for e in timeline.staged] + [r.end_at for r in timeline.relays] + [now])
        expires_at = max(latest + timedelta(seconds=self.settings.occurrence_ttl_s), now + CONTROL_MIN_TTL)
        topic = node_cmd(node_id)
        controls = []
        if extras:
            controls.append(
                build_control(topic, signer=self.signer, issued_at=now, expires_at=expires_at,
                              cancel=CancelOrder(occurrences=extras), nodes=frozenset({node_id}))
            )  # fmt: skip
            result.cancelled.extend(extras)
        for ann_id in cancelled_anns:
            controls.append(
                build_control(topic, signer=self.signer, issued_at=now, expires_at=expires_at,
                              cancel=CancelOrder(announcement=ann_id), nodes=frozenset({node_id}))
            )  # fmt: skip
            result.cancelled.append(f"announcement:{ann_id}")
        result.commands = resend + controls
        failed = publish_all(self.publisher, result.commands)
        if result.commands:
            log.info(
                "reconciled %s: %d play(s) re-sent, %d cancel(s) sent, %d failed",
                node_id, len(resend), len(controls), len(failed),
            )  # fmt: skip
        return result

    def _relays(self, session: Session, node_id: str, timeline: NodeTimeline,
                now: datetime) -> tuple[list[OutgoingCommand], list[str]]:  # fmt: skip
        """(relay commands to re-send, staged relay ids to cancel) for this node."""
        rows = session.exec(
            select(RelayDelivery, Relay)
            .join(Relay, col(Relay.id) == col(RelayDelivery.relay_id))
            .where(col(RelayDelivery.node_id) == node_id, col(Relay.status) == RelayStatus.SENT,
                   col(Relay.end_at) > now, col(RelayDelivery.state).in_([s.value for s in RELAY_RESENDABLE]))
        ).all()  # fmt: skip
        staged = {r.relay for r in timeline.relays}
        resend = []
        for delivery, relay in sorted(rows, key=lambda pair: pair[1].id or 0):
            if wire_id(relay.id or 0) in staged:
                continue
            cmd = relay_command(relay, node_cmd(node_id), frozenset({node_id}), self.signer, now)
            delivery.command_id, delivery.updated_at = cmd.command.id, now
            session.add(delivery)
            resend.append(cmd)
        numbers = {n for r in staged if (n := parse_wire_id(r)) is not None}
        alive = set(
            session.exec(
                select(RelayDelivery.relay_id)
                .join(Relay, col(Relay.id) == col(RelayDelivery.relay_id))
                .where(col(RelayDelivery.node_id) == node_id, col(RelayDelivery.relay_id).in_(sorted(numbers)),
                       col(Relay.status) == RelayStatus.SENT)
            ).all()
        ) if numbers else set()  # fmt: skip
        extras = [r for r in sorted(staged) if parse_wire_id(r) not in alive]
        return resend, extras

    def _known(self, session: Session, node_id: str, timeline: NodeTimeline) -> dict[str, bool]:
        """For each staged entry: may the node keep it?

        Keys are occurrence ids, and `a:<id>` for play-now entries. An occurrence is kept
        when it was dispatched to this node and its announcement is not cancelled (a
        terminal or started delivery is left alone: the node knows better than a guess).
        """
        ann_ids = sorted({e.announcement for e in timeline.staged})
        if not ann_ids:
            return {}
        anns = {a.id: a for a in session.exec(select(Announcement).where(col(Announcement.id).in_(ann_ids))).all()}
        delivered = set(
            session.exec(
                select(Delivery.announcement_id, Delivery.occurrence).where(
                    col(Delivery.node_id) == node_id, col(Delivery.announcement_id).in_(ann_ids)
                )
            ).all()
        )
        dispatched = set(
            session.exec(
                select(DispatchedOccurrence.announcement_id, DispatchedOccurrence.occurrence_key).where(
                    col(DispatchedOccurrence.announcement_id).in_(ann_ids)
                )
            ).all()
        )
        out: dict[str, bool] = {}
        for entry in timeline.staged:
            ann = anns.get(entry.announcement)
            alive = ann is not None and ann.status != AnnouncementStatus.CANCELLED
            if not entry.occurrence:
                out[f"a:{entry.announcement}"] = alive
                continue
            prefix = f"{entry.announcement}:"
            key = entry.occurrence[len(prefix):] if entry.occurrence.startswith(prefix) else None
            out[entry.occurrence] = (
                alive and key is not None and (entry.announcement, key) in dispatched
                and (entry.announcement, key) in delivered
            )  # fmt: skip
        return out


__all__ = ["RELAY_RESENDABLE", "RESENDABLE", "ReconcileResult", "Reconciler"]
