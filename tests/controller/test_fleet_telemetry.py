"""Telemetry history: every accepted sample is stored, read back newest first, and pruned."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from controller.fleet import make_scheduler
from controller.ingest_history import MAX_HISTORY, prune_telemetry, telemetry_history
from controller.models import TelemetrySample
from protocol.reports import Telemetry
from protocol.topics import node_telemetry
from tests.controller.conftest import Env


def send(env: Env, node: str, volume: int) -> None:
    t = Telemetry(node=node, at=env.clock(), agent_version="0.3.0", uptime_s=60, volume=volume)
    env.ctx.fleet.on_telemetry(node_telemetry(node), t.to_json())


def test_samples_are_stored_and_read_newest_first(env: Env) -> None:
    start = env.clock()
    for volume in (10, 20, 30):
        send(env, "dong-1", volume)
        env.clock.advance(60)
    send(env, "dong-2", 99)
    # refused telemetry (an impostor) leaves no sample
    t = Telemetry(node="dong-3", at=env.clock(), agent_version="x", uptime_s=1)
    env.ctx.fleet.on_telemetry(node_telemetry("dong-1"), t.to_json())
    with env.session() as s:
        rows = telemetry_history(s, "dong-1")
        assert [r.data["volume"] for r in rows] == [30, 20, 10]
        assert rows[0].at == start + timedelta(seconds=120) and rows[0].data["agent_version"] == "0.3.0"
        assert [r.data["volume"] for r in telemetry_history(s, "dong-1", since=start + timedelta(seconds=60))] == [30, 20]
        assert [r.data["volume"] for r in telemetry_history(s, "dong-1", limit=1)] == [30]
        assert telemetry_history(s, "dong-1", limit=-5) == []
        assert len(telemetry_history(s, "dong-1", limit=MAX_HISTORY * 10)) == 3
        assert telemetry_history(s, "ghost") == []


def test_retention_prunes_old_samples_in_the_sweep(env: Env) -> None:
    send(env, "dong-1", 1)
    env.clock.advance(10 * 86400)
    send(env, "dong-1", 2)
    env.clock.advance(5 * 86400)  # the first sample is now 15 days old, the second 5
    with env.session() as s:
        assert prune_telemetry(s, env.clock(), 30) == 0
    scheduler = make_scheduler(env.ctx.settings, env.ctx.engine, env.clock)
    (job,) = scheduler.get_jobs()
    job.func()  # the sweep as the scheduler runs it (default retention: 14 days)
    with env.session() as s:
        assert [r.data["volume"] for r in s.exec(select(TelemetrySample)).all()] == [2]
