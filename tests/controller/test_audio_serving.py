"""GET /audio/{sha256}.opus: content-addressed, cacheable, resumable, no traversal."""

from __future__ import annotations

import hashlib

import pytest

from tests.controller.conftest import Env


@pytest.fixture
def stored(env: Env) -> tuple[str, bytes]:
    data = bytes(range(256)) * 8  # 2048 bytes
    return env.ctx.audio_store.put_bytes(data), data


def test_full_download_and_headers(env: Env, stored: tuple[str, bytes]) -> None:
    sha, data = stored
    res = env.client.get(f"/audio/{sha}.opus", headers={"Authorization": ""})
    assert res.status_code == 200
    assert res.content == data and hashlib.sha256(res.content).hexdigest() == sha
    assert res.headers["content-type"] == "audio/ogg"
    assert res.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert res.headers["accept-ranges"] == "bytes"


def test_range_resumes(env: Env, stored: tuple[str, bytes]) -> None:
    sha, data = stored
    res = env.client.get(f"/audio/{sha}.opus", headers={"Range": "bytes=100-"})
    assert res.status_code == 206
    assert res.content == data[100:]
    assert res.headers["content-range"] == f"bytes 100-{len(data) - 1}/{len(data)}"
    res = env.client.get(f"/audio/{sha}.opus", headers={"Range": "bytes=10-19"})
    assert res.status_code == 206 and res.content == data[10:20]
    assert env.client.get(f"/audio/{sha}.opus", headers={"Range": f"bytes={len(data) + 5}-"}).status_code == 416


def test_head(env: Env, stored: tuple[str, bytes]) -> None:
    sha, data = stored
    res = env.client.head(f"/audio/{sha}.opus")
    assert res.status_code == 200 and int(res.headers["content-length"]) == len(data) and res.content == b""


@pytest.mark.parametrize(
    "name",
    [
        "0" * 64 + ".opus",  # well-formed, not stored
        "A" * 64 + ".opus",
        "0" * 63 + ".opus",
        "0" * 64 + ".mp3",
        "0" * 64,
        "..%2F..%2Fetc%2Fpasswd",
        "..",
        "%2e%2e%2fstate%2floa.db",
        "keys",
    ],
)
def test_bad_names_are_404(env: Env, stored: tuple[str, bytes], name: str) -> None:
    response = env.client.get(f"/audio/{name}", follow_redirects=False)
    if name == "..":
        # The client normalises `/audio/..` to `/` (the web app's home, which sends a
        # logged-out visitor to the login page): what matters is that no audio is served.
        assert response.status_code in (303, 404)
        assert not response.headers.get("content-type", "").startswith("audio/")
        return
    assert response.status_code == 404


def test_traversal_out_of_the_store(env: Env) -> None:
    for path in ("/audio/../state/loa.db", "/audio/%2e%2e/loa.db", "/audio/keys/x.json"):
        assert env.client.get(path).status_code == 404
