from __future__ import annotations

import hashlib
import os
import threading

import pytest

from speaker_agent.cache import Cache
from speaker_agent.fetch import FetchError, Fetcher
from tests.speaker_agent.helpers import audio_ref

DATA = os.urandom(300_000)


def make_fetcher(tmp_path, attempts=4) -> Fetcher:
    cache = Cache(tmp_path / "cache", max_bytes=10_000_000)
    return Fetcher(tmp_path / "partial", cache, timeout_s=5, attempts=attempts, backoff_s=0.01)


def test_plain_download(tmp_path, server):
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    path = make_fetcher(tmp_path).fetch(ref)
    assert path == tmp_path / "cache" / f"{ref.sha256}.opus" and path.read_bytes() == DATA
    assert list((tmp_path / "partial").iterdir()) == []
    assert server.requests == [("/a.opus", None)]


def test_cached_file_is_not_downloaded_again(tmp_path, server):
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    fetcher = make_fetcher(tmp_path)
    fetcher.fetch(ref)
    fetcher.fetch(ref)
    assert len(server.requests) == 1


def test_truncated_response_is_resumed_with_range(tmp_path, server):
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    server.faults = ["truncate"]
    path = make_fetcher(tmp_path).fetch(ref)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == ref.sha256
    assert [r for _, r in server.requests] == [None, f"bytes={len(DATA) // 2}-"]


def test_partial_from_an_earlier_run_is_resumed(tmp_path, server):
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / f"{ref.sha256}.part").write_bytes(DATA[:1000])
    make_fetcher(tmp_path).fetch(ref)
    assert server.requests == [("/a.opus", "bytes=1000-")]


def test_server_ignoring_range_restarts_cleanly(tmp_path, server):
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    server.faults = ["truncate", "ignore-range"]
    path = make_fetcher(tmp_path).fetch(ref)
    assert path.read_bytes() == DATA and len(server.requests) == 2


def test_corrupted_bytes_rejected_by_hash_and_fetched_again(tmp_path, server):
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    server.faults = ["truncate", "corrupt"]  # resumed part corrupted: whole file must go
    path = make_fetcher(tmp_path).fetch(ref)
    assert path.read_bytes() == DATA
    assert [r for _, r in server.requests] == [None, f"bytes={len(DATA) // 2}-", None]


def test_persistent_corruption_gives_up_and_keeps_nothing(tmp_path, server):
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    server.faults = ["corrupt"] * 3
    with pytest.raises(FetchError, match="after 3 attempts.*sha256 mismatch"):
        make_fetcher(tmp_path, attempts=3).fetch(ref)
    assert list((tmp_path / "cache").iterdir()) == [] and list((tmp_path / "partial").iterdir()) == []


def test_404_fails_at_once_with_reason(tmp_path, server):
    ref = audio_ref(DATA, server.url("missing.opus"))
    with pytest.raises(FetchError, match="HTTP 404"):
        make_fetcher(tmp_path).fetch(ref)
    assert len(server.requests) == 1


def test_more_bytes_than_announced_are_refused(tmp_path, server):
    server.add("a.opus", DATA)
    ref = audio_ref(DATA[:1000], server.url("a.opus"))
    with pytest.raises(FetchError, match="bytes"):
        make_fetcher(tmp_path, attempts=2).fetch(ref)
    assert list((tmp_path / "cache").iterdir()) == []


def test_unreachable_server_retries_then_fails(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    ref = audio_ref(DATA, f"http://127.0.0.1:{port}/a.opus")
    with pytest.raises(FetchError, match="after 2 attempts"):
        make_fetcher(tmp_path, attempts=2).fetch(ref)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/a.opus", "/relative.opus"])
def test_non_http_urls_are_refused(tmp_path, url):
    with pytest.raises(FetchError, match="only http"):
        make_fetcher(tmp_path).fetch(audio_ref(DATA, url))


def test_stop_event_aborts(tmp_path, server):
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    stop = threading.Event()
    stop.set()
    with pytest.raises(FetchError, match="stopping"):
        make_fetcher(tmp_path).fetch(ref, stop)


def test_concurrent_fetches_of_one_file_download_once(tmp_path, server):
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    fetcher = make_fetcher(tmp_path)
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(fetcher.fetch(ref))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(server.requests) == 1
    assert fetcher._locks == {}  # per-file locks do not pile up
