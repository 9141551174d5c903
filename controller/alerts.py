"""Offline alerts: a node silent too long opens an alert, its return closes it.

Why a periodic check and not a hook in ingestion: "offline for five minutes" is a
statement about time passing with no message at all, so something has to look at the
clock; and ingestion (paho's thread, batched transactions) must never wait on alert
bookkeeping, let alone on a webhook. `AlertMonitor.check` runs as one APScheduler job
(`add_alert_job`, `misfire_grace_time` set, the clock injected) and opens or closes
`Alert` rows in one short transaction:

* a node is *down* when it is not online and was last heard (`Node.last_seen`) more
  than `alert_offline_after_s` ago. A node never heard since it was provisioned is not
  down - nothing went offline - so a fresh installation does not alert for every
  cluster that is not mounted yet;
* an open alert closes as soon as the node is online again or has been heard after the
  alert's `offline_since` (it came back and may have gone again: a new alert opens
  once it has been silent long enough again).

The optional webhook (`alert_webhook_url`) gets every opened and closed alert as JSON
from one background thread (`Webhook`): a bounded queue, a timeout per request, a few
tries with backoff, and the outcome written back on the alert. A dead webhook costs a
log line and a `failed: …` on the alert, never a delayed check.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from controller.db import session_scope
from controller.dispatch import Clock
from controller.jobs import add_interval_job
from controller.models import Alert, AlertPublic, Node
from controller.settings import ControllerSettings

log = logging.getLogger(__name__)

ALERT_JOB_ID = "offline-alerts"
QUEUE_MAX = 1000
"""Notices waiting for the webhook at most; beyond that they are recorded as failed."""


@dataclass(frozen=True)
class Notice:
    """One webhook message: an alert was opened or closed."""

    alert: int
    kind: str
    """`opened` or `closed`."""
    node: str
    name: str | None
    zone: str | None
    offline_since: datetime
    at: datetime

    def to_json(self) -> bytes:
        body = {
            "alert": self.alert, "kind": self.kind, "node": self.node, "name": self.name, "zone": self.zone,
            "offline_since": _iso(self.offline_since), "at": _iso(self.at),
        }
        return json.dumps(body, ensure_ascii=False).encode()


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


@dataclass
class AlertChanges:
    opened: list[Alert] = field(default_factory=list)
    closed: list[Alert] = field(default_factory=list)


def is_down(node: Node, now: datetime, offline_after_s: float) -> bool:
    """Offline and last heard longer ago than the threshold (never-heard nodes are not down)."""
    if node.online or node.last_seen is None:
        return False
    return now - node.last_seen > timedelta(seconds=offline_after_s)


def check_alerts(session: Session, now: datetime, offline_after_s: float) -> AlertChanges:
    """Open alerts for nodes that are down, close those whose node is back; commits."""
    changes = AlertChanges()
    open_rows = {a.node_id: a for a in session.exec(select(Alert).where(col(Alert.closed_at).is_(None))).all()}
    for node in session.exec(select(Node).order_by(col(Node.id))).all():
        alert = open_rows.get(node.id)
        if alert is not None and (node.online or (node.last_seen is not None and node.last_seen > alert.offline_since)):
            alert.closed_at = now
            session.add(alert)
            changes.closed.append(alert)
            alert = None
        if alert is None and is_down(node, now, offline_after_s):
            assert node.last_seen is not None  # is_down says so
            new = Alert(node_id=node.id, offline_since=node.last_seen, opened_at=now)
            session.add(new)
            changes.opened.append(new)
    if changes.opened or changes.closed:
        session.commit()
        for alert in changes.opened + changes.closed:
            session.refresh(alert)
    return changes


class Webhook:
    """POSTs notices to one URL from a single background thread (started on first use)."""

    def __init__(
        self, url: str, engine: Engine, *, timeout_s: float = 10.0, attempts: int = 3, backoff_s: float = 1.0
    ) -> None:
        self.url = url
        self._engine = engine
        self._timeout = timeout_s
        self._attempts = attempts
        self._backoff = backoff_s
        self._queue: queue.Queue[Notice | None] = queue.Queue(maxsize=QUEUE_MAX)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, notice: Notice) -> None:
        """Queue a notice; never blocks. A full queue records the notice as failed."""
        with self._lock:
            if self._stop.is_set():
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="loa-alert-webhook", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(notice)
        except queue.Full:
            log.error("alert webhook queue full; alert %s %s not sent", notice.alert, notice.kind)
            self._record(notice, "failed: too many notices waiting")

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the notice in flight (retries are cut short); unsent ones stay `pending`."""
        with self._lock:
            self._stop.set()
            thread = self._thread
        if thread is not None:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                pass
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            notice = self._queue.get()
            if notice is None:
                return
            outcome = self._deliver(notice)
            self._record(notice, outcome)

    def _deliver(self, notice: Notice) -> str:
        error = "not tried"
        delay = self._backoff
        for attempt in range(1, self._attempts + 1):
            request = urllib.request.Request(
                self.url, data=notice.to_json(), method="POST",
                headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "loa-controller"},
            )
            try:
                with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310 - http(s) only
                    if 200 <= answer.status < 300:
                        return "sent"
                    error = f"HTTP {answer.status}"
            except urllib.error.HTTPError as exc:
                error = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError, ValueError) as exc:
                error = str(getattr(exc, "reason", exc))
            log.warning("alert webhook attempt %d/%d for alert %s failed: %s", attempt, self._attempts,
                        notice.alert, error)
            if attempt < self._attempts and self._stop.wait(delay):
                break
            delay *= 2
        log.error("alert webhook gave up on alert %s (%s): %s", notice.alert, notice.kind, error)
        return f"failed: {error}"[:300]

    def _record(self, notice: Notice, outcome: str) -> None:
        try:
            with session_scope(self._engine) as session:
                alert = session.get(Alert, notice.alert)
                if alert is None:
                    return
                if notice.kind == "opened":
                    alert.notify_opened = outcome
                else:
                    alert.notify_closed = outcome
                session.add(alert)
                session.commit()
        except Exception:  # noqa: BLE001 - the sender thread must survive a database hiccup
            log.exception("cannot record webhook outcome of alert %s", notice.alert)


class AlertMonitor:
    """The periodic check plus its webhook; `close()` stops the webhook thread."""

    def __init__(self, engine: Engine, clock: Clock, offline_after_s: float, webhook: Webhook | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.offline_after_s = offline_after_s
        self.webhook = webhook

    def check(self) -> AlertChanges:
        now = self.clock()
        with session_scope(self.engine) as session:
            changes = check_alerts(session, now, self.offline_after_s)
            if self.webhook is None or not (changes.opened or changes.closed):
                return changes
            nodes = {n.id: n for n in session.exec(select(Node)).all()}
            notices = []
            for kind, rows in (("opened", changes.opened), ("closed", changes.closed)):
                for alert in rows:
                    assert alert.id is not None
                    if kind == "opened":
                        alert.notify_opened = "pending"
                    else:
                        alert.notify_closed = "pending"
                    session.add(alert)
                    node = nodes.get(alert.node_id)
                    notices.append(Notice(alert.id, kind, alert.node_id, node.name if node else None,
                                          node.zone_id if node else None, alert.offline_since, now))
            session.commit()
            for alert in changes.opened + changes.closed:
                session.refresh(alert)  # readable by the caller after the session closes
        for notice in notices:
            log.warning("node %s offline alert %s", notice.node, notice.kind)
            self.webhook.submit(notice)
        return changes

    def run(self) -> None:
        """The scheduler job: never raises (APScheduler would only log it anyway)."""
        try:
            self.check()
        except Exception:  # noqa: BLE001
            log.exception("offline alert check failed")

    def close(self) -> None:
        if self.webhook is not None:
            self.webhook.close()


def add_alert_job(scheduler: BaseScheduler, settings: ControllerSettings, engine: Engine, clock: Clock) -> AlertMonitor:
    """Add the alert check to the controller's one scheduler; the caller closes the returned monitor."""
    webhook = None
    if settings.alert_webhook_url:
        webhook = Webhook(settings.alert_webhook_url, engine, timeout_s=settings.alert_webhook_timeout_s,
                          attempts=settings.alert_webhook_attempts)
    monitor = AlertMonitor(engine, clock, settings.alert_offline_after_s, webhook)
    add_interval_job(
        scheduler, monitor.run, seconds=settings.alert_check_interval_s, job_id=ALERT_JOB_ID, name="offline alerts"
    )
    return monitor


# -- views for the dashboard and the API --------------------------------------------------


def _public(session: Session, rows: list[Alert]) -> list[AlertPublic]:
    ids = {a.node_id for a in rows}
    nodes = {n.id: n for n in session.exec(select(Node).where(col(Node.id).in_(ids))).all()} if ids else {}
    out = []
    for a in rows:
        node = nodes.get(a.node_id)
        data = a.model_dump()
        out.append(AlertPublic(**data, node_name=node.name if node else None, zone_id=node.zone_id if node else None))
    return out


def open_alerts(session: Session) -> list[AlertPublic]:
    """Alerts not closed yet, newest first."""
    query = select(Alert).where(col(Alert.closed_at).is_(None))
    query = query.order_by(col(Alert.opened_at).desc(), col(Alert.id).desc())
    return _public(session, list(session.exec(query).all()))


def alert_history(
    session: Session, *, node_id: str | None = None, is_open: bool | None = None, limit: int = 100
) -> list[AlertPublic]:
    """Alerts newest first, optionally of one node and only open (True) or closed (False) ones."""
    query = select(Alert)
    if node_id is not None:
        query = query.where(col(Alert.node_id) == node_id)
    if is_open is True:
        query = query.where(col(Alert.closed_at).is_(None))
    elif is_open is False:
        query = query.where(col(Alert.closed_at).is_not(None))
    query = query.order_by(col(Alert.opened_at).desc(), col(Alert.id).desc()).limit(max(1, min(limit, 1000)))
    return _public(session, list(session.exec(query).all()))


__all__ = [
    "ALERT_JOB_ID",
    "AlertChanges",
    "AlertMonitor",
    "Notice",
    "Webhook",
    "add_alert_job",
    "alert_history",
    "check_alerts",
    "is_down",
    "open_alerts",
]
