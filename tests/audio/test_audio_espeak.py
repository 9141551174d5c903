"""The espeak-ng engine through pyttsx3 in its worker process."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from audio.engines.base import SpeechEngine
from audio.engines.espeak import EspeakEngine
from audio.errors import EngineError
from audio.wavcheck import wav_is_complete
from tests.audio.audio_testkit import SENTENCE_1, SENTENCE_2

pytestmark = pytest.mark.integration


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 1
        assert w.getframerate() == EspeakEngine.sample_rate
        return w.getnframes() / w.getframerate()


def test_engine_satisfies_the_interface() -> None:
    assert isinstance(EspeakEngine(), SpeechEngine)


def test_declared_voices_exist_in_pyttsx3() -> None:
    """Checked in a separate process: pyttsx3 must never load into ours."""
    code = "import json, pyttsx3; print(json.dumps([v.id for v in pyttsx3.init('espeak').getProperty('voices')]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, timeout=60).stdout
    available = set(json.loads(out))
    assert {v.engine_voice for v in EspeakEngine.voices} <= available
    assert {v.id: v.region for v in EspeakEngine.voices} == {
        "vi": "north", "vi-vn-x-central": "central", "vi-vn-x-south": "south",
    }  # fmt: skip
    assert "pyttsx3" not in sys.modules


@pytest.mark.parametrize("voice", ["vi", "vi-vn-x-central", "vi-vn-x-south"])
def test_every_voice_speaks(espeak_engine: EspeakEngine, voice: str) -> None:
    path = espeak_engine.synthesize(SENTENCE_1, voice, 150, timeout_s=20)
    try:
        assert wav_is_complete(path)
        assert 2.0 < wav_seconds(path) < 15.0
    finally:
        path.unlink()


def test_rate_changes_the_duration(espeak_engine: EspeakEngine) -> None:
    slow = espeak_engine.synthesize(SENTENCE_2, "vi", 80, timeout_s=20)
    fast = espeak_engine.synthesize(SENTENCE_2, "vi", 300, timeout_s=20)
    try:
        assert wav_seconds(slow) > 2 * wav_seconds(fast)
    finally:
        slow.unlink()
        fast.unlink()


def test_back_to_back_requests_get_their_own_audio(espeak_engine: EspeakEngine) -> None:
    """Regression: pyttsx3 can drop or misroute an utterance started too early."""
    short, long = "Xin chào.", " ".join([SENTENCE_1, SENTENCE_2])
    durations = []
    for text in [short, long, short, long, short, long]:
        path = espeak_engine.synthesize(text, "vi", 200, timeout_s=20)
        durations.append(wav_seconds(path))
        path.unlink()
    shorts, longs = durations[0::2], durations[1::2]
    assert max(shorts) < 0.3 * min(longs)
    assert max(shorts) - min(shorts) < 0.05 and max(longs) - min(longs) < 0.05


@pytest.mark.parametrize(
    ("text", "voice", "rate", "message"),
    [
        ("Xin chào", "en", 150, "unknown voice"),
        ("Xin chào", "vi", 79, "rate must be"),
        ("Xin chào", "vi", 301, "rate must be"),
        ("   ", "vi", 150, "nothing to say"),
        ("a" * 1001, "vi", 150, "too long"),
    ],
)
def test_bad_requests_are_refused_before_the_worker(text: str, voice: str, rate: int, message: str) -> None:
    engine = EspeakEngine()
    with pytest.raises(EngineError, match=message):
        engine.synthesize(text, voice, rate, timeout_s=5)
    assert engine.worker_pid is None
    engine.close()


def test_close_removes_the_scratch_directory() -> None:
    engine = EspeakEngine()
    path = engine.synthesize("Một.", "vi", 150, timeout_s=20)
    scratch = path.parent
    path.unlink()
    engine.close()
    assert not scratch.exists()
    with pytest.raises(EngineError, match="closed"):
        engine.synthesize("Hai.", "vi", 150, timeout_s=5)
