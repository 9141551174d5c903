"""Bad input is a 422 with a reason, never a 500, and never leaves anything stored."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from controller.models import Announcement, Delivery, NodeEventRecord
from tests.controller.conftest import Env

URL = "/api/v1/announcements"
OK_TARGETS = {"zones": ["thon-dong"]}


def _reason(res) -> str:
    detail = res.json()["detail"]
    if isinstance(detail, str):
        return detail
    return " | ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in detail)


def _assert_nothing_stored(env: Env) -> None:
    with env.session() as s:
        for model in (Announcement, Delivery, NodeEventRecord):
            assert s.exec(select(func.count()).select_from(model)).one() == 0
    assert env.publisher.published == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"text": "", "targets": OK_TARGETS}, "text is empty"),
        ({"text": "  \n\t ", "targets": OK_TARGETS}, "text is empty"),
        ({"text": "x" * 3001, "targets": OK_TARGETS}, "3001 characters; the limit is 3000"),
        ({"text": "x" * 200_000, "targets": OK_TARGETS}, "text"),
        ({"text": "a\x00b", "targets": OK_TARGETS}, "control character U+0000"),
        ({"text": "hi", "targets": {"zones": ["thon-xa"]}}, "unknown zone(s): 'thon-xa'"),
        ({"text": "hi", "targets": {"nodes": ["dong-9", "tay-7"]}}, "unknown node(s): 'dong-9', 'tay-7'"),
        ({"text": "hi", "targets": {"zones": ["x"], "nodes": ["y"]}}, "unknown zone(s): 'x'; unknown node(s): 'y'"),
        ({"text": "hi", "targets": {}}, "no targets"),
        ({"text": "hi", "targets": {"zones": [], "nodes": [], "all": False}}, "no targets"),
        ({"text": "hi", "targets": {"zones": ["thon-nam"]}}, "no nodes"),
        ({"text": "hi"}, "targets: Field required"),
        ({"text": "hi", "targets": OK_TARGETS, "priority": "urgent"}, "priority"),
        ({"text": "hi", "targets": OK_TARGETS, "voice": "en-us"}, "voice"),
        ({"text": "hi", "targets": OK_TARGETS, "rate": 79}, "rate: Input should be greater than or equal to 80"),
        ({"text": "hi", "targets": OK_TARGETS, "rate": 301}, "rate: Input should be less than or equal to 300"),
        ({"text": "hi", "targets": OK_TARGETS, "expires_in_s": 9}, "expires_in_s"),
        ({"text": "hi", "targets": OK_TARGETS, "expires_in_s": 86401}, "expires_in_s"),
        ({"text": "hi", "targets": OK_TARGETS, "play_at": "2025-01-01T00:00:00Z"}, "play_at: Extra inputs"),
        ({"text": "hi", "targets": {"zones": "thon-dong"}}, "targets.zones"),
        ({"text": "hi", "targets": {"all": "yes please"}}, "targets.all"),
        ({"text": 42, "targets": OK_TARGETS}, "text"),
        ({"text": ["a"], "targets": OK_TARGETS}, "text"),
        ({"text": "hi", "targets": OK_TARGETS, "rate": "fast"}, "rate"),
        ({"text": "hi", "targets": OK_TARGETS, "chime": {"on": True}}, "chime"),
        ({"text": "hi", "targets": {"zones": ["z"] * 2001}}, "targets.zones"),
    ],
)
def test_bad_announcement_is_422_with_reason(env: Env, body: dict, reason: str) -> None:
    res = env.client.post(URL, json=body)
    assert res.status_code == 422, res.text
    assert reason in _reason(res)
    _assert_nothing_stored(env)


def test_targets_are_checked_before_synthesis(env: Env) -> None:
    env.client.post(URL, json={"text": "hi", "targets": {"zones": ["nowhere"]}})
    assert env.pipeline.requests == []


@pytest.mark.parametrize(
    "raw",
    [b"{", b"not json", b"[]", b"null", b"42", b'"text"', b'{"text": "\\ud800", "targets": {"all": true}}'],
)
def test_malformed_bodies(env: Env, raw: bytes) -> None:
    res = env.client.post(URL, content=raw, headers={"Content-Type": "application/json"})
    assert res.status_code == 422, res.text
    _assert_nothing_stored(env)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"", "application/json"), (b'{"text": "hi", "targets": {"all": true}}', "text/plain"), (b"text=hi", "application/x-www-form-urlencoded")],
)
def test_missing_or_non_json_body(env: Env, content: bytes, content_type: str) -> None:
    res = env.client.post(URL, content=content, headers={"Content-Type": content_type})
    assert res.status_code == 422, res.text
    _assert_nothing_stored(env)


def test_undecodable_body_is_400(env: Env) -> None:
    res = env.client.post(URL, content=b"\xff\xfe\x00", headers={"Content-Type": "application/json"})
    assert res.status_code == 400
    _assert_nothing_stored(env)


def test_validation_errors_do_not_echo_input(env: Env) -> None:
    res = env.client.post(URL, json={"text": "y" * 200_000, "targets": OK_TARGETS})
    assert res.status_code == 422 and len(res.content) < 2000


@pytest.mark.parametrize(
    "path",
    [
        f"{URL}/0",
        f"{URL}/-1",
        f"{URL}/abc",
        f"{URL}/{10**30}",
        f"{URL}?limit=0",
        f"{URL}?limit=100000",
        f"{URL}?offset=-1",
        f"{URL}?offset={10**30}",
    ],
)
def test_bad_query_and_path(env: Env, path: str) -> None:
    assert env.client.get(path).status_code == 422


def test_node_ids_of_any_shape_are_404_not_500(env: Env) -> None:
    for node_id in ("NOPE", "a" * 150, "..", "%00", "dong-1%27--"):
        assert env.client.get(f"/api/v1/nodes/{node_id}").status_code in (404, 422)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"text": json_values, "targets": json_values},
        optional={"voice": json_values, "rate": json_values, "priority": json_values, "expires_in_s": json_values},
    ),
    st.fixed_dictionaries(
        {
            "text": st.text(max_size=50),
            "targets": st.fixed_dictionaries(
                {},
                optional={
                    "zones": st.lists(st.sampled_from(["thon-dong", "xa-an-binh", "thon-nam", "??"]), max_size=3),
                    "nodes": st.lists(st.sampled_from(["dong-1", "bac-1", "ghost"]), max_size=3),
                    "all": st.booleans(),
                },
            ),
            "rate": st.integers(min_value=-1000, max_value=1000),
            "expires_in_s": st.integers(min_value=-10, max_value=100_000),
        }
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_fuzzed_bodies_never_500(env: Env, body: object) -> None:
    res = env.client.post(URL, content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert res.status_code in (201, 422), (body, res.text)
