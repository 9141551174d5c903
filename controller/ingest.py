"""Applying parsed node reports to the database, many per transaction.

`controller.fleet` parses and validates what nodes send (on paho's network thread) and
turns each message into a `Report`; this module applies a list of them in order in one
session and one commit, and collects what changed (`Changes`) so the caller can tell
the live hub and reconcile timelines once the batch is committed.

Why one transaction per batch: on SQLite every write transaction takes the database's
single write lock, and 200 nodes reporting the same play start meant 200 lock
acquisitions in a row that an emergency announcement had to queue behind. One batch is
one acquisition, a few tens of milliseconds long.

The rules per report are the ones fleet.py documents: unknown or impostor nodes are
dropped with a WARNING, delivery states only move forward (`should_replace`), stale
retained states are ignored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from controller.models import STATE_RANK, TERMINAL_STATES, Delivery, DeliveryState, Node, NodeEventRecord, TelemetrySample
from protocol.reports import NodeEvent, NodeState, NodeStatus, NodeTimeline, Telemetry

log = logging.getLogger("controller.fleet")

SWEEP_DETAIL = "no report from node before expiry"
CANCEL_SWEEP_DETAIL = "cancelled; no report from node before expiry"

ReportMsg = NodeState | Telemetry | NodeEvent | NodeTimeline


def should_replace(current: str, current_detail: str | None, new: str) -> bool:
    """True when a reported state may overwrite the stored one (it never regresses).

    One exception to "first final state wins": an `expired` the sweep guessed gives way
    to a final state the node actually reports (e.g. queued while the controller was down).
    """
    if STATE_RANK.get(new, -1) > STATE_RANK.get(current, -1):
        return True
    guessed = (current, current_detail) in {
        (DeliveryState.EXPIRED, SWEEP_DETAIL),
        (DeliveryState.CANCELLED, CANCEL_SWEEP_DETAIL),
    }
    return guessed and new in TERMINAL_STATES and new != current


@dataclass(frozen=True)
class Report:
    """One validated node message, waiting to be applied."""

    node_id: str
    """The node named by the topic (the broker's ACL ties it to the sender's account)."""
    topic: str
    msg: ReportMsg
    received_at: datetime
    """The controller's clock when the message arrived (not when it was applied)."""


@dataclass
class Changes:
    """What one applied batch changed, for the live hub and reconciliation."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Node id -> its new public view (`id`, `online`, `last_seen`, `telemetry`, `agent_version`)."""
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    """`{announcement_id, node_id, state}` for every delivery whose state moved."""
    timelines: list[NodeTimeline] = field(default_factory=list)
    """Timelines to reconcile once the batch is committed."""
    applied: int = 0


def node_view(node: Node) -> dict[str, Any]:
    """The live `node` change: what the dashboard's node list shows."""
    return {
        "id": node.id,
        "online": node.online,
        "last_seen": node.last_seen.isoformat() if node.last_seen else None,
        "telemetry": node.last_telemetry,
        "agent_version": node.agent_version,
    }


def apply_reports(session: Session, reports: list[Report], changes: Changes) -> None:
    """Apply `reports` in order in `session` (the caller commits), noting changes.

    The nodes and the deliveries the batch is about are loaded with one query each and
    nothing is flushed until the commit, so a batch of 200 events costs a handful of
    statements (one executemany per table) instead of three round trips per event: the
    write lock is held for as short a time as possible.
    """
    touched: dict[str, Node] = {}
    with session.no_autoflush:
        ids = sorted({r.node_id for r in reports})
        session.exec(select(Node).where(col(Node.id).in_(ids))).all()  # into the identity map
        known = _deliveries_by_command(session, reports)
        for report in reports:
            msg = report.msg
            if isinstance(msg, NodeTimeline):
                changes.timelines.append(msg)
            elif isinstance(msg, NodeState):
                _apply_state(session, report, msg, touched)
            elif isinstance(msg, Telemetry):
                _apply_telemetry(session, report, msg, touched)
            else:
                _apply_event(session, report, msg, changes, known)
            changes.applied += 1
    for node_id, node in touched.items():
        changes.nodes[node_id] = node_view(node)


def _deliveries_by_command(session: Session, reports: list[Report]) -> dict[tuple[str, str], Delivery]:
    """(node id, command id) -> Delivery for every play event in the batch (one query)."""
    wanted = {(r.node_id, r.msg.cmd) for r in reports if isinstance(r.msg, NodeEvent) and r.msg.relay is None}
    if not wanted:
        return {}
    rows = session.exec(select(Delivery).where(col(Delivery.command_id).in_(sorted({c for _, c in wanted})))).all()
    out: dict[tuple[str, str], Delivery] = {}
    for row in rows:
        key = (row.node_id, row.command_id)
        if key in wanted:
            out.setdefault(key, row)
    return out


def _node(session: Session, report: Report) -> Node | None:
    node = session.get(Node, report.node_id)
    if node is None:
        log.warning("ignoring message on %s: node %r is not provisioned", report.topic, report.node_id)
    return node


def _apply_state(session: Session, report: Report, msg: NodeState, touched: dict[str, Node]) -> None:
    node = _node(session, report)
    if node is None:
        return
    if msg.at is not None and node.last_state_at is not None and msg.at < node.last_state_at:
        log.info("ignoring stale state of %s from %s", report.node_id, msg.at.isoformat())
        return
    node.online = msg.state is NodeStatus.ONLINE
    if msg.at is not None:
        node.last_state_at = msg.at
    if node.online:
        node.last_seen = report.received_at
    if msg.agent_version:
        node.agent_version = msg.agent_version[:64]
    session.add(node)
    touched[report.node_id] = node
    log.info("node %s is %s", report.node_id, msg.state.value)


def _apply_telemetry(session: Session, report: Report, msg: Telemetry, touched: dict[str, Node]) -> None:
    node = _node(session, report)
    if node is None:
        return
    data = msg.model_dump(mode="json", exclude_none=True)
    # Telemetry is QoS 0 and never queued, so it proves the node is up right now.
    node.last_telemetry = data
    node.last_seen = report.received_at
    node.online = True
    node.agent_version = msg.agent_version[:64]
    session.add(node)
    session.add(TelemetrySample(node_id=report.node_id, at=report.received_at, data=data))
    touched[report.node_id] = node


def _apply_event(session: Session, report: Report, msg: NodeEvent, changes: Changes,
                 known: dict[tuple[str, str], Delivery] | None = None) -> None:  # fmt: skip
    node = _node(session, report)
    if node is None:
        return
    node_id, now = report.node_id, report.received_at
    session.add(
        NodeEventRecord(
            node_id=node_id, cmd=msg.cmd[:64], announcement_id=msg.announcement, event=msg.event.value,
            at=msg.at, received_at=now, detail=msg.detail,
        )
    )  # fmt: skip
    # Events may be old (queued while we were down): last_seen moves to when it happened.
    seen = min(msg.at, now)
    if node.last_seen is None or seen > node.last_seen:
        node.last_seen = seen
        session.add(node)
    if msg.relay is not None:
        from controller.relays import relay_event

        if not relay_event(session, node_id, msg.cmd, msg.relay, msg.event.value, msg.detail, now):
            log.info("event %s from %s for unknown relay %s", msg.event.value, node_id, msg.relay[:80])
        return
    delivery = (known or {}).get((node_id, msg.cmd)) or find_delivery(session, node_id, msg)
    if delivery is None:
        log.info("event %s from %s for unknown command %s", msg.event.value, node_id, msg.cmd)
    elif should_replace(delivery.state, delivery.detail, msg.event.value):
        delivery.state = msg.event.value
        delivery.detail = msg.detail
        delivery.updated_at = now
        session.add(delivery)
        changes.deliveries.append(
            {"announcement_id": delivery.announcement_id, "node_id": node_id, "state": delivery.state}
        )
    else:
        log.debug("event %s from %s does not advance %s", msg.event.value, node_id, delivery.state)


def find_delivery(session: Session, node_id: str, msg: NodeEvent) -> Delivery | None:
    """The delivery an event is about: by command id (unique per node), else by the
    announcement when it has a single delivery on this node (a play-now announcement;
    a scheduled one has one per occurrence and only the command id tells them apart)."""
    query = select(Delivery).where(Delivery.node_id == node_id).with_for_update()
    found = session.exec(query.where(Delivery.command_id == msg.cmd)).first()
    if found is not None or msg.announcement is None:
        return found
    rows = session.exec(query.where(Delivery.announcement_id == msg.announcement).limit(2)).all()
    return rows[0] if len(rows) == 1 else None


__all__ = ["CANCEL_SWEEP_DETAIL", "SWEEP_DETAIL", "Changes", "Report", "apply_reports", "find_delivery", "node_view", "should_replace"]
