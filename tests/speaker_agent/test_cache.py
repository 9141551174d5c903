from __future__ import annotations

import hashlib
import os
import time

from speaker_agent.cache import Cache


def put(cache: Cache, tmp_path, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    src = tmp_path / f"{sha}.part"
    src.write_bytes(data)
    cache.add(sha, src)
    return sha


def test_add_get_and_stats(tmp_path):
    cache = Cache(tmp_path / "cache", max_bytes=1000)
    sha = put(cache, tmp_path, b"a" * 100)
    assert cache.get(sha) == tmp_path / "cache" / f"{sha}.opus"
    assert cache.get("0" * 64) is None
    assert (cache.stats().bytes, cache.stats().files) == (100, 1)


def test_lru_eviction_skips_pinned(tmp_path):
    cache = Cache(tmp_path / "cache", max_bytes=300)
    a = put(cache, tmp_path, b"a" * 100)
    b = put(cache, tmp_path, b"b" * 100)
    c = put(cache, tmp_path, b"c" * 100)
    cache.get(a)  # a is now the most recently used; b the least
    cache.pin(b)
    d = put(cache, tmp_path, b"d" * 100)  # over the bound: evict LRU unpinned = c
    assert cache.get(c) is None and not (tmp_path / "cache" / f"{c}.opus").exists()
    assert all(cache.get(x) for x in (a, b, d))
    cache.unpin(b)
    cache.get(a)
    cache.get(d)
    put(cache, tmp_path, b"e" * 100)
    assert cache.get(b) is None  # unpinned and least recently used now
    assert cache.stats().bytes == 300


def test_pins_are_counted(tmp_path):
    cache = Cache(tmp_path / "cache", max_bytes=100)
    a = put(cache, tmp_path, b"a" * 100)
    cache.pin(a)
    cache.pin(a)
    cache.unpin(a)
    put(cache, tmp_path, b"b" * 100)
    assert cache.get(a) is not None  # still pinned once
    cache.unpin(a)
    assert cache.pinned() == set()


def test_pinned_files_may_exceed_the_bound(tmp_path):
    cache = Cache(tmp_path / "cache", max_bytes=50)
    sha = hashlib.sha256(b"x" * 100).hexdigest()
    cache.pin(sha)
    put(cache, tmp_path, b"x" * 100)
    assert cache.get(sha) is not None and cache.stats().bytes == 100


def test_load_verifies_and_restores_recency(tmp_path):
    d = tmp_path / "cache"
    cache = Cache(d, max_bytes=10_000)
    good_old = put(cache, tmp_path, b"old" * 10)
    good_new = put(cache, tmp_path, b"new" * 10)
    past = time.time() - 3600
    os.utime(d / f"{good_old}.opus", (past, past))
    bad = hashlib.sha256(b"original").hexdigest()
    (d / f"{bad}.opus").write_bytes(b"bit rot")
    (d / ".leftover.tmp").write_bytes(b"x")
    (d / "notes.txt").write_bytes(b"x")

    reloaded = Cache(d, max_bytes=30)  # room for one file: the older one goes
    assert sorted(p.name for p in d.iterdir()) == [f"{good_new}.opus"]
    assert reloaded.get(good_new) is not None and reloaded.get(bad) is None
    assert reloaded.stats().files == 1
