"""The worker process: timeouts kill and replace it, crashes are survived, stdout is silent.

These run a scripted backend (no espeak) so they exercise only the process handling.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from audio.errors import EngineError, EngineTimeout
from audio.wavcheck import wav_is_complete
from audio.worker import SynthWorker
from tests.audio.audio_fake_backends import FailingToStartBackend, ScriptedBackend

pytestmark = pytest.mark.integration


@pytest.fixture
def worker() -> SynthWorker:
    w = SynthWorker(ScriptedBackend, start_timeout_s=20)
    yield w  # type: ignore[misc]
    w.close()


def test_nothing_starts_until_the_first_request(worker: SynthWorker) -> None:
    assert worker.pid is None


def test_request_writes_a_complete_wav(worker: SynthWorker, tmp_path: Path) -> None:
    out = tmp_path / "a.wav"
    worker.run("hello", "v", 150, out, timeout_s=10)
    assert wav_is_complete(out)


def test_hung_backend_is_killed_at_the_timeout_and_replaced(worker: SynthWorker, tmp_path: Path) -> None:
    worker.run("warm up", "v", 150, tmp_path / "0.wav", timeout_s=10)
    first_pid = worker.pid
    started = time.monotonic()
    with pytest.raises(EngineTimeout, match="timed out after 1 s"):
        worker.run("hang", "v", 150, tmp_path / "1.wav", timeout_s=1.0)
    assert 0.9 <= time.monotonic() - started < 5
    assert worker.pid is None  # killed, not left running
    worker.run("after", "v", 150, tmp_path / "2.wav", timeout_s=10)
    assert worker.pid not in (None, first_pid)
    assert wav_is_complete(tmp_path / "2.wav")


def test_timeout_follows_the_injected_clock(tmp_path: Path) -> None:
    offset = [0.0]
    w = SynthWorker(ScriptedBackend, clock=lambda: time.monotonic() + offset[0])
    try:
        w.run("warm up", "v", 150, tmp_path / "0.wav", timeout_s=10)
        jump = threading.Timer(0.3, lambda: offset.__setitem__(0, 7200.0))
        jump.start()
        started = time.monotonic()
        with pytest.raises(EngineTimeout):
            w.run("hang", "v", 150, tmp_path / "1.wav", timeout_s=3600)
        jump.join()
        assert time.monotonic() - started < 5
    finally:
        w.close()


def test_crashing_backend_is_reported_and_replaced(worker: SynthWorker, tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="crashed"):
        worker.run("crash", "v", 150, tmp_path / "1.wav", timeout_s=10)
    worker.run("after", "v", 150, tmp_path / "2.wav", timeout_s=10)
    assert wav_is_complete(tmp_path / "2.wav")


def test_backend_error_keeps_the_worker(worker: SynthWorker, tmp_path: Path) -> None:
    worker.run("warm up", "v", 150, tmp_path / "0.wav", timeout_s=10)
    pid = worker.pid
    with pytest.raises(EngineError, match="ValueError: scripted failure"):
        worker.run("fail", "v", 150, tmp_path / "1.wav", timeout_s=10)
    assert worker.pid == pid


def test_broken_backend_restarts_the_worker(worker: SynthWorker, tmp_path: Path) -> None:
    worker.run("warm up", "v", 150, tmp_path / "0.wav", timeout_s=10)
    pid = worker.pid
    with pytest.raises(EngineError, match="scripted breakage"):
        worker.run("broken", "v", 150, tmp_path / "1.wav", timeout_s=10)
    worker.run("after", "v", 150, tmp_path / "2.wav", timeout_s=10)
    assert worker.pid not in (None, pid)


def test_backend_that_cannot_start(tmp_path: Path) -> None:
    w = SynthWorker(FailingToStartBackend)
    try:
        with pytest.raises(EngineError, match="could not start: RuntimeError: no speech library"):
            w.run("x", "v", 150, tmp_path / "a.wav", timeout_s=10)
        assert w.pid is None
    finally:
        w.close()


def test_worker_stdout_never_reaches_ours(worker: SynthWorker, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    worker.run("hello", "v", 150, tmp_path / "a.wav", timeout_s=10)
    captured = capfd.readouterr()
    assert "Audio saved" not in captured.out
    assert "Audio saved" not in captured.err


def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    w = SynthWorker(ScriptedBackend)
    w.run("hello", "v", 150, tmp_path / "a.wav", timeout_s=10)
    w.close()
    w.close()
    assert w.pid is None
    with pytest.raises(EngineError, match="closed"):
        w.run("again", "v", 150, tmp_path / "b.wav", timeout_s=10)
