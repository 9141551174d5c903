"""Emergency audio carried inline in the command: ready without HTTP, verified, else downloaded."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

from protocol.commands import AudioRef, Priority
from speaker_agent.cache import Cache
from speaker_agent.fetch import INLINE_PREFIX, Fetcher
from tests.speaker_agent.helpers import audio_ref, play_command, wait_until
from tests.speaker_agent.test_agent import CMD_TOPIC, events, make_agent, plays

DATA = os.urandom(40_000)
FLOW = ["received", "ready", "started", "finished"]


def inline(data: bytes, url: str, payload: bytes | None = None) -> AudioRef:
    """An AudioRef for `data` carrying `payload` (default: `data` itself) inline."""
    ref = audio_ref(data, url)
    return ref.model_copy(update={"data": base64.b64encode(data if payload is None else payload).decode()})


def make_fetcher(tmp_path) -> Fetcher:
    return Fetcher(tmp_path / "partial", Cache(tmp_path / "cache", max_bytes=10_000_000), timeout_s=2, attempts=2,
                   backoff_s=0.01)


@pytest.fixture
def agent(tmp_path, keys):
    a, link = make_agent(tmp_path, keys)
    a.start()
    yield a, link
    a.stop()


def deliver(link, keys, ref: AudioRef, announcement: int = 5):
    cmd = play_command(ref, announcement=announcement, priority=Priority.EMERGENCY)
    link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, cmd))
    return cmd


def test_inline_audio_plays_without_any_http_request(agent, keys, server, tmp_path):
    a, link = agent
    deliver(link, keys, inline(DATA, server.url("missing.opus")))  # the URL would 404
    assert wait_until(lambda: events(link) == FLOW)
    assert server.requests == []
    [record] = plays(tmp_path)
    assert record["outcome"] == "finished" and record["sha256"] == hashlib.sha256(DATA).hexdigest()
    cached = tmp_path / "state" / "cache" / f"{record['sha256']}.opus"
    assert cached.read_bytes() == DATA


def test_inline_audio_with_an_unreachable_server(agent, keys):
    a, link = agent
    deliver(link, keys, inline(DATA, "http://127.0.0.1:9/refused.opus"))  # nothing listens on port 9
    assert wait_until(lambda: events(link) == FLOW)


def test_the_staged_timeline_does_not_keep_the_inline_bytes(tmp_path, keys, server):
    a, link = make_agent(tmp_path, keys)
    a.start()
    try:
        ref = inline(DATA, server.url("missing.opus"))
        cmd = play_command(ref, announcement=6, play_in_s=30, priority=Priority.EMERGENCY)
        link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, cmd))
        assert wait_until(lambda: events(link) == ["received", "ready"])
        stored = (tmp_path / "state" / "timeline.json").read_text()
        assert cmd.id in stored and ref.sha256 in stored
        assert ref.data is not None and ref.data[:64] not in stored
    finally:
        a.stop()
    assert server.requests == []


@pytest.mark.parametrize("payload", [os.urandom(40_000), b"short"], ids=["wrong-hash", "wrong-size"])
def test_bad_inline_audio_falls_back_to_the_download(agent, keys, server, tmp_path, payload, caplog):
    a, link = agent
    deliver(link, keys, inline(DATA, server.add("a.opus", DATA), payload))
    assert wait_until(lambda: events(link) == FLOW)
    assert server.requests == [("/a.opus", None)]
    assert "downloading" in caplog.text
    [record] = plays(tmp_path)
    assert record["outcome"] == "finished"


def test_malformed_base64_falls_back_to_the_download(agent, keys, server):
    a, link = agent
    ref = audio_ref(DATA, server.add("a.opus", DATA)).model_copy(update={"data": "%%% not base64 %%%"})
    deliver(link, keys, ref)
    assert wait_until(lambda: events(link) == FLOW)
    assert server.requests == [("/a.opus", None)]
    assert a.rejected_commands == 0


def test_a_cached_file_is_used_without_decoding(agent, keys, server):
    a, link = agent
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, play_command(ref, announcement=1)))
    assert wait_until(lambda: events(link, 1) == FLOW)
    deliver(link, keys, ref.model_copy(update={"data": base64.b64encode(b"junk").decode()}), announcement=2)
    assert wait_until(lambda: events(link, 2) == FLOW)
    assert len(server.requests) == 1


# -- Fetcher.store_inline on its own ---------------------------------------------------------


def test_store_inline_moves_a_complete_file_into_the_cache(tmp_path):
    fetcher = make_fetcher(tmp_path)
    ref = inline(DATA, "http://127.0.0.1:9/a.opus")
    path = fetcher.store_inline(ref)
    assert path == tmp_path / "cache" / f"{ref.sha256}.opus" and path.read_bytes() == DATA
    assert list((tmp_path / "partial").iterdir()) == []  # the temp file was renamed, not copied
    assert fetcher.cache.get(ref.sha256) == path


def test_store_inline_without_data_returns_none(tmp_path):
    assert make_fetcher(tmp_path).store_inline(audio_ref(DATA)) is None


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    fetcher = make_fetcher(tmp_path)

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    assert fetcher.store_inline(inline(DATA, "http://127.0.0.1:9/a.opus")) is None
    assert list((tmp_path / "partial").iterdir()) == []
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_crash_mid_write_is_swept_at_the_next_start(tmp_path):
    (tmp_path / "partial").mkdir()
    stray = tmp_path / "partial" / f"{INLINE_PREFIX}abc.part"
    stray.write_bytes(DATA[:100])
    keep = tmp_path / "partial" / f"{'a' * 64}.part"  # a resumable download stays
    keep.write_bytes(DATA[:100])
    make_fetcher(tmp_path)
    assert not stray.exists() and keep.exists()
