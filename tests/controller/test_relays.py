"""Relays (tiếp sóng) through the API: validation, signed relay commands by zone topic,
staging horizon, events, cancel and the zone programme."""

from __future__ import annotations

import pytest
from sqlmodel import select

from controller.models import RelayDelivery
from protocol.commands import CommandKind
from protocol.reports import EventKind, NodeEvent
from protocol.topics import node_events, zone_cmd
from tests.controller.conftest import Env
from tests.controller.programme_helpers import commands

URL = "/api/v1/relays"
STREAM = "https://stream.vov.vn/vov1"
# The fake clock stands at 2025-07-01T15:00+07:00; stage_ahead_s is 600 s.


def body(**over: object) -> dict:
    b: dict = {
        "url": STREAM, "targets": {"zones": ["thon-dong"]},
        "start_at": "2025-07-01T15:05:00+07:00", "end_at": "2025-07-01T16:00:00+07:00",
    }  # fmt: skip
    b.update(over)
    return b


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"url": "rtsp://x.example/a"}, "http"),
        ({"url": "file:///etc/passwd"}, "http"),
        ({"end_at": "2025-07-01T15:05:00+07:00"}, "after start_at"),
        ({"end_at": "2025-07-01T21:06:00+07:00"}, "at most 6 h"),
        ({"start_at": "2025-07-01T14:00:00+07:00"}, "in the past"),
        ({"start_at": "2025-07-01T15:05:00"}, "offset"),
        ({"targets": {"zones": ["nope"]}}, "unknown zone"),
        ({"targets": {"zones": []}}, "zones"),
        ({"priority": "emergency"}, "normal or priority"),
        ({"colour": "red"}, "colour"),
        ({"url": "http://x.example/a\x00b"}, "control characters"),
        ({"title": "VOV1\x00"}, "control characters"),
    ],
)
def test_invalid_relays_are_422(env: Env, over: dict, needle: str) -> None:
    res = env.client.post(URL, json=body(**over))
    assert res.status_code == 422, res.text
    assert needle in res.text
    assert env.publisher.published == []


def test_relay_within_horizon_is_dispatched_signed_by_zone(env: Env, verifier) -> None:
    res = env.client.post(URL, json=body(targets={"zones": ["xa-an-binh"]}, priority="priority", title="VOV1"))
    assert res.status_code == 201, res.text
    relay = res.json()
    assert relay["status"] == "sent" and relay["relay_id"] == f"relay:{relay['id']}"
    sent = commands(verifier, env.publisher)
    assert [t for t, _ in sent] == [zone_cmd("xa-an-binh")]  # one publish for the whole commune
    cmd = sent[0][1]
    assert cmd.kind is CommandKind.RELAY and cmd.play is None
    assert cmd.relay.relay_id == relay["relay_id"] and cmd.relay.url == STREAM
    assert cmd.relay.start_at.isoformat() == "2025-07-01T08:05:00+00:00" and cmd.expires_at == cmd.relay.end_at
    assert cmd.relay.priority.value == "priority"
    assert relay["summary"] == {"sent": 5}
    # the next tick does not publish it again
    env.ctx.dispatcher.tick()
    assert len(env.publisher.published) == 1


def test_relay_beyond_horizon_waits_for_the_dispatcher(env: Env, verifier) -> None:
    res = env.client.post(URL, json=body(start_at="2025-07-01T18:00:00+07:00", end_at="2025-07-01T19:00:00+07:00"))
    assert res.status_code == 201 and res.json()["status"] == "scheduled"
    assert env.publisher.published == []
    env.clock.advance(3 * 3600 - 500)
    report = env.ctx.dispatcher.tick()
    assert report.relays == [res.json()["relay_id"]]
    assert [t for t, _ in commands(verifier, env.publisher)] == [zone_cmd("thon-dong")]
    listed = env.client.get(URL).json()["items"]
    assert [(r["id"], r["status"]) for r in listed] == [(res.json()["id"], "sent")]


def test_relay_events_update_deliveries_and_cancel_publishes(env: Env, verifier) -> None:
    relay = env.client.post(URL, json=body()).json()
    (topic, cmd), = commands(verifier, env.publisher)
    for kind in ("received", "ready", "started", "preempted", "ready", "started"):
        event = NodeEvent(node="dong-1", cmd=cmd.id, relay=relay["relay_id"], event=EventKind(kind), at=env.clock())
        env.ctx.fleet.on_event(node_events("dong-1"), event.to_json())
    with env.session() as session:
        states = {d.node_id: d.state for d in session.exec(select(RelayDelivery)).all()}
    assert states == {"dong-1": "started", "dong-2": "sent", "dong-3": "sent"}  # preempted gave way: it resumed
    res = env.client.post(f"{URL}/{relay['id']}/cancel")
    assert res.status_code == 200 and res.json()["status"] == "cancelled"
    (ctopic, cancel), = commands(verifier, env.publisher, start=1)
    assert ctopic == topic and cancel.kind is CommandKind.CANCEL
    assert cancel.cancel.occurrences == [relay["relay_id"]] and cancel.cancel.announcement is None
    assert env.client.post(f"{URL}/{relay['id']}/cancel").status_code == 200  # idempotent
    assert len(env.publisher.published) == 2
    assert env.client.post(f"{URL}/999/cancel").status_code == 404
    got = env.client.get(f"{URL}/{relay['id']}").json()
    assert {d["node_id"]: d["state"] for d in got["deliveries"]}["dong-1"] == "started"


def test_programme_lists_relays(env: Env) -> None:
    relay = env.client.post(
        URL, json=body(start_at="2025-07-02T06:00:00+07:00", end_at="2025-07-02T07:00:00+07:00",
                       targets={"zones": ["xa-an-binh"]}, title="Tiếp sóng VOV1")
    ).json()  # fmt: skip
    cancelled = env.client.post(
        URL, json=body(start_at="2025-07-02T08:00:00+07:00", end_at="2025-07-02T09:00:00+07:00")
    ).json()
    env.client.post(f"{URL}/{cancelled['id']}/cancel")
    items = env.client.get("/api/v1/zones/thon-dong/programme", params={"from": "2025-07-02"}).json()["items"]
    assert [(i["kind"], i["relay"], i["local"]) for i in items] == [("relay", relay["id"], "2025-07-02T06:00:00+07:00")]
    item = items[0]
    assert item["announcement"] is None and item["occurrence"] == relay["relay_id"] and item["duration_s"] == 3600
    assert item["title"] == "Tiếp sóng VOV1" and item["url"] == STREAM
    other = env.client.get("/api/v1/zones/thon-bac/programme", params={"from": "2025-07-02"}).json()["items"]
    assert other == []
