"""/api/v1/lexicon: create, read, replace, delete; validation and duplicates with reasons."""

from __future__ import annotations

import unicodedata

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.lexicon import store
from tests.controller.conftest import Env

URL = "/api/v1/lexicon"


def add(env: Env, term: str, spoken: str, note: str | None = None) -> dict:
    res = env.client.post(URL, json={"term": term, "spoken": spoken, "note": note})
    assert res.status_code == 201, res.text
    return res.json()


def _reason(res) -> str:
    detail = res.json()["detail"]
    if isinstance(detail, str):
        return detail
    return " | ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in detail)


def test_crud_round_trip(env: Env) -> None:
    first = add(env, "  Ea   H'leo ", "Ê a Hơ lê ô", note="huyện ở Đắk Lắk")
    assert (first["term"], first["spoken"], first["note"]) == ("Ea H'leo", "Ê a Hơ lê ô", "huyện ở Đắk Lắk")
    assert first["updated_at"] == "2025-07-01T08:00:00Z"
    add(env, "KBNN", "kho bạc nhà nước")
    listing = env.client.get(URL).json()
    assert [e["term"] for e in listing["items"]] == ["Ea H'leo", "KBNN"]
    assert env.client.get(f"{URL}/{first['id']}").json() == first

    env.clock.advance(60)
    res = env.client.put(f"{URL}/{first['id']}", json={"term": "Ea H'Leo", "spoken": "Ê a Hơ leo"})
    assert res.status_code == 200, res.text
    assert res.json()["spoken"] == "Ê a Hơ leo" and res.json()["note"] is None  # PUT replaces the note too
    assert res.json()["updated_at"] == "2025-07-01T08:01:00Z"

    assert env.client.delete(f"{URL}/{first['id']}").status_code == 204
    assert [e["term"] for e in env.client.get(URL).json()["items"]] == ["KBNN"]
    for method in ("get", "put", "delete"):
        kwargs = {"json": {"term": "x", "spoken": "y"}} if method == "put" else {}
        res = getattr(env.client, method)(f"{URL}/{first['id']}", **kwargs)
        assert res.status_code == 404 and res.json() == {"detail": f"lexicon entry {first['id']} not found"}


def test_every_edit_changes_the_version(env: Env) -> None:
    versions = [env.client.get(URL).json()["version"]]
    entry = add(env, "VNPT", "vê en pê tê")
    versions.append(env.client.get(URL).json()["version"])
    env.client.put(f"{URL}/{entry['id']}", json={"term": "VNPT", "spoken": "vi en pi ti"})  # same clock time
    versions.append(env.client.get(URL).json()["version"])
    env.client.delete(f"{URL}/{entry['id']}")
    versions.append(env.client.get(URL).json()["version"])
    assert len(set(versions)) == 4


@pytest.mark.parametrize(
    "duplicate",
    ["kbnn", "KBNN", " Kbnn "],
)
def test_duplicate_term_is_409(env: Env, duplicate: str) -> None:
    entry = add(env, "KBNN", "kho bạc nhà nước")
    res = env.client.post(URL, json={"term": duplicate, "spoken": "khác"})
    assert res.status_code == 409
    assert res.json()["detail"] == f"the term {duplicate.strip()!r} is already in the lexicon (entry {entry['id']}); edit that entry instead"


def test_duplicates_ignore_unicode_form_and_apostrophe(env: Env) -> None:
    add(env, "Đắk R’lấp", "Đắk Rơ lấp")
    nfd = unicodedata.normalize("NFD", "đắk r'lấp")
    assert env.client.post(URL, json={"term": nfd, "spoken": "x"}).status_code == 409


def test_renaming_onto_another_term_is_409_but_own_case_change_is_fine(env: Env) -> None:
    add(env, "KBNN", "kho bạc nhà nước")
    other = add(env, "HTX", "hợp tác xã")
    assert env.client.put(f"{URL}/{other['id']}", json={"term": "kbnn", "spoken": "x"}).status_code == 409
    res = env.client.put(f"{URL}/{other['id']}", json={"term": "htx", "spoken": "hợp tác xã"})
    assert res.status_code == 200 and res.json()["term"] == "htx"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"term": "", "spoken": "x"}, "term is empty"),
        ({"term": " \t ", "spoken": "x"}, "term is empty"),
        ({"term": "x" * 101, "spoken": "x"}, "term is 101 characters; the limit is 100"),
        ({"term": "x" * 1000, "spoken": "x"}, "term"),
        ({"term": "a\x00b", "spoken": "x"}, "term contains the control character U+0000"),
        ({"term": "!!!", "spoken": "x"}, "term has no letter or digit"),
        ({"term": "KBNN", "spoken": ""}, "spoken is empty"),
        ({"term": "KBNN", "spoken": "y" * 301}, "spoken is 301 characters; the limit is 300"),
        ({"term": "KBNN", "spoken": "..."}, "spoken has no letter or digit"),
        ({"term": "KBNN", "spoken": "x", "note": "n" * 501}, "note"),
        ({"term": "KBNN"}, "spoken: Field required"),
        ({"term": "KBNN", "spoken": "x", "lang": "vi"}, "lang: Extra inputs are not permitted"),
        ({"term": 42, "spoken": "x"}, "term"),
    ],
)
def test_bad_entries_are_422_with_reason(env: Env, body: dict, reason: str) -> None:
    res = env.client.post(URL, json=body)
    assert res.status_code == 422, res.text
    assert reason in _reason(res)
    assert env.client.get(URL).json()["items"] == []


def test_full_lexicon_is_refused(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "MAX_ENTRIES", 1)
    add(env, "KBNN", "kho bạc nhà nước")
    res = env.client.post(URL, json={"term": "HTX", "spoken": "hợp tác xã"})
    assert res.status_code == 422 and "the lexicon is full (1 entries)" in res.json()["detail"]


@pytest.mark.parametrize("path", [f"{URL}/0", f"{URL}/abc", f"{URL}/{10**30}"])
def test_bad_ids_are_422(env: Env, path: str) -> None:
    assert env.client.get(path).status_code == 422


def test_lexicon_needs_the_token(env: Env) -> None:
    bare = TestClient(env.client.app)
    assert bare.get(URL).status_code == 401
    assert bare.post(URL, json={"term": "KBNN", "spoken": "x"}).status_code == 401
    assert env.client.get(URL).json()["items"] == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(json_values, st.fixed_dictionaries({"term": json_values, "spoken": json_values},
                                                          optional={"note": json_values})))  # fmt: skip
def test_fuzzed_bodies_never_500(env: Env, body: object) -> None:
    for res in (env.client.post(URL, json=body), env.client.post("/api/v1/announcements/preview", json=body)):
        assert res.status_code in (200, 201, 409, 422), (body, res.text)
