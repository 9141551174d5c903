"""Node state, telemetry and events turned into the fleet view and delivery states."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlmodel import select

from controller.fleet import SWEEP_DETAIL, make_scheduler, should_replace, sweep_expired
from controller.models import Delivery, Node, NodeEventRecord
from protocol.reports import EventKind, NodeEvent, NodeState, NodeStatus, Telemetry
from protocol.topics import node_events, node_state, node_telemetry
from tests.controller.conftest import Env


def announce(env: Env, **targets: object) -> dict:
    res = env.client.post("/api/v1/announcements", json={"text": "Họp thôn", "targets": targets})
    assert res.status_code == 201, res.text
    return res.json()


def event(env: Env, node: str, body: dict, kind: EventKind, *, cmd: str | None = None, claimed: str | None = None, detail: str | None = None) -> None:
    msg = NodeEvent(
        node=claimed or node,
        cmd=cmd or _cmd_id(env, node, body["id"]),
        announcement=body["id"],
        event=kind,
        at=env.clock(),
        detail=detail,
    )
    env.ctx.fleet.on_event(node_events(node), msg.to_json())


def _cmd_id(env: Env, node: str, ann_id: int) -> str:
    with env.session() as s:
        return s.exec(select(Delivery.command_id).where(Delivery.node_id == node, Delivery.announcement_id == ann_id)).one()


def states(env: Env, ann_id: int) -> dict[str, str]:
    with env.session() as s:
        return {d.node_id: d.state for d in s.exec(select(Delivery).where(Delivery.announcement_id == ann_id)).all()}


def node(env: Env, node_id: str) -> Node:
    with env.session() as s:
        found = s.get(Node, node_id)
        assert found is not None
        return found


def test_state_online_offline(env: Env) -> None:
    at = env.clock()
    env.ctx.fleet.on_state(node_state("dong-1"), NodeState(state=NodeStatus.ONLINE, at=at, agent_version="0.1.0").to_json())
    n = node(env, "dong-1")
    assert n.online and n.last_seen == at and n.agent_version == "0.1.0"
    view = env.client.get("/api/v1/nodes/dong-1").json()
    assert view["online"] is True and view["agent_version"] == "0.1.0"
    env.clock.advance(60)
    env.ctx.fleet.on_state(node_state("dong-1"), NodeState(state=NodeStatus.OFFLINE).to_json())  # the last will
    n = node(env, "dong-1")
    assert not n.online and n.last_seen == at
    # a stale retained "online" from before the last accepted one is ignored
    env.ctx.fleet.on_state(node_state("dong-1"), NodeState(state=NodeStatus.ONLINE, at=at + timedelta(seconds=30)).to_json())
    env.ctx.fleet.on_state(node_state("dong-1"), NodeState(state=NodeStatus.ONLINE, at=at - timedelta(seconds=30)).to_json())
    assert node(env, "dong-1").online


def test_telemetry(env: Env) -> None:
    t = Telemetry(node="tay-1", at=env.clock(), agent_version="0.2.0", uptime_s=12.5, cpu_temp_c=51.0, volume=80)
    env.ctx.fleet.on_telemetry(node_telemetry("tay-1"), t.to_json())
    view = env.client.get("/api/v1/nodes/tay-1").json()
    assert view["online"] is True and view["agent_version"] == "0.2.0"
    assert view["telemetry"]["cpu_temp_c"] == 51.0 and view["telemetry"]["uptime_s"] == 12.5


def test_event_progression_and_out_of_order(env: Env) -> None:
    body = announce(env, zones=["thon-dong"])
    event(env, "dong-1", body, EventKind.RECEIVED)
    event(env, "dong-1", body, EventKind.READY)
    event(env, "dong-2", body, EventKind.FINISHED)
    event(env, "dong-2", body, EventKind.STARTED)  # late: must not regress
    event(env, "dong-2", body, EventKind.RECEIVED)
    event(env, "dong-3", body, EventKind.FAILED, detail="sha256 mismatch")
    event(env, "dong-3", body, EventKind.FINISHED)  # first final state wins
    assert states(env, body["id"]) == {"dong-1": "ready", "dong-2": "finished", "dong-3": "failed"}
    got = env.client.get(f"/api/v1/announcements/{body['id']}").json()
    assert {d["node_id"]: d["detail"] for d in got["deliveries"]}["dong-3"] == "sha256 mismatch"
    assert got["summary"] == {"ready": 1, "finished": 1, "failed": 1}
    with env.session() as s:
        assert len(s.exec(select(NodeEventRecord)).all()) == 7
    assert node(env, "dong-1").last_seen == env.clock()


def test_event_matched_by_command_id_without_announcement(env: Env) -> None:
    body = announce(env, nodes=["tay-1"])
    msg = NodeEvent(node="tay-1", cmd=_cmd_id(env, "tay-1", body["id"]), event=EventKind.STARTED, at=env.clock())
    env.ctx.fleet.on_event(node_events("tay-1"), msg.to_json())
    assert states(env, body["id"]) == {"tay-1": "started"}


@pytest.mark.parametrize(
    ("topic", "payload", "log_text"),
    [
        (node_events("dong-1"), b"{not json", "malformed"),
        (node_events("dong-1"), b'{"v": 1, "node": "dong-1"}', "malformed"),
        (node_events("dong-1"), json.dumps({"v": 2, "node": "dong-1", "cmd": "x" * 10, "event": "finished", "at": "2025-07-01T08:00:00Z"}).encode(), "malformed"),
        (node_events("dong-1"), b"x" * 70_000, "malformed"),
        (node_events("dong-1"), json.dumps({"v": 1, "node": "dong-1", "cmd": "c" * 32, "announcement": 2**70, "event": "finished", "at": "2025-07-01T08:00:00Z"}).encode(), "out of range"),
        (node_events("ghost-1"), None, "not provisioned"),
        (node_events("dong-1"), "claims-dong-2", "claims to come from node 'dong-2'"),
        ("loa/v1/nodes/Dong-1/events", None, "ignoring message"),
        ("loa/v1/nodes/dong-1/events/extra", None, "ignoring message"),
        (node_state("dong-1"), b'{"v": 1, "state": "sleeping"}', "malformed"),
        (node_telemetry("dong-1"), b'{"v": 1, "node": "dong-2", "at": "2025-07-01T08:00:00Z", "agent_version": "x", "uptime_s": 1}', "claims"),
    ],
)
def test_bad_reports_are_logged_and_ignored(env: Env, caplog: pytest.LogCaptureFixture, topic: str, payload: bytes | str | None, log_text: str) -> None:
    body = announce(env, zones=["thon-dong"])
    cmd = _cmd_id(env, "dong-1", body["id"])
    if payload is None or isinstance(payload, str):
        claimed = "dong-2" if payload == "claims-dong-2" else topic.split("/")[3]
        payload = NodeEvent(node=claimed, cmd=cmd, announcement=body["id"], event=EventKind.FINISHED, at=env.clock()).to_json()
    handler = {"state": env.ctx.fleet.on_state, "telemetry": env.ctx.fleet.on_telemetry}.get(topic.split("/")[-1], env.ctx.fleet.on_event)
    with caplog.at_level(logging.WARNING, logger="controller.fleet"):
        handler(topic, payload)
    assert log_text in caplog.text
    assert set(states(env, body["id"]).values()) == {"sent"}
    with env.session() as s:
        assert s.exec(select(NodeEventRecord)).all() == []
        assert all(n.last_telemetry is None and not n.online for n in s.exec(select(Node)).all())


def test_expiry_sweep_with_injected_clock(env: Env) -> None:
    body = announce(env, zones=["thon-tay"], nodes=["bac-1"])
    event(env, "tay-1", body, EventKind.FINISHED)
    event(env, "tay-2", body, EventKind.STARTED)
    grace = env.ctx.settings.expiry_grace_s
    env.clock.advance(600 + grace - 1)  # expired, but still within the grace
    with env.session() as s:
        assert sweep_expired(s, env.clock(), grace) == 0
    env.clock.advance(2)
    with env.session() as s:
        assert sweep_expired(s, env.clock(), grace) == 2
        assert sweep_expired(s, env.clock(), grace) == 0  # idempotent
    assert states(env, body["id"]) == {"tay-1": "finished", "tay-2": "expired", "bac-1": "expired"}
    detail = {d["node_id"]: d["detail"] for d in env.client.get(f"/api/v1/announcements/{body['id']}").json()["deliveries"]}
    assert detail["bac-1"] == SWEEP_DETAIL
    # a node's own final report (queued while we were away) beats the sweep's guess
    event(env, "bac-1", body, EventKind.FINISHED)
    event(env, "tay-2", body, EventKind.STARTED)
    assert states(env, body["id"]) == {"tay-1": "finished", "tay-2": "expired", "bac-1": "finished"}


def test_should_replace_rank() -> None:
    order = ["pending", "sent", "received", "ready", "started"]
    for i, a in enumerate(order):
        for b in order[i + 1 :] + ["finished", "failed", "expired", "preempted"]:
            assert should_replace(a, None, b) and not should_replace(b, None, a)
    assert not should_replace("finished", None, "failed")
    assert should_replace("expired", SWEEP_DETAIL, "finished")
    assert not should_replace("expired", "node said so", "finished")


def test_one_scheduler_job_configured(env: Env) -> None:
    scheduler = make_scheduler(env.ctx.settings, env.ctx.engine, env.clock)
    (job,) = scheduler.get_jobs()
    assert job.id == "expiry-sweep"
    assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time >= 1
    assert job.trigger.interval == timedelta(seconds=env.ctx.settings.expiry_sweep_s)


def test_background_sweep_runs(tmp_path, keys) -> None:
    """The lifespan's scheduler really sweeps (short interval, frozen clock far ahead)."""
    import time

    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from controller.app import create_app
    from tests.controller.conftest import AUTH, make_settings
    from tests.controller.factories import FakeClock, FakePipeline, FakePublisher, seed_province

    settings = make_settings(tmp_path, keys[0], expiry_sweep_s=0.1, expiry_grace_s=0)
    clock = FakeClock()
    app = create_app(settings, pipeline=FakePipeline(tmp_path / "state" / "audio"), publisher=FakePublisher(), clock=clock)
    with TestClient(app, headers=AUTH) as client:
        with Session(app.state.ctx.engine) as s:
            seed_province(s)
        ann = client.post("/api/v1/announcements", json={"text": "x", "targets": {"nodes": ["bac-1"]}, "expires_in_s": 10}).json()
        clock.advance(11)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if client.get(f"/api/v1/announcements/{ann['id']}").json()["deliveries"][0]["state"] == "expired":
                break
            time.sleep(0.05)
        else:
            pytest.fail("the scheduled sweep did not expire the delivery")
