"""What the nodes tell the controller, and what their silence means.

Ingestion: the controller's MQTT link subscribes to every node's state, telemetry and
events (the link resubscribes on reconnect; its persistent session makes the broker
queue QoS 1 events while the controller is down). Each message is handled on paho's
network thread in its own short database session. Anything doubtful — an unknown
node, a payload that does not parse, a node speaking for another node's id — is
logged as a WARNING and dropped: one bad node must not corrupt the fleet view.

Delivery states only move forward (pending < sent < received < ready < started <
finished/failed/expired/preempted), so events that arrive out of order (QoS 1 after a
reconnect, retries) can never make a finished play look unfinished.

The expiry sweep turns silence into an answer: a delivery with no final report some
grace after its command expired is marked `expired`, since the node is no longer
allowed to play it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, and_, or_, update
from sqlmodel import Session, col, select

from controller.db import session_scope
from controller.dispatch import Clock
from controller.models import (
    STATE_RANK,
    TERMINAL_STATES,
    Announcement,
    AnnouncementStatus,
    Delivery,
    DeliveryState,
    Node,
    NodeEventRecord,
)
from controller.settings import ControllerSettings
from protocol.base import Payload, ProtocolError, decode
from protocol.reports import NodeEvent, NodeState, NodeStatus, NodeTimeline, Telemetry
from protocol.topics import (
    ALL_EVENTS,
    ALL_STATES,
    ALL_TELEMETRY,
    ALL_TIMELINES,
    QOS_EVENT,
    QOS_STATE,
    QOS_TELEMETRY,
    TopicError,
    parse_node_topic,
)

log = logging.getLogger(__name__)

P = TypeVar("P", bound=Payload)

MAX_DB_INT = 2**63 - 1
"""Largest integer a BIGINT (and SQLite) column holds; ids beyond it are garbage."""

SWEEP_DETAIL = "no report from node before expiry"
CANCEL_SWEEP_DETAIL = "cancelled; no report from node before expiry"
SWEEP_JOB_ID = "expiry-sweep"


class Subscriber(Protocol):
    """The part of `protocol.link.MqttLink` ingestion needs."""

    def subscribe(self, topic_filter: str, handler: Any, qos: int = 1) -> None: ...


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


class TimelineHandler(Protocol):
    """`controller.reconcile.Reconciler`: corrects a node's staged plays."""

    def reconcile(self, timeline: NodeTimeline) -> Any: ...


class FleetIngest:
    """MQTT message handlers that keep nodes and deliveries up to date."""

    def __init__(self, engine: Engine, clock: Clock, reconciler: TimelineHandler | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.reconciler = reconciler

    def attach(self, link: Subscriber) -> None:
        link.subscribe(ALL_STATES, self.on_state, qos=QOS_STATE)
        link.subscribe(ALL_TELEMETRY, self.on_telemetry, qos=QOS_TELEMETRY)
        link.subscribe(ALL_EVENTS, self.on_event, qos=QOS_EVENT)
        link.subscribe(ALL_TIMELINES, self.on_timeline, qos=QOS_EVENT)

    def on_timeline(self, topic: str, payload: bytes) -> None:
        """A node's staged plays (sent after each connect): reconcile them with the database."""
        parsed = self._parse(topic, payload, "timeline", NodeTimeline)
        if parsed is None or self.reconciler is None:
            return
        node_id, msg = parsed
        if msg.node != node_id:
            log.warning("ignoring message on %s: it claims to come from node %r", topic, msg.node[:64])
            return
        try:
            self.reconciler.reconcile(msg)
        except Exception:  # never let one node's timeline kill paho's network thread
            log.exception("reconciling the timeline of %s failed", node_id)

    # -- handlers (paho's network thread) -----------------------------------------------

    def on_state(self, topic: str, payload: bytes) -> None:
        parsed = self._parse(topic, payload, "state", NodeState)
        if parsed is None:
            return
        node_id, msg = parsed
        with session_scope(self.engine) as session:
            node = self._node(session, node_id, topic)
            if node is None:
                return
            if msg.at is not None and node.last_state_at is not None and msg.at < node.last_state_at:
                log.info("ignoring stale state of %s from %s", node_id, msg.at.isoformat())
                return
            node.online = msg.state is NodeStatus.ONLINE
            if msg.at is not None:
                node.last_state_at = msg.at
            if node.online:
                node.last_seen = self.clock()
            if msg.agent_version:
                node.agent_version = msg.agent_version[:64]
            session.add(node)
            session.commit()
        log.info("node %s is %s", node_id, msg.state.value)

    def on_telemetry(self, topic: str, payload: bytes) -> None:
        parsed = self._parse(topic, payload, "telemetry", Telemetry)
        if parsed is None:
            return
        node_id, msg = parsed
        with session_scope(self.engine) as session:
            node = self._node(session, node_id, topic, claimed=msg.node)
            if node is None:
                return
            # Telemetry is QoS 0 and never queued, so it proves the node is up right now.
            node.last_telemetry = msg.model_dump(mode="json", exclude_none=True)
            node.last_seen = self.clock()
            node.online = True
            node.agent_version = msg.agent_version[:64]
            session.add(node)
            session.commit()

    def on_event(self, topic: str, payload: bytes) -> None:
        parsed = self._parse(topic, payload, "events", NodeEvent)
        if parsed is None:
            return
        node_id, msg = parsed
        if msg.announcement is not None and not 0 < msg.announcement <= MAX_DB_INT:
            log.warning("ignoring event from %s on %s: announcement id out of range", node_id, topic)
            return
        now = self.clock()
        with session_scope(self.engine) as session:
            node = self._node(session, node_id, topic, claimed=msg.node)
            if node is None:
                return
            session.add(
                NodeEventRecord(
                    node_id=node_id,
                    cmd=msg.cmd[:64],
                    announcement_id=msg.announcement,
                    event=msg.event.value,
                    at=msg.at,
                    received_at=now,
                    detail=msg.detail,
                )
            )
            # Events may be old (queued while we were down): last_seen moves to when it happened.
            seen = min(msg.at, now)
            if node.last_seen is None or seen > node.last_seen:
                node.last_seen = seen
                session.add(node)
            if msg.relay is not None:
                from controller.relays import relay_event

                if not relay_event(session, node_id, msg.cmd, msg.relay, msg.event.value, msg.detail, now):
                    log.info("event %s from %s for unknown relay %s", msg.event.value, node_id, msg.relay[:80])
                session.commit()
                return
            delivery = _find_delivery(session, node_id, msg)
            if delivery is None:
                log.info("event %s from %s for unknown command %s", msg.event.value, node_id, msg.cmd)
            elif should_replace(delivery.state, delivery.detail, msg.event.value):
                delivery.state = msg.event.value
                delivery.detail = msg.detail
                delivery.updated_at = now
                session.add(delivery)
            else:
                log.debug("event %s from %s does not advance %s", msg.event.value, node_id, delivery.state)
            session.commit()

    # -- helpers ----------------------------------------------------------------------

    @staticmethod
    def _parse(topic: str, payload: bytes, leaf: str, model: type[P]) -> tuple[str, P] | None:
        try:
            node_id, got = parse_node_topic(topic)
        except TopicError as exc:
            log.warning("ignoring message on %r: %s", topic, exc)
            return None
        if got != leaf:
            log.warning("ignoring message on %r: expected a %s topic", topic, leaf)
            return None
        try:
            return node_id, decode(model, payload)
        except ProtocolError as exc:
            log.warning("ignoring malformed message from %s on %s: %s", node_id, topic, exc)
            return None

    @staticmethod
    def _node(session: Session, node_id: str, topic: str, claimed: str | None = None) -> Node | None:
        if claimed is not None and claimed != node_id:
            log.warning("ignoring message on %s: it claims to come from node %r", topic, claimed[:64])
            return None
        node = session.get(Node, node_id)
        if node is None:
            log.warning("ignoring message on %s: node %r is not provisioned", topic, node_id)
        return node


def _find_delivery(session: Session, node_id: str, msg: NodeEvent) -> Delivery | None:
    """The delivery an event is about: by command id (unique per node), else by the
    announcement when it has a single delivery on this node (a play-now announcement;
    a scheduled one has one per occurrence and only the command id tells them apart)."""
    query = select(Delivery).where(Delivery.node_id == node_id).with_for_update()
    found = session.exec(query.where(Delivery.command_id == msg.cmd)).first()
    if found is not None or msg.announcement is None:
        return found
    rows = session.exec(query.where(Delivery.announcement_id == msg.announcement).limit(2)).all()
    return rows[0] if len(rows) == 1 else None


# -- expiry sweep -------------------------------------------------------------------------


def sweep_expired(session: Session, now: datetime, grace_s: float) -> int:
    """Mark deliveries still open `grace_s` after their command expired; returns how many.

    A delivery's expiry is its own (scheduled occurrences) or else its announcement's.
    Open deliveries of a cancelled announcement become `cancelled` (the cancel was
    published; the node just never confirmed), the others `expired`. Conditional
    UPDATEs, so a final event that lands at the same moment is never overwritten (the
    row no longer matches `state IN (open states)`).
    """
    cutoff = now - timedelta(seconds=grace_s)
    open_states = [s.value for s in DeliveryState if s not in TERMINAL_STATES]
    overdue_anns = select(Announcement.id).where(col(Announcement.expires_at) < cutoff)
    cancelled_anns = select(Announcement.id).where(col(Announcement.status) == AnnouncementStatus.CANCELLED)
    overdue = or_(
        and_(col(Delivery.expires_at).is_not(None), col(Delivery.expires_at) < cutoff),
        and_(col(Delivery.expires_at).is_(None), col(Delivery.announcement_id).in_(overdue_anns)),
    )
    count = 0
    for in_cancelled, state, detail in (
        (True, DeliveryState.CANCELLED, CANCEL_SWEEP_DETAIL),
        (False, DeliveryState.EXPIRED, SWEEP_DETAIL),
    ):
        which = col(Delivery.announcement_id).in_(cancelled_anns)
        result = session.exec(  # type: ignore[call-overload]
            update(Delivery)
            .where(col(Delivery.state).in_(open_states), overdue, which if in_cancelled else ~which)
            .values(state=state, detail=detail, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        count += int(result.rowcount or 0)
    session.commit()
    if count:
        log.warning("%d deliveries expired without a report from their node", count)
    return count


def make_scheduler(settings: ControllerSettings, engine: Engine, clock: Clock) -> BackgroundScheduler:
    """The controller's one scheduler (not started). Exactly one may run: one worker per controller.

    `misfire_grace_time` keeps a run that starts a little late (busy machine) from being
    silently dropped; `coalesce` and `max_instances=1` stop a backlog from piling up.
    """
    scheduler = BackgroundScheduler(timezone=UTC)

    def run_sweep() -> None:
        with session_scope(engine) as session:
            sweep_expired(session, clock(), settings.expiry_grace_s)

    scheduler.add_job(
        run_sweep,
        "interval",
        seconds=settings.expiry_sweep_s,
        id=SWEEP_JOB_ID,
        name="expiry sweep",
        misfire_grace_time=max(1, int(settings.expiry_sweep_s * 2)),
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )
    return scheduler


__all__ = ["CANCEL_SWEEP_DETAIL", "SWEEP_DETAIL", "TimelineHandler", "FleetIngest", "make_scheduler", "should_replace", "sweep_expired"]
