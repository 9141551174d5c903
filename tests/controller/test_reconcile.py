"""Node timelines reconciled against dispatched occurrences: re-send missing, cancel extras."""

from __future__ import annotations

from sqlmodel import select

from controller.models import Delivery
from protocol.commands import CommandKind
from protocol.reports import NodeTimeline, StagedEntry
from protocol.signing import Verifier
from protocol.topics import node_timeline
from tests.controller.conftest import Env
from tests.controller.programme_helpers import URL, commands, minutes, once


def feed(env: Env, node: str, staged: list[StagedEntry], claimed: str | None = None) -> None:
    msg = NodeTimeline(node=claimed or node, at=env.clock(), staged=staged)
    env.ctx.fleet.on_timeline(node_timeline(node), msg.to_json())


def test_missing_is_resent_and_unknown_cancelled(env: Env, verifier: Verifier) -> None:
    body = once(env, env.clock() + minutes(5))
    ((_, play),) = commands(verifier, env.publisher)
    assert play.play is not None and play.play.occurrence
    occ = play.play.occurrence
    stranger = StagedEntry(cmd="c" * 32, announcement=999, occurrence="999:2025-07-01T15:00+07:00#1", play_at=env.clock())
    feed(env, "dong-1", [stranger])
    (topic1, resent), (topic2, cancel) = commands(verifier, env.publisher, start=1)
    assert topic1 == topic2 == "loa/v1/nodes/dong-1/cmd"
    assert resent.kind is CommandKind.PLAY and resent.play is not None
    assert resent.play.occurrence == occ and resent.id != play.id
    assert resent.play.play_at == play.play.play_at and resent.expires_at == play.expires_at
    assert cancel.cancel is not None and cancel.cancel.occurrences == ["999:2025-07-01T15:00+07:00#1"]
    with env.session() as s:
        d = s.exec(select(Delivery).where(Delivery.node_id == "dong-1", Delivery.announcement_id == body["id"])).one()
        assert d.command_id == resent.id  # later events of the new command find the delivery

    # the node now holds it: nothing to do (idempotent)
    count = len(env.publisher.published)
    feed(env, "dong-1", [StagedEntry(cmd=resent.id, announcement=body["id"], occurrence=occ, play_at=env.clock())])
    assert len(env.publisher.published) == count


def test_cancelled_and_expired_are_not_resent(env: Env, verifier: Verifier) -> None:
    body = once(env, env.clock() + minutes(5))
    ((_, play),) = commands(verifier, env.publisher)
    occ = play.play.occurrence if play.play else None
    env.client.post(f"{URL}/{body['id']}/cancel")
    count = len(env.publisher.published)
    staged = StagedEntry(cmd=play.id, announcement=body["id"], occurrence=occ, play_at=env.clock())
    feed(env, "dong-2", [staged])
    (_, cancel), = commands(verifier, env.publisher, start=count)
    assert cancel.cancel is not None and cancel.cancel.occurrences == [occ]
    # a play-now play of a cancelled announcement is cancelled by announcement
    now_body = env.client.post(URL, json={"text": "Ngay", "targets": {"zones": ["thon-dong"]}}).json()
    env.client.post(f"{URL}/{now_body['id']}/cancel")
    count = len(env.publisher.published)
    feed(env, "dong-3", [StagedEntry(cmd="d" * 32, announcement=now_body["id"], play_at=env.clock())])
    (_, cancel), = commands(verifier, env.publisher, start=count)
    assert cancel.cancel is not None and cancel.cancel.announcement == now_body["id"]
    # past its expiry nothing is re-sent
    other = once(env, env.clock() + minutes(5))
    env.clock.advance(5 * 60 + 301)
    count = len(env.publisher.published)
    feed(env, "dong-1", [])
    assert len(env.publisher.published) == count and other["id"]


def test_timeline_from_someone_else_is_ignored(env: Env) -> None:
    once(env, env.clock() + minutes(5))
    count = len(env.publisher.published)
    feed(env, "dong-1", [], claimed="dong-2")
    env.ctx.fleet.on_timeline("loa/v1/nodes/dong-1/timeline", b"garbage")
    assert len(env.publisher.published) == count
