"""The Piper engine with a tiny generated voice: real piper-tts, onnxruntime and worker.

The voice is built by :mod:`tests.audio.engines.tiny_piper` (no download); its
"speech" is a sine whose length follows the phoneme count and the speaking rate.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# Looked up, not imported: piper's bundled espeak-ng must stay out of the test process
# (it runs in the engine's worker process and in tiny_piper's child process).
if importlib.util.find_spec("piper") is None:
    pytest.skip("needs the 'piper' extra (piper-tts)", allow_module_level=True)
pytest.importorskip("onnx", reason="needs onnx to generate the test voice")

from audio.engines.base import SpeechEngine
from audio.engines.piper import PiperEngine, PiperModel
from audio.errors import EngineError, EngineTimeout
from tests.audio.engines.fake_http import wav_info
from tests.audio.engines.tiny_piper import write_tiny_voice

TEXT = "Sáng mai lúc bảy giờ, bà con thôn Một mang giấy tờ đến nhà văn hóa."


@pytest.fixture(scope="module")
def voice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("piper-voices")
    write_tiny_voice(directory, "vi_VN-tiny-test", sample_rate=16000)
    write_tiny_voice(directory, "vi_VN-tiny-slow", sample_rate=16000, slow=True)
    return directory


def _model(path: Path, voice_id: str = "piper-vi-tiny", config: Path | None = None) -> PiperModel:
    return PiperModel(voice_id, "north", "Tiny test voice", path, config)


@pytest.fixture(scope="module")
def engine(voice_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PiperEngine]:
    e = PiperEngine(
        [_model(voice_dir / "vi_VN-tiny-test.onnx")], work_dir=tmp_path_factory.mktemp("piper-work")
    )
    yield e
    e.close()


def test_declares_the_model_rate_and_the_configured_voice(voice_dir: Path) -> None:
    e = PiperEngine([_model(voice_dir / "vi_VN-tiny-test.onnx")])
    assert isinstance(e, SpeechEngine)
    assert e.sample_rate == 16000
    assert [(v.id, v.region, v.engine_voice) for v in e.voices] == [
        ("piper-vi-tiny", "north", "vi_VN-tiny-test")
    ]
    assert e.worker_pid is None  # nothing starts until the first request
    e.close()


@pytest.mark.integration
def test_synthesises_a_wav_at_the_model_rate(engine: PiperEngine) -> None:
    wav = engine.synthesize(TEXT, "piper-vi-tiny", 150, timeout_s=60)
    try:
        rate, channels, frames = wav_info(wav)
        assert (rate, channels) == (16000, 1)
        assert frames > 5000  # hop_length samples per phoneme id
        assert engine.worker_pid is not None
    finally:
        wav.unlink()


@pytest.mark.integration
def test_a_slower_rate_gives_longer_speech(engine: PiperEngine) -> None:
    slow = engine.synthesize(TEXT, "piper-vi-tiny", 100, timeout_s=60)
    fast = engine.synthesize(TEXT, "piper-vi-tiny", 200, timeout_s=60)
    try:
        ratio = wav_info(slow)[2] / wav_info(fast)[2]
        assert ratio == pytest.approx(2.0, rel=0.05)
    finally:
        slow.unlink()
        fast.unlink()


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"model file .*nowhere\.onnx not found"):
        PiperEngine([_model(tmp_path / "nowhere.onnx")])


def test_missing_or_broken_config_is_a_clear_error(voice_dir: Path, tmp_path: Path) -> None:
    model = voice_dir / "vi_VN-tiny-test.onnx"
    with pytest.raises(EngineError, match=r"config file .* not found"):
        PiperEngine([_model(model, config=tmp_path / "missing.json")])
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"audio": {}}), encoding="utf-8")
    with pytest.raises(EngineError, match="not a Piper voice config"):
        PiperEngine([_model(model, config=broken)])


def test_requests_are_validated(engine: PiperEngine) -> None:
    with pytest.raises(EngineError, match="unknown voice"):
        engine.synthesize(TEXT, "vi", 150, timeout_s=5)
    with pytest.raises(EngineError, match="rate"):
        engine.synthesize(TEXT, "piper-vi-tiny", 500, timeout_s=5)
    with pytest.raises(EngineError, match="too long"):
        engine.synthesize("a" * 401, "piper-vi-tiny", 150, timeout_s=5)


@pytest.mark.integration
def test_a_corrupt_model_fails_with_the_path(voice_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.onnx"
    bad.write_bytes(b"this is not an onnx model")
    config = voice_dir / "vi_VN-tiny-test.onnx.json"
    e = PiperEngine([_model(bad, config=config)], start_timeout_s=60)
    try:
        with pytest.raises(EngineError, match=r"cannot load Piper model .*corrupt\.onnx"):
            e.synthesize(TEXT, "piper-vi-tiny", 150, timeout_s=30)
    finally:
        e.close()


@pytest.mark.integration
def test_a_hung_model_times_out_and_its_worker_is_killed(voice_dir: Path, tmp_path: Path) -> None:
    models = [
        _model(voice_dir / "vi_VN-tiny-test.onnx"),
        _model(voice_dir / "vi_VN-tiny-slow.onnx", "piper-slow"),
    ]
    e = PiperEngine(models, work_dir=tmp_path, start_timeout_s=60)
    try:
        e.synthesize("Xin chào.", "piper-vi-tiny", 150, timeout_s=60).unlink()  # worker up, models loaded
        pid = e.worker_pid
        started = time.monotonic()
        with pytest.raises(EngineTimeout, match="timed out after 1 s"):
            e.synthesize("Xin chào.", "piper-slow", 150, timeout_s=1.0)
        assert time.monotonic() - started < 2.0
        assert e.worker_pid is None  # killed; a fresh one starts on the next request
        assert list(tmp_path.iterdir()) == []  # no partial WAV left behind
        e.synthesize("Xin chào.", "piper-vi-tiny", 150, timeout_s=60).unlink()
        assert e.worker_pid not in (None, pid)
    finally:
        e.close()
