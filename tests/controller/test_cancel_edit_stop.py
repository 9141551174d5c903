"""Cancel, edit (new revision) and stop: signed commands out, no further dispatch, delivery states."""

from __future__ import annotations

from sqlmodel import select

from controller.fleet import CANCEL_SWEEP_DETAIL, sweep_expired
from controller.models import Delivery
from protocol.commands import CommandKind
from protocol.reports import EventKind, NodeEvent
from protocol.signing import Verifier
from protocol.topics import node_events
from tests.controller.conftest import Env
from tests.controller.programme_helpers import URL, commands, minutes, once, schedule

DAILY = {"kind": "daily", "times": ["15:05", "15:30"], "start_date": "2025-07-01"}


def deliveries(env: Env, ann_id: int) -> list[Delivery]:
    with env.session() as s:
        return list(s.exec(select(Delivery).where(Delivery.announcement_id == ann_id).order_by(Delivery.node_id)).all())


def test_cancel_publishes_a_signed_cancel_and_stops_dispatch(env: Env, verifier: Verifier) -> None:
    body = schedule(env, DAILY)  # 15:05 is within the horizon: dispatched at creation
    assert len(body["deliveries"]) == 3
    res = env.client.post(f"{URL}/{body['id']}/cancel")
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "cancelled"
    (_, play), (topic, cancel) = commands(verifier, env.publisher)
    assert play.kind is CommandKind.PLAY
    assert topic == "loa/v1/zones/thon-dong/cmd" and cancel.kind is CommandKind.CANCEL
    assert cancel.cancel is not None and cancel.cancel.announcement == body["id"]
    assert cancel.expires_at > env.clock()
    # 15:30 comes into the horizon: never dispatched
    env.clock.advance(30 * 60)
    assert env.ctx.dispatcher.tick().dispatched == []
    # idempotent: a second cancel publishes nothing
    assert env.client.post(f"{URL}/{body['id']}/cancel").status_code == 200
    assert len(env.publisher.published) == 2
    # a node confirms; the silent ones are swept to cancelled (not expired) after expiry
    d1 = deliveries(env, body["id"])[0]
    msg = NodeEvent(node="dong-1", cmd=d1.command_id, announcement=body["id"], event=EventKind.CANCELLED, at=env.clock())
    env.ctx.fleet.on_event(node_events("dong-1"), msg.to_json())
    with env.session() as s:
        assert sweep_expired(s, env.clock(), 30) == 2
    rows = deliveries(env, body["id"])
    assert [(d.state, d.detail) for d in rows] == [("cancelled", None)] + [("cancelled", CANCEL_SWEEP_DETAIL)] * 2


def test_cancel_unknown_is_404(env: Env) -> None:
    assert env.client.post(f"{URL}/999/cancel").status_code == 404


def test_cancel_before_dispatch_publishes_nothing(env: Env) -> None:
    body = once(env, env.clock() + minutes(60))
    assert env.client.post(f"{URL}/{body['id']}/cancel").json()["status"] == "cancelled"
    env.clock.advance(55 * 60)
    assert env.ctx.dispatcher.tick().dispatched == [] and env.publisher.published == []


def test_edit_makes_a_revision_and_withdraws_staged_future_plays(env: Env, verifier: Verifier) -> None:
    old = schedule(env, DAILY)
    res = env.client.patch(f"{URL}/{old['id']}", json={"text": "Lịch tiêm phòng (sửa)"})
    assert res.status_code == 201, res.text
    new = res.json()
    assert new["revision_of"] == old["id"] and new["text"] == "Lịch tiêm phòng (sửa)"
    assert new["schedule"] == old["schedule"] and new["status"] == "scheduled"
    assert env.client.get(f"{URL}/{old['id']}").json()["status"] == "cancelled"
    cmds = commands(verifier, env.publisher)
    kinds = [(c.kind, c.play.announcement if c.play else None) for _, c in cmds]
    assert kinds == [(CommandKind.PLAY, old["id"]), (CommandKind.PLAY, new["id"]), (CommandKind.CANCEL, None)]
    cancel = cmds[-1][1].cancel
    assert cancel is not None and cancel.announcement is None
    assert cancel.occurrences == [f"{old['id']}:2025-07-01T15:05+07:00#1"]
    # the edit is not reported as a conflict with the revision it replaces
    assert new["warnings"] is None


def test_edit_refusals(env: Env) -> None:
    now_body = env.client.post(URL, json={"text": "Ngay", "targets": {"zones": ["thon-dong"]}}).json()
    assert env.client.patch(f"{URL}/{now_body['id']}", json={"text": "x"}).status_code == 409
    assert env.client.patch(f"{URL}/999", json={"text": "x"}).status_code == 404
    body = once(env, env.clock() + minutes(60))
    assert env.client.patch(f"{URL}/{body['id']}", json={"colour": "red"}).status_code == 422
    bad = env.client.patch(f"{URL}/{body['id']}", json={"schedule": {"at": "2025-07-01T10:00:00"}})
    assert bad.status_code == 422
    env.client.post(f"{URL}/{body['id']}/cancel")
    assert env.client.patch(f"{URL}/{body['id']}", json={"text": "x"}).status_code == 409


def test_stop_now(env: Env, verifier: Verifier) -> None:
    res = env.client.post("/api/v1/zones/stop", json={"zones": ["thon-dong", "xa-phu-my", "thon-dong"], "reason": "nhầm"})
    assert res.status_code == 200, res.text
    sent = res.json()["commands"]
    assert [c["topic"] for c in sent] == ["loa/v1/zones/thon-dong/cmd", "loa/v1/zones/xa-phu-my/cmd"]
    cmds = commands(verifier, env.publisher)
    assert [c.id for _, c in cmds] == [c["command_id"] for c in sent]
    assert all(c.kind is CommandKind.STOP and c.stop is not None and c.stop.reason == "nhầm" for _, c in cmds)
    bad = env.client.post("/api/v1/zones/stop", json={"zones": ["nowhere"]})
    assert bad.status_code == 422 and "nowhere" in bad.json()["detail"]
    assert env.client.post("/api/v1/zones/stop", json={"zones": []}).status_code == 422
