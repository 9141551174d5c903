"""Relays after the fact: open deliveries swept once the relay ended, and relays in a
node's timeline reconciled (re-send what it lost, cancel what it should not hold)."""

from __future__ import annotations

from sqlmodel import select

from controller.fleet import make_scheduler
from controller.ingest import CANCEL_SWEEP_DETAIL, SWEEP_DETAIL
from controller.models import RelayDelivery
from controller.relays import sweep_relays
from protocol.commands import CommandKind
from protocol.reports import EventKind, NodeEvent, NodeTimeline, StagedRelay
from protocol.signing import Verifier
from protocol.topics import node_cmd, node_events, node_timeline
from tests.controller.conftest import Env
from tests.controller.programme_helpers import commands
from tests.controller.test_relays import URL, body


def relay_states(env: Env, relay_id: int) -> dict[str, tuple[str, str | None]]:
    with env.session() as s:
        rows = s.exec(select(RelayDelivery).where(RelayDelivery.relay_id == relay_id)).all()
        return {r.node_id: (r.state, r.detail) for r in rows}


def relay_event(env: Env, node: str, cmd: str, relay: str, kind: EventKind) -> None:
    msg = NodeEvent(node=node, cmd=cmd, relay=relay, event=kind, at=env.clock())
    env.ctx.fleet.on_event(node_events(node), msg.to_json())


def test_open_relay_deliveries_are_swept_after_the_end(env: Env, verifier: Verifier) -> None:
    relay = env.client.post(URL, json=body()).json()  # 15:05-16:00, thon-dong: dong-1..3
    ((_, cmd),) = commands(verifier, env.publisher)
    relay_event(env, "dong-1", cmd.id, relay["relay_id"], EventKind.FINISHED)
    relay_event(env, "dong-2", cmd.id, relay["relay_id"], EventKind.STARTED)
    grace = env.ctx.settings.expiry_grace_s
    env.clock.advance(3600 + grace - 1)  # 15:05 + 60 min - 1 s: ended, but within the grace
    with env.session() as s:
        assert sweep_relays(s, env.clock(), grace) == 0
    env.clock.advance(2)
    (job,) = make_scheduler(env.ctx.settings, env.ctx.engine, env.clock).get_jobs()
    job.func()  # the sweep as the scheduler runs it
    assert relay_states(env, relay["id"]) == {
        "dong-1": ("finished", None), "dong-2": ("expired", SWEEP_DETAIL), "dong-3": ("expired", SWEEP_DETAIL),
    }  # fmt: skip
    with env.session() as s:
        assert sweep_relays(s, env.clock(), grace) == 0  # idempotent
    # the node's own late report beats the sweep's guess
    relay_event(env, "dong-3", cmd.id, relay["relay_id"], EventKind.FINISHED)
    assert relay_states(env, relay["id"])["dong-3"] == ("finished", None)


def test_cancelled_relay_deliveries_are_swept_as_cancelled(env: Env) -> None:
    relay = env.client.post(URL, json=body()).json()
    assert env.client.post(f"{URL}/{relay['id']}/cancel").status_code == 200
    env.clock.advance(3600 + env.ctx.settings.expiry_grace_s + 1)
    with env.session() as s:
        assert sweep_relays(s, env.clock(), env.ctx.settings.expiry_grace_s) == 3
        s.commit()
    assert set(relay_states(env, relay["id"]).values()) == {("cancelled", CANCEL_SWEEP_DETAIL)}


def feed(env: Env, node: str, relays: list[StagedRelay]) -> None:
    msg = NodeTimeline(node=node, at=env.clock(), relays=relays)
    env.ctx.fleet.on_timeline(node_timeline(node), msg.to_json())


def test_timeline_reconciles_relays(env: Env, verifier: Verifier) -> None:
    relay = env.client.post(URL, json=body()).json()
    ((_, first),) = commands(verifier, env.publisher)
    assert first.relay is not None
    held = StagedRelay(cmd=first.id, relay=relay["relay_id"], start_at=first.relay.start_at, end_at=first.relay.end_at)
    # a node holding the relay: nothing to do
    feed(env, "dong-1", [held])
    assert len(env.publisher.published) == 1
    # a node that lost it (re-flashed) gets it again on its own topic, with a new command id
    feed(env, "dong-2", [])
    ((topic, resent),) = commands(verifier, env.publisher, start=1)
    assert topic == node_cmd("dong-2") and resent.kind is CommandKind.RELAY and resent.relay is not None
    assert resent.relay.relay_id == relay["relay_id"] and resent.id != first.id
    assert resent.relay.url == first.relay.url and resent.expires_at == first.relay.end_at
    with env.session() as s:
        row = s.exec(select(RelayDelivery).where(RelayDelivery.node_id == "dong-2")).one()
        assert row.command_id == resent.id  # its later events find the delivery
    # a relay the controller does not know, and a cancelled one, are cancelled
    stranger = StagedRelay(cmd="c" * 32, relay="relay:999", start_at=first.relay.start_at, end_at=first.relay.end_at)
    feed(env, "dong-3", [held, stranger])
    ((topic, cancel),) = commands(verifier, env.publisher, start=2)
    assert topic == node_cmd("dong-3") and cancel.cancel is not None and cancel.cancel.occurrences == ["relay:999"]
    env.client.post(f"{URL}/{relay['id']}/cancel")
    count = len(env.publisher.published)
    feed(env, "dong-1", [held])
    ((topic, cancel),) = commands(verifier, env.publisher, start=count)
    assert topic == node_cmd("dong-1") and cancel.cancel is not None
    assert cancel.cancel.occurrences == [relay["relay_id"]]


def test_ended_or_finished_relays_are_not_resent(env: Env, verifier: Verifier) -> None:
    relay = env.client.post(URL, json=body()).json()
    ((_, first),) = commands(verifier, env.publisher)
    relay_event(env, "dong-1", first.id, relay["relay_id"], EventKind.FINISHED)
    feed(env, "dong-1", [])
    assert len(env.publisher.published) == 1
    env.clock.advance(3600 + 301)  # past end_at
    feed(env, "dong-2", [])
    assert len(env.publisher.published) == 1
