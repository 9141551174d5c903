"""Schedule validation, conflict warnings, the per-zone programme, events of per-occurrence deliveries."""

from __future__ import annotations

import pytest
from sqlmodel import select

from controller.models import Delivery
from protocol.reports import EventKind, NodeEvent
from protocol.topics import node_events
from tests.controller.conftest import Env
from tests.controller.programme_helpers import URL, minutes, once, schedule

DAY2 = "2025-07-02"


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        ({"at": "2025-07-01T16:00:00"}, "offset"),
        ({"kind": "hourly", "times": ["06:00"], "start_date": DAY2}, "kind"),
        ({"kind": "daily", "times": ["25:00"], "start_date": DAY2}, "times"),
        ({"kind": "daily", "times": ["06:00"], "start_date": DAY2, "colour": 1}, "colour"),
    ],
)
def test_malformed_schedules_are_422(env: Env, rule: dict, needle: str) -> None:
    res = env.client.post(URL, json={"text": "x", "targets": {"zones": ["thon-dong"]}, "schedule": rule})
    assert res.status_code == 422
    assert needle in res.text
    assert env.publisher.published == [] and env.pipeline.requests == []


def test_past_and_never_playing_schedules_are_422(env: Env) -> None:
    past = env.client.post(
        URL, json={"text": "x", "targets": {"zones": ["thon-dong"]}, "schedule": {"at": "2025-07-01T14:58:00+07:00"}}
    )
    assert past.status_code == 422 and "in the past" in past.json()["detail"]
    ended = env.client.post(
        URL,
        json={"text": "x", "targets": {"zones": ["thon-dong"]},
              "schedule": {"kind": "daily", "times": ["06:00"], "start_date": "2025-06-01", "end_date": "2025-06-30"}},
    )  # fmt: skip
    assert ended.status_code == 422 and "never plays" in ended.json()["detail"]
    # within the grace: accepted, and plays at once
    ok = once(env, env.clock() - minutes(0.5))
    assert len(ok["deliveries"]) == 3
    bad_target = env.client.post(URL, json={"text": "x", "targets": {"zones": ["nope"]}, "schedule": {"at": "2025-07-02T06:00:00+07:00"}})
    assert bad_target.status_code == 422


def test_conflicts_are_warned_in_a_fixed_order(env: Env) -> None:
    commune = schedule(env, {"kind": "daily", "times": ["06:00"], "start_date": DAY2}, targets={"zones": ["xa-an-binh"]})
    assert commune["warnings"] is None
    hamlet = schedule(env, {"at": "2025-07-03T06:00:00+07:00"}, priority="emergency")
    node = schedule(env, {"at": "2025-07-03T06:00:00+07:00"}, targets={"nodes": ["dong-2"]})
    elsewhere = schedule(env, {"at": "2025-07-03T06:00:00+07:00"}, targets={"zones": ["thon-bac"]})
    assert elsewhere["warnings"] is None
    (w,) = hamlet["warnings"]
    assert f"{commune['id']}:2025-07-03T06:00+07:00#1" in w and "thon-dong" in w and "emergency" in w
    assert len(node["warnings"]) == 2
    assert "node:dong-2" in node["warnings"][0] and f"'{commune['id']}:" in node["warnings"][0]
    assert f"'{hamlet['id']}:" in node["warnings"][1]
    # the same request again gives the same warnings, in the same order
    again = schedule(env, {"at": "2025-07-03T06:00:00+07:00"}, targets={"nodes": ["dong-2"]})
    assert [w.split("': ", 1)[1] for w in again["warnings"][:2]] == [w.split("': ", 1)[1] for w in node["warnings"]]
    assert f"'{node['id']}:" in again["warnings"][2]


def test_programme_of_a_zone(env: Env) -> None:
    commune = schedule(
        env, {"kind": "daily", "times": ["06:00", "17:00"], "start_date": DAY2}, text="Bản tin xã " * 20,
        targets={"zones": ["xa-an-binh"]},
    )  # fmt: skip
    urgent = schedule(env, {"at": "2025-07-02T17:00:00+07:00"}, priority="emergency", text="Bão")
    schedule(env, {"at": "2025-07-02T07:00:00+07:00"}, targets={"zones": ["thon-bac"]}, text="Thôn Bắc")
    cancelled = schedule(env, {"at": "2025-07-02T08:00:00+07:00"}, text="Hủy")
    env.client.post(f"{URL}/{cancelled['id']}/cancel")
    res = env.client.get("/api/v1/zones/thon-dong/programme", params={"from": DAY2, "days": 1})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["zone"] == "thon-dong" and body["timezone"] == "Asia/Ho_Chi_Minh" and body["days"] == 1
    items = body["items"]
    assert [(i["announcement"], i["local"]) for i in items] == [
        (urgent["id"], "2025-07-02T17:00:00+07:00"),
        (commune["id"], "2025-07-02T06:00:00+07:00"),
        (commune["id"], "2025-07-02T17:00:00+07:00"),
    ]
    assert items[0]["priority"] == "emergency" and items[0]["play_at"] == "2025-07-02T10:00:00Z"
    assert items[1]["occurrence"] == f"{commune['id']}:2025-07-02T06:00+07:00#1"
    assert len(items[1]["title"]) == 80 and items[1]["duration_s"] == 1.234 and items[1]["scheduled"] is True
    # the commune's programme includes what its hamlets hear
    commune_items = env.client.get("/api/v1/zones/xa-an-binh/programme", params={"from": DAY2}).json()["items"]
    assert {i["announcement"] for i in commune_items} == {commune["id"], urgent["id"]}
    two_days = env.client.get("/api/v1/zones/thon-dong/programme", params={"from": DAY2, "days": 2}).json()["items"]
    assert len(two_days) == 5
    assert env.client.get("/api/v1/zones/nope/programme", params={"from": DAY2}).status_code == 404
    assert env.client.get("/api/v1/zones/thon-dong/programme", params={"from": DAY2, "days": 8}).status_code == 422
    # The ends of the calendar are refused with a reason, not left to overflow.
    for far in ("9999-12-31", "0001-01-01"):
        res = env.client.get("/api/v1/zones/thon-dong/programme", params={"from": far, "days": 7})
        assert res.status_code == 422 and "between 2000-01-01 and 9000-12-31" in res.text
    assert env.client.get("/api/v1/zones/thon-dong/programme", params={"from": "02/07/2025"}).status_code == 422


def test_events_find_their_occurrence_by_command(env: Env) -> None:
    body = schedule(
        env, {"kind": "daily", "times": ["15:01"], "start_date": "2025-07-01", "repeat": {"count": 2, "gap_s": 0}},
        targets={"nodes": ["bac-1"]},
    )  # fmt: skip
    with env.session() as s:
        rows = s.exec(select(Delivery).where(Delivery.announcement_id == body["id"]).order_by(Delivery.play_at)).all()
    assert len(rows) == 2
    msg = NodeEvent(node="bac-1", cmd=rows[1].command_id, announcement=body["id"], event=EventKind.FINISHED, at=env.clock())
    env.ctx.fleet.on_event(node_events("bac-1"), msg.to_json())
    got = env.client.get(f"{URL}/{body['id']}").json()["deliveries"]
    assert [(d["occurrence"], d["state"]) for d in got] == [
        ("2025-07-01T15:01+07:00#1", "sent"),
        ("2025-07-01T15:01+07:00#2", "finished"),
    ]
