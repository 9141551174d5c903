"""Scheduled announcements reach the nodes exactly once: horizon, recurrence, lease, misfires."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from controller.dispatcher import DISPATCH_JOB_ID, add_dispatch_job
from controller.fleet import make_scheduler
from controller.lease import DISPATCHER_LEASE, acquire
from controller.models import Delivery, DispatchedOccurrence
from protocol.commands import CommandKind
from protocol.signing import Verifier
from tests.controller.conftest import Env
from tests.controller.programme_helpers import commands, minutes, once, schedule, second_app


def test_once_is_dispatched_within_the_horizon_exactly_once(env: Env, verifier: Verifier) -> None:
    play_at = env.clock() + minutes(30)
    body = once(env, play_at)
    assert body["status"] == "scheduled" and body["deliveries"] == [] and body["warnings"] is None
    assert body["schedule"]["at"] == "2025-07-01T15:30:00+07:00"  # as the official wrote it
    assert body["play_at"] == play_at.isoformat().replace("+00:00", "Z")
    assert env.publisher.published == []  # 30 min ahead: beyond the 10 min horizon

    env.clock.advance(19 * 60)  # 11 min before: still out
    assert env.ctx.dispatcher.tick().dispatched == []
    env.clock.advance(2 * 60)  # 9 min before: in
    key = "2025-07-01T15:30+07:00#1"
    assert env.ctx.dispatcher.tick().dispatched == [f"{body['id']}:{key}"]
    assert env.ctx.dispatcher.tick().dispatched == []  # second tick: nothing more

    ((topic, cmd),) = commands(verifier, env.publisher)
    assert topic == "loa/v1/zones/thon-dong/cmd" and cmd.kind is CommandKind.PLAY and cmd.play is not None
    assert cmd.play.occurrence == f"{body['id']}:{key}" and cmd.play.play_at == play_at
    assert cmd.expires_at == play_at + timedelta(seconds=300) and cmd.issued_at == env.clock()

    got = env.client.get(f"/api/v1/announcements/{body['id']}").json()
    assert [(d["node_id"], d["state"], d["occurrence"]) for d in got["deliveries"]] == [
        (n, "sent", key) for n in ("dong-1", "dong-2", "dong-3")
    ]
    assert {d["play_at"] for d in got["deliveries"]} == {play_at.isoformat().replace("+00:00", "Z")}


def test_created_inside_the_horizon_is_published_at_once(env: Env, verifier: Verifier) -> None:
    body = once(env, env.clock() + minutes(2))
    assert len(body["deliveries"]) == 3 and {d["state"] for d in body["deliveries"]} == {"sent"}
    assert [t for t, _ in commands(verifier, env.publisher)] == ["loa/v1/zones/thon-dong/cmd"]


def test_recurring_rule_dispatches_each_occurrence_once(env: Env, verifier: Verifier) -> None:
    # clock: 2025-07-01 15:00 in Vietnam; readings 15:10, 15:11:01.234 and 15:20, 15:21:01.234
    body = schedule(
        env,
        {"kind": "daily", "times": ["15:10", "15:20"], "start_date": "2025-07-01", "repeat": {"count": 2, "gap_s": 60}},
        targets={"zones": ["thon-bac"]},
    )
    seen: list[str] = []
    for _ in range(40):
        seen += env.ctx.dispatcher.tick().dispatched
        env.clock.advance(60)
    keys = [s.split(":", 1)[1] for s in seen]
    assert keys == ["2025-07-01T15:10+07:00#1", "2025-07-01T15:10+07:00#2", "2025-07-01T15:20+07:00#1", "2025-07-01T15:20+07:00#2"]
    cmds = commands(verifier, env.publisher)
    assert [c.play.occurrence for _, c in cmds if c.play] == [f"{body['id']}:{k}" for k in keys]
    with env.session() as s:
        rows = s.exec(select(Delivery).where(Delivery.announcement_id == body["id"])).all()
        assert sorted(d.occurrence or "" for d in rows) == sorted(keys)  # one node, one row per occurrence


def test_two_controllers_on_one_database_dispatch_once(env: Env, verifier: Verifier) -> None:
    with second_app(env.ctx.settings, env.clock) as other:
        body = once(env, env.clock() + minutes(30))
        env.clock.advance(25 * 60)
        first = env.ctx.dispatcher.tick()
        second = other.ctx.dispatcher.tick()
        assert first.ran and len(first.dispatched) == 1
        assert not second.ran  # the lease is held by the first controller
        # the holder goes silent: the other takes over after the lease TTL, and dispatches nothing twice
        env.clock.advance(31)
        second = other.ctx.dispatcher.tick()
        assert second.ran and second.dispatched == []
        assert not env.ctx.dispatcher.tick().ran
        # even without the lease, the unique occurrence row stops a second publish
        occ = env.ctx.dispatcher._due(env.clock() - minutes(1))
        assert occ == []
        assert other.publisher.published == []
    assert len(env.publisher.published) == 1
    with env.session() as s:
        assert len(s.exec(select(DispatchedOccurrence).where(DispatchedOccurrence.announcement_id == body["id"])).all()) == 1


def test_unique_row_blocks_a_racing_dispatch(env: Env) -> None:
    body = once(env, env.clock() + minutes(30))
    env.clock.advance(25 * 60)
    with second_app(env.ctx.settings, env.clock) as other:
        ((ann, occ),) = env.ctx.dispatcher._due(env.clock())
        ((ann2, occ2),) = other.ctx.dispatcher._due(env.clock())  # both saw it as due
        assert env.ctx.dispatcher._dispatch(ann, occ, env.clock()) is True
        assert other.ctx.dispatcher._dispatch(ann2, occ2, env.clock()) is False
        assert other.publisher.published == []
    assert ann.id == body["id"] and len(env.publisher.published) == 1


def test_lease_is_atomic_and_expires(env: Env) -> None:
    engine, now = env.ctx.engine, env.clock()
    assert acquire(engine, "t", "a", now, 10)
    assert not acquire(engine, "t", "b", now + timedelta(seconds=5), 10)
    assert acquire(engine, "t", "a", now + timedelta(seconds=5), 10)  # renewal
    assert acquire(engine, "t", "b", now + timedelta(seconds=16), 10)  # takeover
    assert not acquire(engine, "t", "a", now + timedelta(seconds=17), 10)
    assert DISPATCHER_LEASE == "dispatcher"


def test_restart_dispatches_late_but_unexpired_and_skips_expired(env: Env, verifier: Verifier) -> None:
    late = once(env, env.clock() + minutes(20), text="late")
    stale = once(env, env.clock() + minutes(12), text="stale")
    settings = env.ctx.settings
    # the controller is down from now; it comes back 100 s after `late` should have played
    env.clock.advance(21 * 60 + 40)
    with second_app(settings, env.clock) as restarted:
        report = restarted.ctx.dispatcher.tick()
        assert report.ran and [d.split(":")[0] for d in report.dispatched] == [str(late["id"])]
        ((_, cmd),) = commands(verifier, restarted.publisher)
        assert cmd.play is not None and cmd.play.play_at < env.clock() < cmd.expires_at
        assert restarted.ctx.dispatcher.tick().dispatched == []
    assert env.publisher.published == []
    assert stale["id"] != late["id"]


def test_failed_publish_is_retried_with_the_same_occurrence(env: Env, verifier: Verifier) -> None:
    env.publisher.fail_topics.add("loa/v1/zones/thon-dong/cmd")
    body = once(env, env.clock() + minutes(5))
    assert {d["state"] for d in body["deliveries"]} == {"pending"}
    env.publisher.fail_topics.clear()
    report = env.ctx.dispatcher.tick()
    assert report.retried == 3 and report.dispatched == []
    ((_, cmd),) = commands(verifier, env.publisher)
    assert cmd.play is not None and cmd.play.occurrence and cmd.play.occurrence.startswith(f"{body['id']}:")
    got = env.client.get(f"/api/v1/announcements/{body['id']}").json()
    assert {d["state"] for d in got["deliveries"]} == {"sent"}
    assert env.ctx.dispatcher.tick().retried == 0


def test_dispatch_job_configured(env: Env) -> None:
    scheduler = make_scheduler(env.ctx.settings, env.ctx.engine, env.clock)
    add_dispatch_job(scheduler, env.ctx.dispatcher, 5)
    job = scheduler.get_job(DISPATCH_JOB_ID)
    assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time >= 1
    assert job.trigger.interval == timedelta(seconds=5)


def test_background_dispatcher_runs_and_releases_its_lease(tmp_path, keys) -> None:
    """The lifespan's scheduler really ticks (short interval), and shutdown frees the lease."""
    import time

    import pytest
    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from controller.app import create_app
    from tests.controller.conftest import AUTH, make_settings
    from tests.controller.factories import FakeClock, FakePipeline, FakePublisher, seed_province

    settings = make_settings(tmp_path, keys[0], dispatch_interval_s=0.1)
    clock, publisher = FakeClock(), FakePublisher()
    app = create_app(settings, pipeline=FakePipeline(tmp_path / "state" / "audio"), publisher=publisher, clock=clock)
    with TestClient(app, headers=AUTH) as client:
        with Session(app.state.ctx.engine) as s:
            seed_province(s)
        at = (clock() + minutes(30)).isoformat()
        res = client.post("/api/v1/announcements", json={"text": "x", "targets": {"nodes": ["bac-1"]}, "schedule": {"at": at}})
        assert res.status_code == 201, res.text
        clock.advance(25 * 60)
        deadline = time.monotonic() + 5
        while not publisher.published and time.monotonic() < deadline:
            time.sleep(0.05)
        if not publisher.published:
            pytest.fail("the scheduled dispatcher did not publish the occurrence")
        engine = app.state.ctx.engine
    # released at shutdown: another holder gets it at once
    assert acquire(engine, DISPATCHER_LEASE, "someone-else", clock(), 30)
