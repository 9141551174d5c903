"""Bearer auth, the node and zone views, /healthz."""

from __future__ import annotations

import pytest

from tests.controller.conftest import Env

PROTECTED = ["/api/v1/announcements", "/api/v1/nodes", "/api/v1/nodes/dong-1", "/api/v1/zones", "/api/v1/announcements/1"]


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-wrong-token-wrong"}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}],
)
def test_missing_or_wrong_token_is_401(env: Env, path: str, headers: dict[str, str]) -> None:
    res = env.client.get(path, headers=headers or {"Authorization": ""})  # "" drops the client's default
    assert res.status_code == 401
    assert res.headers["www-authenticate"] == "Bearer"


def test_post_needs_token_and_stores_nothing(env: Env) -> None:
    res = env.client.post(
        "/api/v1/announcements",
        json={"text": "hi", "targets": {"all": True}},
        headers={"Authorization": "Bearer nope"},
    )
    assert res.status_code == 401
    assert env.publisher.published == [] and env.pipeline.requests == []


def test_non_ascii_token_is_401_not_500(env: Env) -> None:
    res = env.client.get("/api/v1/zones", headers={"Authorization": "Bearer đường-dây-nóng".encode()})
    assert res.status_code == 401


def test_zones(env: Env) -> None:
    items = env.client.get("/api/v1/zones").json()["items"]
    assert {"id": "thon-dong", "name": "Thôn Đông", "kind": "hamlet", "parent_id": "xa-an-binh"} in items
    assert {"id": "xa-an-binh", "name": "Xã An Bình", "kind": "commune", "parent_id": None} in items


def test_nodes(env: Env) -> None:
    items = env.client.get("/api/v1/nodes").json()["items"]
    assert [n["id"] for n in items] == ["bac-1", "dong-1", "dong-2", "dong-3", "tay-1", "tay-2"]
    assert set(items[0]) == {"id", "name", "zone_id", "online", "last_seen", "agent_version", "telemetry"}
    one = env.client.get("/api/v1/nodes/dong-1").json()
    assert one["zone_id"] == "thon-dong" and one["online"] is False and one["telemetry"] is None
    assert env.client.get("/api/v1/nodes/ghost").status_code == 404
    assert "mqtt_password_hash" not in str(items)


def test_healthz_and_openapi_need_no_token(env: Env) -> None:
    res = env.client.get("/healthz", headers={"Authorization": ""})
    assert res.status_code == 200 and res.json() == {"status": "ok", "db": True, "mqtt": True}
    env.publisher.connected = False
    res = env.client.get("/healthz")
    assert res.status_code == 503 and res.json()["mqtt"] is False
    schema = env.client.get("/openapi.json").json()
    assert "/api/v1/announcements" in schema["paths"]


def test_development_without_tokens_leaves_the_api_open(tmp_path, keys) -> None:
    from controller.app import create_app
    from tests.controller.conftest import TestClient, make_settings
    from tests.controller.factories import FakePipeline, FakePublisher

    settings = make_settings(tmp_path, keys[0], mode="development", api_tokens=[], mqtt_password="")
    app = create_app(settings, pipeline=FakePipeline(tmp_path / "audio"), publisher=FakePublisher())
    with TestClient(app) as client:
        assert client.get("/api/v1/zones").json() == {"items": []}
