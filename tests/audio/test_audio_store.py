"""Content-addressed store: names, atomic writes, the render-cache index."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audio.store import AudioStore, CachedRender, atomic_write, is_sha256

SHA_A = "a" * 64


def leftovers(root: Path) -> list[str]:
    return [p.name for p in root.rglob("*") if p.name.startswith(".tmp-")]


def test_constructing_a_store_touches_no_disk(tmp_path: Path) -> None:
    AudioStore(tmp_path / "audio")
    assert not (tmp_path / "audio").exists()


def test_put_bytes_names_the_file_by_its_sha256(tmp_path: Path) -> None:
    store = AudioStore(tmp_path)
    data = b"OggS fake opus bytes"
    sha = store.put_bytes(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.path_for(sha) == tmp_path / f"{sha}.opus"
    assert store.exists(sha)
    assert store.size(sha) == len(data)
    with store.open(sha) as f:
        assert f.read() == data
    # Readable by a separate web server, not only by us.
    assert stat.S_IMODE(store.path_for(sha).stat().st_mode) == 0o644
    assert leftovers(tmp_path) == []


def test_storing_the_same_bytes_twice_is_a_no_op(tmp_path: Path) -> None:
    store = AudioStore(tmp_path)
    first = store.put_bytes(b"same")
    mtime = store.path_for(first).stat().st_mtime_ns
    assert store.put_bytes(b"same") == first
    assert store.path_for(first).stat().st_mtime_ns == mtime


def test_missing_file_reports_cleanly(tmp_path: Path) -> None:
    store = AudioStore(tmp_path)
    assert not store.exists(SHA_A)
    with pytest.raises(FileNotFoundError):
        store.size(SHA_A)
    with pytest.raises(FileNotFoundError):
        store.open(SHA_A)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "../../etc/passwd",
        "A" * 64,  # uppercase
        "a" * 63,
        "a" * 65,
        "g" * 64,
        "a" * 63 + "/",
        "/" + "a" * 63,
        "a" * 64 + "\n",
        "a" * 32 + ".." + "a" * 30,
        None,
        b"a" * 64,
        64,
    ],
)
def test_path_for_rejects_anything_but_a_sha256(tmp_path: Path, bad: object) -> None:
    store = AudioStore(tmp_path)
    assert not is_sha256(bad)
    with pytest.raises(ValueError, match="64 lowercase hex"):
        store.path_for(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.exists(bad)  # type: ignore[arg-type]


def test_failed_write_leaves_neither_temp_nor_final_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AudioStore(tmp_path)
    data = b"interrupted"

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        store.put_bytes(data)
    assert not store.exists(hashlib.sha256(data).hexdigest())
    assert leftovers(tmp_path) == []


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.bin"
    atomic_write(target, b"old content that is long")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert leftovers(tmp_path) == []


def test_concurrent_puts_of_the_same_bytes(tmp_path: Path) -> None:
    store = AudioStore(tmp_path)
    data = os.urandom(200_000)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(store.put_bytes(data))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert store.path_for(results[0]).read_bytes() == data
    assert leftovers(tmp_path) == []


def test_render_cache_roundtrip(tmp_path: Path) -> None:
    store = AudioStore(tmp_path)
    key = hashlib.sha256(b"request").hexdigest()
    assert store.get_key(key) is None
    entry = CachedRender(sha256=SHA_A, size=123, duration_ms=4567, loudness_lufs=-16.1)
    store.put_key(key, entry)
    assert store.get_key(key) == entry
    assert (tmp_path / "keys" / f"{key}.json").is_file()
    assert leftovers(tmp_path) == []


def test_damaged_cache_entry_is_a_miss(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = AudioStore(tmp_path)
    key = hashlib.sha256(b"request").hexdigest()
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / f"{key}.json").write_text('{"sha256": "../evil", "size": 1}')
    with caplog.at_level(logging.WARNING, logger="audio.store"):
        assert store.get_key(key) is None
    assert "damaged" in caplog.text


def test_cache_keys_are_validated_too(tmp_path: Path) -> None:
    store = AudioStore(tmp_path)
    entry = CachedRender(sha256=SHA_A, size=1, duration_ms=1, loudness_lufs=-16.0)
    with pytest.raises(ValueError):
        store.put_key("../../x", entry)
    with pytest.raises(ValueError):
        store.get_key("nope")
    with pytest.raises(ValueError):
        store.put_key(SHA_A, CachedRender(sha256="bad", size=1, duration_ms=1, loudness_lufs=0.0))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096))
def test_any_bytes_roundtrip(tmp_path: Path, data: bytes) -> None:
    store = AudioStore(tmp_path)
    sha = store.put_bytes(data)
    assert is_sha256(sha)
    assert store.path_for(sha).read_bytes() == data
