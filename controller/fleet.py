"""What the nodes tell the controller, and what their silence means.

Ingestion: the controller's MQTT link subscribes to every node's state, telemetry,
events and timeline (the link resubscribes on reconnect; its persistent session makes
the broker queue QoS 1 events while the controller is down). paho's network thread only
parses and validates each message and queues it; one worker applies the queue in
batches, one transaction per batch (controller/ingest.py says why; the queue's bounds
and drop policy are in controller/ingest_queue.py), then tells the live hub what
changed and reconciles timelines. Anything doubtful — an unknown
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
from controller.jobs import add_interval_job
from controller.ingest import CANCEL_SWEEP_DETAIL, SWEEP_DETAIL, Changes, Report, apply_reports, should_replace
from controller.ingest_history import prune_telemetry
from controller.ingest_queue import IngestQueue, IngestWorker
from controller.relays import sweep_relays
from controller.models import (
    TERMINAL_STATES,
    Announcement,
    AnnouncementStatus,
    Delivery,
    DeliveryState,
)
from controller.settings import ControllerSettings
from protocol.base import Payload, ProtocolError, decode
from protocol.reports import NodeEvent, NodeState, NodeTimeline, Telemetry
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

SWEEP_JOB_ID = "expiry-sweep"


class Subscriber(Protocol):
    """The part of `protocol.link.MqttLink` ingestion needs."""

    def subscribe(self, topic_filter: str, handler: Any, qos: int = 1) -> None: ...


class TimelineHandler(Protocol):
    """`controller.reconcile.Reconciler`: corrects a node's staged plays."""

    def reconcile(self, timeline: NodeTimeline) -> Any: ...


class ChangeSink(Protocol):
    """`controller.live.LiveHub`: where committed changes are announced."""

    def publish(self, kind: str, data: dict[str, Any]) -> None: ...


LEAVES: dict[str, type[Payload]] = {"state": NodeState, "telemetry": Telemetry, "events": NodeEvent, "timeline": NodeTimeline}
BLOCK_WHEN_FULL_S = 5.0
"""How long paho's thread waits for room for an event, state or timeline (see ingest_queue)."""


class FleetIngest:
    """Node reports in, fleet view and delivery states out.

    With a link attached and the worker started (the running controller), MQTT
    messages are parsed on paho's thread and queued; the worker applies them in
    batches. The `on_*` methods apply one message synchronously (tests, tools).
    """

    def __init__(
        self, engine: Engine, clock: Clock, reconciler: TimelineHandler | None = None, hub: ChangeSink | None = None,
        *, queue_max: int = 10_000, batch_max: int = 500,
    ) -> None:  # fmt: skip
        self.engine = engine
        self.clock = clock
        self.reconciler = reconciler
        self.hub = hub
        self.queue: IngestQueue[Report] = IngestQueue(queue_max)
        self.batch_max = batch_max
        self._worker: IngestWorker[Report] | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def attach(self, link: Subscriber) -> None:
        link.subscribe(ALL_STATES, self.receive, qos=QOS_STATE)
        link.subscribe(ALL_TELEMETRY, self.receive, qos=QOS_TELEMETRY)
        link.subscribe(ALL_EVENTS, self.receive, qos=QOS_EVENT)
        link.subscribe(ALL_TIMELINES, self.receive, qos=QOS_EVENT)

    def start(self) -> None:
        """Start the ingest worker; until then (and after `stop`) `receive` applies at once."""
        if self._worker is None:
            if self.queue.closed:  # stopped before: a fresh queue (the old one refuses reports)
                self.queue = IngestQueue(self.queue.maxsize)
            self._worker = IngestWorker(self.queue, self.apply, self.batch_max)
            self._worker.start()

    def stop(self) -> None:
        """Apply what is queued and end the worker (after the link stopped delivering)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued report was applied (tests, shutdown); False on timeout."""
        return self.queue.wait_idle(timeout)

    # -- handlers -----------------------------------------------------------------------

    def receive(self, topic: str, payload: bytes) -> None:
        """The link's handler (paho's network thread): parse, validate, queue."""
        try:
            _node_id, leaf = parse_node_topic(topic)
        except TopicError as exc:
            log.warning("ignoring message on %r: %s", topic, exc)
            return
        report = self._report(topic, payload, leaf)
        if report is None:
            return
        if self._worker is None:
            self.apply([report])
            return
        telemetry = isinstance(report.msg, Telemetry)
        if not self.queue.put(report, block_s=0.0 if telemetry else BLOCK_WHEN_FULL_S):
            if telemetry:
                if self.queue.dropped % 100 == 1:
                    log.warning("ingest queue full: telemetry dropped (%d report(s) dropped so far)", self.queue.dropped)
            else:
                log.error("ingest queue full for %.0f s: %s of node %s dropped", BLOCK_WHEN_FULL_S, leaf, report.node_id)

    def on_state(self, topic: str, payload: bytes) -> None:
        self._apply_now(topic, payload, "state")

    def on_telemetry(self, topic: str, payload: bytes) -> None:
        self._apply_now(topic, payload, "telemetry")

    def on_event(self, topic: str, payload: bytes) -> None:
        self._apply_now(topic, payload, "events")

    def on_timeline(self, topic: str, payload: bytes) -> None:
        """A node's staged plays (sent after each connect): reconcile them with the database."""
        self._apply_now(topic, payload, "timeline")

    def _apply_now(self, topic: str, payload: bytes, leaf: str) -> None:
        report = self._report(topic, payload, leaf)
        if report is not None:
            self.apply([report])

    # -- applying (the worker's thread, or the caller's) --------------------------------

    def apply(self, reports: list[Report]) -> Changes:
        """Apply `reports` in one transaction, then announce the changes and reconcile timelines.

        If the batch fails as a whole (a database error), each report is retried alone,
        so one poisonous report costs only itself.
        """
        changes = Changes()
        try:
            with session_scope(self.engine) as session:
                apply_reports(session, reports, changes)
                session.commit()
        except Exception:
            if len(reports) == 1:
                log.exception("applying a report of %s failed", reports[0].node_id)
                return changes
            log.exception("applying a batch of %d report(s) failed; retrying them one by one", len(reports))
            changes = Changes()
            for report in reports:
                one = self._apply_alone(report)
                changes.nodes.update(one.nodes)
                changes.deliveries.extend(one.deliveries)
                changes.timelines.extend(one.timelines)
                changes.applied += one.applied
            return changes  # _apply_alone announced and reconciled already
        self._after_commit(changes)
        return changes

    def _apply_alone(self, report: Report) -> Changes:
        changes = Changes()
        try:
            with session_scope(self.engine) as session:
                apply_reports(session, [report], changes)
                session.commit()
        except Exception:
            log.exception("applying a report of %s failed; dropped", report.node_id)
            return Changes()
        self._after_commit(changes)
        return changes

    def _after_commit(self, changes: Changes) -> None:
        if self.hub is not None:
            for view in changes.nodes.values():
                self.hub.publish("node", view)
            for delivery in changes.deliveries:
                self.hub.publish("delivery", delivery)
        if self.reconciler is None:
            return
        for timeline in changes.timelines:
            try:
                self.reconciler.reconcile(timeline)
            except Exception:  # never let one node's timeline kill the worker
                log.exception("reconciling the timeline of %s failed", timeline.node)

    # -- parsing ------------------------------------------------------------------------

    def _report(self, topic: str, payload: bytes, leaf: str) -> Report | None:
        """Parse and validate one message into a `Report`; None (logged) when it is refused."""
        parsed = self._parse(topic, payload, leaf, LEAVES.get(leaf, NodeEvent))
        if parsed is None:
            return None
        node_id, msg = parsed
        claimed = getattr(msg, "node", None)
        if claimed is not None and claimed != node_id:
            log.warning("ignoring message on %s: it claims to come from node %r", topic, claimed[:64])
            return None
        if isinstance(msg, NodeEvent) and msg.announcement is not None and not 0 < msg.announcement <= MAX_DB_INT:
            log.warning("ignoring event from %s on %s: announcement id out of range", node_id, topic)
            return None
        return Report(node_id=node_id, topic=topic, msg=msg, received_at=self.clock())  # type: ignore[arg-type]

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
        now = clock()
        with session_scope(engine) as session:
            sweep_expired(session, now, settings.expiry_grace_s)
            sweep_relays(session, now, settings.expiry_grace_s)
            session.commit()
            prune_telemetry(session, now, settings.telemetry_retention_days)
            session.commit()

    add_interval_job(scheduler, run_sweep, seconds=settings.expiry_sweep_s, job_id=SWEEP_JOB_ID, name="expiry sweep")
    return scheduler


__all__ = ["CANCEL_SWEEP_DETAIL", "SWEEP_DETAIL", "TimelineHandler", "FleetIngest", "make_scheduler", "should_replace", "sweep_expired"]
