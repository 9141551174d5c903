"""Offline alerts: opened after the threshold (injected clock), closed on return, webhook outcomes."""

from __future__ import annotations

import http.server
import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from pydantic import ValidationError
from sqlmodel import Session, select

from controller.alerts import ALERT_JOB_ID, AlertMonitor, Webhook, add_alert_job, alert_history, open_alerts
from controller.models import Alert, Node
from controller.settings import ControllerSettings
from tests.controller.conftest import Env, make_settings
from tests.speaker_agent.helpers import wait_until


@pytest.fixture
def settings(tmp_path: Path, keys: tuple[Path, Path]) -> ControllerSettings:
    # The app's own alert job stays out of the way: the tests run checks themselves.
    return make_settings(tmp_path, keys[0], alert_check_interval_s=3600)


class Hook:
    """A webhook receiver on 127.0.0.1; `statuses` (consumed in order, then 200) are its answers."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.statuses: list[int] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                outer.bodies.append(json.loads(self.rfile.read(length)))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/alerts"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


def set_node(env: Env, node_id: str, *, online: bool, seen_ago_s: float | None) -> None:
    with Session(env.ctx.engine) as session:
        node = session.get(Node, node_id)
        node.online = online
        node.last_seen = None if seen_ago_s is None else env.clock() - timedelta(seconds=seen_ago_s)
        session.add(node)
        session.commit()


def alerts(env: Env) -> list[Alert]:
    with Session(env.ctx.engine) as session:
        return list(session.exec(select(Alert).order_by(Alert.id)).all())


def test_alert_opens_after_the_threshold_and_closes_on_return(env: Env) -> None:
    monitor = AlertMonitor(env.ctx.engine, env.clock, offline_after_s=300)
    set_node(env, "dong-1", online=False, seen_ago_s=200)
    set_node(env, "dong-2", online=True, seen_ago_s=1000)  # online (retained state): not offline
    went_silent = env.clock() - timedelta(seconds=200)
    assert monitor.check().opened == [] and alerts(env) == []
    env.clock.advance(100)
    assert monitor.check().opened == []  # exactly 300 s: not yet "longer than"
    env.clock.advance(1)
    changes = monitor.check()
    [alert] = changes.opened
    assert alert.node_id == "dong-1" and alert.offline_since == went_silent and alert.opened_at == env.clock()
    assert alert.notify_opened is None  # no webhook configured
    env.clock.advance(600)
    assert monitor.check().opened == [] and len(alerts(env)) == 1  # one alert per outage
    with Session(env.ctx.engine) as session:
        [view] = open_alerts(session)
        assert view.node_name == "Cụm loa nhà văn hóa" and view.zone_id == "thon-dong"
    set_node(env, "dong-1", online=True, seen_ago_s=0)
    [closed] = monitor.check().closed
    assert closed.id == alert.id and closed.closed_at == env.clock()
    with Session(env.ctx.engine) as session:
        assert open_alerts(session) == []
        [past] = alert_history(session, node_id="dong-1")
        assert past.closed_at == env.clock() and alert_history(session, is_open=True) == []


def test_never_seen_nodes_do_not_alert_and_a_new_outage_is_a_new_alert(env: Env) -> None:
    monitor = AlertMonitor(env.ctx.engine, env.clock, offline_after_s=60)
    env.clock.advance(10_000)
    assert monitor.check().opened == []  # the seeded nodes were never heard
    set_node(env, "tay-1", online=False, seen_ago_s=61)
    first = monitor.check().opened[0]
    # Heard again (an event) but not online, then silent again past the threshold.
    set_node(env, "tay-1", online=False, seen_ago_s=0)
    env.clock.advance(61)
    changes = monitor.check()
    assert [a.id for a in changes.closed] == [first.id]
    [second] = changes.opened
    assert second.id != first.id and second.offline_since == env.clock() - timedelta(seconds=61)


def test_alerts_api(env: Env) -> None:
    monitor = AlertMonitor(env.ctx.engine, env.clock, offline_after_s=300)
    set_node(env, "bac-1", online=False, seen_ago_s=301)
    set_node(env, "tay-2", online=False, seen_ago_s=400)
    monitor.check()
    set_node(env, "tay-2", online=True, seen_ago_s=0)
    monitor.check()
    all_ = env.client.get("/api/v1/alerts").json()["items"]
    assert sorted(a["node_id"] for a in all_) == ["bac-1", "tay-2"]
    [opened] = env.client.get("/api/v1/alerts", params={"open": "true"}).json()["items"]
    assert opened["node_id"] == "bac-1" and opened["kind"] == "offline" and opened["closed_at"] is None
    assert opened["node_name"] == "Cụm loa thôn Bắc"
    [closed] = env.client.get("/api/v1/alerts", params={"open": "false"}).json()["items"]
    assert closed["node_id"] == "tay-2"
    assert env.client.get("/api/v1/alerts", params={"node": "tay-2"}).json()["items"][0]["id"] == closed["id"]
    assert env.client.get("/api/v1/alerts", params={"limit": 0}).status_code == 422
    assert env.client.get("/api/v1/alerts", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_webhook_gets_opened_and_closed_notices(env: Env, hook: Hook) -> None:
    webhook = Webhook(hook.url, env.ctx.engine, timeout_s=5, attempts=3, backoff_s=0.01)
    monitor = AlertMonitor(env.ctx.engine, env.clock, offline_after_s=300, webhook=webhook)
    try:
        set_node(env, "dong-3", online=False, seen_ago_s=500)
        [alert] = monitor.check().opened
        assert wait_until(lambda: alerts(env)[0].notify_opened == "sent")
        [body] = hook.bodies
        assert body == {
            "alert": alert.id, "kind": "opened", "node": "dong-3", "name": "Cụm loa trường học", "zone": "thon-dong",
            "offline_since": (env.clock() - timedelta(seconds=500)).isoformat().replace("+00:00", "Z"),
            "at": env.clock().isoformat().replace("+00:00", "Z"),
        }
        set_node(env, "dong-3", online=True, seen_ago_s=0)
        monitor.check()
        assert wait_until(lambda: alerts(env)[0].notify_closed == "sent")
        assert [b["kind"] for b in hook.bodies] == ["opened", "closed"]
    finally:
        monitor.close()


def test_webhook_retries_then_records_success_or_failure(env: Env, hook: Hook) -> None:
    webhook = Webhook(hook.url, env.ctx.engine, timeout_s=5, attempts=3, backoff_s=0.01)
    monitor = AlertMonitor(env.ctx.engine, env.clock, offline_after_s=300, webhook=webhook)
    try:
        hook.statuses = [503]  # one failure, then success
        set_node(env, "dong-1", online=False, seen_ago_s=301)
        monitor.check()
        assert wait_until(lambda: alerts(env)[0].notify_opened == "sent")
        assert len(hook.bodies) == 2
        hook.statuses = [500, 500, 500]  # every try fails: bounded, recorded
        set_node(env, "dong-2", online=False, seen_ago_s=301)
        monitor.check()
        assert wait_until(lambda: (alerts(env)[1].notify_opened or "").startswith("failed"))
        assert alerts(env)[1].notify_opened == "failed: HTTP 500" and len(hook.bodies) == 5
    finally:
        monitor.close()


def test_unreachable_webhook_never_blocks_the_check(env: Env) -> None:
    closed = Hook()
    url = closed.url
    closed.close()  # nothing listens there any more
    webhook = Webhook(url, env.ctx.engine, timeout_s=1, attempts=2, backoff_s=0.01)
    monitor = AlertMonitor(env.ctx.engine, env.clock, offline_after_s=300, webhook=webhook)
    try:
        set_node(env, "bac-1", online=False, seen_ago_s=301)
        [alert] = monitor.check().opened  # returns at once; the sending happens elsewhere
        assert alerts(env)[0].notify_opened in ("pending",) or alerts(env)[0].notify_opened.startswith("failed")
        assert wait_until(lambda: (alerts(env)[0].notify_opened or "").startswith("failed: "))
    finally:
        monitor.close()


def test_add_alert_job_schedules_the_check_with_misfire_grace(env: Env, settings: ControllerSettings) -> None:
    scheduler = BackgroundScheduler()
    tuned = settings.model_copy(update={"alert_check_interval_s": 15, "alert_webhook_url": "http://127.0.0.1:9/x"})
    monitor = add_alert_job(scheduler, tuned, env.ctx.engine, env.clock)
    try:
        job = scheduler.get_job(ALERT_JOB_ID)
        assert job.misfire_grace_time == 30 and job.max_instances == 1 and job.coalesce
        assert job.trigger.interval == timedelta(seconds=15)
        assert monitor.webhook is not None and monitor.webhook.url == "http://127.0.0.1:9/x"
        assert monitor.offline_after_s == 300
    finally:
        monitor.close()


def test_webhook_url_must_be_http(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    with pytest.raises(ValidationError):
        make_settings(tmp_path, keys[0], alert_webhook_url="ftp://example/x")
    assert make_settings(tmp_path, keys[0]).alert_webhook_url == ""
