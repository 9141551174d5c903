"""POST/GET /api/v1/announcements with a fake pipeline and publisher."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from controller.models import Announcement, Delivery
from protocol.signing import Verifier
from tests.controller.conftest import Env
from tests.controller.factories import ALL_NODES

URL = "/api/v1/announcements"
TEXT = "Thông báo: chiều nay 15h họp thôn tại nhà văn hóa."


def post(env: Env, **body: object):
    body.setdefault("text", TEXT)
    return env.client.post(URL, json=body)


def test_create_hamlet_announcement(env: Env, verifier: Verifier) -> None:
    res = post(env, targets={"zones": ["thon-dong"]}, priority="priority", rate=170, voice="vi-vn-x-south")
    assert res.status_code == 201, res.text
    body = res.json()
    now = env.clock()
    sha = body["audio"]["sha256"]
    assert body["status"] == "sent"
    assert body["audio"]["url"] == f"http://loa.test:8080/audio/{sha}.opus"
    assert body["audio"]["size"] > 0 and body["audio"]["duration_ms"] == 1234
    assert body["play_at"] == (now + timedelta(seconds=3)).isoformat().replace("+00:00", "Z")
    assert body["expires_at"] == (now + timedelta(seconds=600)).isoformat().replace("+00:00", "Z")
    assert [(d["node_id"], d["state"]) for d in body["deliveries"]] == [
        ("dong-1", "sent"),
        ("dong-2", "sent"),
        ("dong-3", "sent"),
    ]
    assert body["summary"] == {"sent": 3}
    # one publish on the hamlet topic, signed, QoS 1, not retained
    assert env.publisher.topics == ["loa/v1/zones/thon-dong/cmd"]
    topic, payload, qos, retain = env.publisher.published[0]
    assert (qos, retain) == (1, False)
    cmd = verifier.open(topic, payload)
    assert cmd.play is not None and cmd.play.announcement == body["id"]
    assert cmd.play.audio.sha256 == sha and cmd.play.audio.size == body["audio"]["size"]
    assert cmd.play.priority.value == "priority"
    assert cmd.issued_at == now and cmd.play.play_at == now + timedelta(seconds=3)
    req = env.pipeline.requests[-1]
    assert (req.text, req.voice, req.rate, req.chime) == (TEXT, "vi-vn-x-south", 170, False)
    # the audio is really served where the command says
    audio = env.client.get(f"/audio/{sha}.opus")
    assert audio.status_code == 200 and len(audio.content) == body["audio"]["size"]


@pytest.mark.parametrize(
    ("targets", "topics"),
    [
        ({"zones": ["xa-an-binh"]}, ["loa/v1/zones/xa-an-binh/cmd"]),
        ({"nodes": ["dong-1", "dong-2"]}, ["loa/v1/nodes/dong-1/cmd", "loa/v1/nodes/dong-2/cmd"]),
        ({"all": True}, ["loa/v1/zones/thon-bac/cmd", "loa/v1/zones/xa-an-binh/cmd"]),
        ({"zones": ["thon-tay"], "nodes": ["dong-1"]}, ["loa/v1/zones/thon-tay/cmd", "loa/v1/nodes/dong-1/cmd"]),
    ],
)
def test_fanout_through_the_api(env: Env, verifier: Verifier, targets: dict, topics: list[str]) -> None:
    res = post(env, targets=targets)
    assert res.status_code == 201, res.text
    assert env.publisher.topics == topics
    ids = [verifier.open(t, p).id for t, p, _, _ in env.publisher.published]
    with env.session() as s:
        ann = s.get(Announcement, res.json()["id"])
        assert ann is not None and ann.command_ids == ids
        rows = s.exec(select(Delivery)).all()
        assert {d.command_id for d in rows} == set(ids)


def test_all_targets_every_node(env: Env) -> None:
    body = post(env, targets={"all": True}, expires_in_s=120).json()
    assert {d["node_id"] for d in body["deliveries"]} == ALL_NODES
    assert body["expires_at"] == (env.clock() + timedelta(seconds=120)).isoformat().replace("+00:00", "Z")


def test_get_and_list(env: Env) -> None:
    first = post(env, targets={"zones": ["thon-dong"]}).json()
    env.clock.advance(10)
    second = post(env, text="Lần hai", targets={"nodes": ["bac-1"]}).json()
    got = env.client.get(f"{URL}/{first['id']}")
    assert got.status_code == 200 and got.json() == first
    items = env.client.get(URL).json()["items"]
    assert [i["id"] for i in items] == [second["id"], first["id"]]
    assert "deliveries" not in items[0] and items[0]["summary"] == {"sent": 1}
    assert [i["id"] for i in env.client.get(URL, params={"limit": 1, "offset": 1}).json()["items"]] == [first["id"]]
    assert env.client.get(f"{URL}/999").status_code == 404


def test_publish_failure_is_recorded(env: Env) -> None:
    env.publisher.fail_topics.add("loa/v1/nodes/dong-2/cmd")
    res = post(env, targets={"nodes": ["dong-1", "dong-2"]})
    assert res.status_code == 503 and "could not be published" in res.json()["detail"]
    with env.session() as s:
        ann = s.exec(select(Announcement)).one()
        assert ann.status == "failed"
        states = {d.node_id: (d.state, d.detail) for d in s.exec(select(Delivery)).all()}
    assert states["dong-1"] == ("sent", None)
    assert states["dong-2"][0] == "failed" and "broker link is broken" in states["dong-2"][1]


def test_audio_errors_store_nothing(env: Env) -> None:
    from audio.errors import AudioError, EngineError

    env.pipeline.fail_with = AudioError("nothing left to say after normalisation")
    res = post(env, targets={"all": True})
    assert res.status_code == 422 and "nothing left to say" in res.json()["detail"]
    env.pipeline.fail_with = EngineError("espeak-ng crashed")
    res = post(env, targets={"all": True})
    assert res.status_code == 503 and "espeak-ng crashed" in res.json()["detail"]
    env.pipeline.fail_with = RuntimeError("bug")
    assert post(env, targets={"all": True}).status_code == 503
    with env.session() as s:
        assert s.exec(select(func.count()).select_from(Announcement)).one() == 0
        assert s.exec(select(func.count()).select_from(Delivery)).one() == 0
    assert env.publisher.published == []
