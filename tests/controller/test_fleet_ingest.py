"""Batched ingestion: the queue, the worker, one transaction per batch, the drop policy."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlmodel import select

from controller import fleet as fleet_module
from controller import ingest
from controller.fleet import FleetIngest
from controller.ingest_queue import IngestQueue, IngestWorker
from controller.models import Delivery, Node, NodeEventRecord
from protocol.reports import EventKind, NodeEvent, NodeState, NodeStatus, Telemetry
from protocol.topics import node_events, node_state, node_telemetry
from tests.controller.conftest import Env


class Recorder:
    """A change sink at the edge of the unit under test: records what the hub would get."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        self.items.append((kind, data))


def announce(env: Env) -> tuple[int, dict[str, str]]:
    res = env.client.post("/api/v1/announcements", json={"text": "Họp thôn", "targets": {"zones": ["thon-dong"]}})
    assert res.status_code == 201, res.text
    ann = res.json()["id"]
    with env.session() as s:
        cmds = {d.node_id: d.command_id for d in s.exec(select(Delivery).where(Delivery.announcement_id == ann)).all()}
    return ann, cmds


def ev(env: Env, node: str, cmd: str, ann: int, kind: EventKind) -> tuple[str, bytes]:
    return node_events(node), NodeEvent(node=node, cmd=cmd, announcement=ann, event=kind, at=env.clock()).to_json()


def delivery_states(env: Env, ann: int) -> dict[str, str]:
    with env.session() as s:
        return {d.node_id: d.state for d in s.exec(select(Delivery).where(Delivery.announcement_id == ann)).all()}


@contextmanager
def count_transactions(env: Env) -> Iterator[list[int]]:
    counter = [0]

    def on_begin(_conn: Any) -> None:
        counter[0] += 1

    sa_event.listen(env.ctx.engine, "begin", on_begin)
    try:
        yield counter
    finally:
        sa_event.remove(env.ctx.engine, "begin", on_begin)


def test_a_batch_is_one_transaction_and_states_never_regress(env: Env) -> None:
    ann, cmds = announce(env)
    sink = Recorder()
    fleet = FleetIngest(env.ctx.engine, env.clock, hub=sink)
    messages = []
    for node, cmd in sorted(cmds.items()):
        for kind in (EventKind.RECEIVED, EventKind.READY, EventKind.STARTED, EventKind.FINISHED, EventKind.STARTED):
            messages.append(ev(env, node, cmd, ann, kind))
    messages.append((node_state("dong-1"), NodeState(state=NodeStatus.ONLINE, at=env.clock()).to_json()))
    reports = [r for topic, payload in messages if (r := fleet._report(topic, payload, topic.split("/")[-1]))]
    assert len(reports) == len(messages)
    with count_transactions(env) as begins:
        changes = fleet.apply(reports)
    assert begins[0] == 1  # 16 reports, one write transaction
    assert delivery_states(env, ann) == {n: "finished" for n in cmds}  # the late `started` did not regress
    with env.session() as s:
        assert len(s.exec(select(NodeEventRecord)).all()) == 15
    moved = [d for k, d in sink.items if k == "delivery"]
    assert [d["state"] for d in moved if d["node_id"] == "dong-1"] == ["received", "ready", "started", "finished"]
    assert changes.deliveries == moved
    nodes = [d for k, d in sink.items if k == "node"]
    assert nodes == [{"id": "dong-1", "online": True, "last_seen": env.clock().isoformat(), "telemetry": None,
                      "agent_version": None}]  # fmt: skip


def test_worker_applies_queued_reports_in_order_and_stops_cleanly(env: Env) -> None:
    ann, cmds = announce(env)
    sink = Recorder()
    fleet = FleetIngest(env.ctx.engine, env.clock, hub=sink, batch_max=3)
    fleet.start()
    try:
        for kind in (EventKind.RECEIVED, EventKind.READY, EventKind.STARTED, EventKind.PREEMPTED):
            fleet.receive(*ev(env, "dong-2", cmds["dong-2"], ann, kind))
        t = Telemetry(node="dong-3", at=env.clock(), agent_version="0.3.0", uptime_s=5, volume=40)
        fleet.receive(node_telemetry("dong-3"), t.to_json())
        assert fleet.flush(10)
    finally:
        fleet.stop()
    assert not any(th.name == "fleet-ingest" for th in threading.enumerate())
    assert delivery_states(env, ann)["dong-2"] == "preempted"
    assert [d["state"] for k, d in sink.items if k == "delivery"] == ["received", "ready", "started", "preempted"]
    node_views = [d for k, d in sink.items if k == "node"]
    assert node_views[-1]["id"] == "dong-3" and node_views[-1]["telemetry"]["volume"] == 40
    # after stop, reports are applied at once again (nothing is lost between stop and shutdown)
    fleet.receive(*ev(env, "dong-1", cmds["dong-1"], ann, EventKind.FINISHED))
    assert delivery_states(env, ann)["dong-1"] == "finished"


def test_stop_drains_what_is_queued(env: Env) -> None:
    ann, cmds = announce(env)
    gate = threading.Event()
    fleet = FleetIngest(env.ctx.engine, env.clock)
    real_apply = fleet.apply
    fleet.apply = lambda reports: (gate.wait(10), real_apply(reports))[1]  # type: ignore[method-assign]
    fleet.start()
    for node, cmd in cmds.items():
        fleet.receive(*ev(env, node, cmd, ann, EventKind.FINISHED))
    gate.set()
    fleet.stop()
    assert delivery_states(env, ann) == {n: "finished" for n in cmds}


def test_full_queue_drops_telemetry_at_once_and_logs_other_drops(
    env: Env, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, cmds = announce(env)
    monkeypatch.setattr(fleet_module, "BLOCK_WHEN_FULL_S", 0.05)
    gate = threading.Event()
    fleet = FleetIngest(env.ctx.engine, env.clock, queue_max=1, batch_max=1)
    real_apply = fleet.apply
    fleet.apply = lambda reports: (gate.wait(10), real_apply(reports))[1]  # type: ignore[method-assign]
    fleet.start()
    try:
        fleet.receive(*ev(env, "dong-1", cmds["dong-1"], ann, EventKind.RECEIVED))  # taken by the blocked worker
        assert fleet.queue.wait_idle(0.0) is False
        fleet.receive(*ev(env, "dong-1", cmds["dong-1"], ann, EventKind.READY))  # fills the queue
        with caplog.at_level(logging.WARNING, logger="controller.fleet"):
            t = Telemetry(node="dong-2", at=env.clock(), agent_version="0.3.0", uptime_s=5)
            fleet.receive(node_telemetry("dong-2"), t.to_json())
            fleet.receive(node_state("dong-3"), NodeState(state=NodeStatus.OFFLINE).to_json())
        assert fleet.queue.dropped == 2
        assert "telemetry dropped" in caplog.text
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert errors and "state of node dong-3 dropped" in errors[0].getMessage()
    finally:
        gate.set()
        fleet.stop()
    assert delivery_states(env, ann)["dong-1"] == "ready"


def test_one_bad_report_does_not_sink_its_batch(env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    ann, cmds = announce(env)
    real = ingest._apply_state

    def poisoned(session: Any, report: ingest.Report, *args: Any) -> None:
        if report.node_id == "dong-2":
            raise RuntimeError("poison")
        real(session, report, *args)

    monkeypatch.setattr(ingest, "_apply_state", poisoned)
    fleet = FleetIngest(env.ctx.engine, env.clock)
    messages = [
        ev(env, "dong-1", cmds["dong-1"], ann, EventKind.STARTED),
        (node_state("dong-2"), NodeState(state=NodeStatus.ONLINE).to_json()),
        (node_state("dong-3"), NodeState(state=NodeStatus.ONLINE).to_json()),
    ]
    reports = [r for topic, payload in messages if (r := fleet._report(topic, payload, topic.split("/")[-1]))]
    with caplog.at_level(logging.ERROR, logger="controller.fleet"):
        fleet.apply(reports)
    assert "retrying them one by one" in caplog.text
    assert delivery_states(env, ann)["dong-1"] == "started"
    with env.session() as s:
        assert {n.id: n.online for n in s.exec(select(Node).where(Node.zone_id == "thon-dong")).all()} == {
            "dong-1": False, "dong-2": False, "dong-3": True,
        }  # fmt: skip


def test_ingest_queue_batches_and_idles() -> None:
    q: IngestQueue[int] = IngestQueue(5)
    for i in range(5):
        assert q.put(i)
    assert not q.put(99, block_s=0.01) and q.dropped == 1
    assert q.take(3, timeout=0) == [0, 1, 2]
    assert q.take(3, timeout=0) == [3, 4]
    assert not q.wait_idle(0.01)
    q.done(5)
    assert q.wait_idle(0.01)
    assert q.take(3, timeout=0.01) == []
    q.close()
    assert not q.put(1) and q.take(3, timeout=1) == []


def test_worker_survives_a_failing_batch(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[list[int]] = []

    def apply(batch: list[int]) -> None:
        seen.append(batch)
        if 0 in batch:
            raise RuntimeError("boom")

    q: IngestQueue[int] = IngestQueue(10)
    worker = IngestWorker(q, apply, batch_max=10, name="test-ingest")
    worker.start()
    try:
        q.put(0)
        assert q.wait_idle(5)
        q.put(1)
        assert q.wait_idle(5)
    finally:
        worker.stop()
    assert seen == [[0], [1]]
    assert "applying 1 node report(s) failed" in caplog.text


def test_the_app_starts_and_stops_its_ingest_worker(tmp_path, keys) -> None:
    """With its own MQTT link (no broker listening: the link keeps retrying), the app runs
    the ingest worker while up and leaves no ingest thread behind when it stops."""
    from fastapi.testclient import TestClient

    from controller.app import create_app
    from loa.broker import free_port
    from tests.controller.conftest import AUTH, make_settings
    from tests.controller.factories import FakeClock, FakePipeline

    settings = make_settings(tmp_path, keys[0], mqtt_port=free_port())
    app = create_app(settings, pipeline=FakePipeline(tmp_path / "state" / "audio"), clock=FakeClock())
    with TestClient(app, headers=AUTH):
        assert [t.name for t in threading.enumerate()].count("fleet-ingest") == 1
        fleet = app.state.ctx.fleet
        fleet.receive(node_state("dong-1"), NodeState(state=NodeStatus.ONLINE).to_json())  # unknown node: logged, dropped
        assert fleet.flush(5)
    assert "fleet-ingest" not in [t.name for t in threading.enumerate()]
    fleet.start()  # a stopped ingest can start again, on a fresh queue
    try:
        assert not fleet.queue.closed and "fleet-ingest" in [t.name for t in threading.enumerate()]
    finally:
        fleet.stop()
    assert "fleet-ingest" not in [t.name for t in threading.enumerate()]
