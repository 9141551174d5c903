"""FallbackEngine: the chosen voice when it works, espeak-ng (here a tone) when not, reported."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from audio.engines.base import SpeechEngine, Voice
from audio.engines.cloud import FallbackEngine, FptEngine
from audio.engines.cloud.fallback import ReportingEngine, region_voice_map
from audio.errors import EngineError, EngineTimeout
from tests.audio.audio_testkit import ToneEngine
from tests.audio.engines.conftest import FAST
from tests.audio.engines.fake_http import LocalServer, wav_info
from tests.audio.engines.fake_services import KEY, FakeService, FptService

Serve = Callable[[FakeService], LocalServer]


class ScriptedPrimary:
    """A primary engine that fails (or not) as told."""

    name = "scripted"
    voices = (
        Voice("p-north", "north", "north", "n"),
        Voice("p-central", "central", "central", "c"),
        Voice("p-south", "south", "south", "s"),
    )
    sample_rate = 22050
    max_chars = 5000
    synchronous = False

    def __init__(self, error: Exception | None, work_dir: Path) -> None:
        self.error = error
        self.work_dir = work_dir
        self.closed = False

    def synthesize(self, text: str, voice: str, rate: int, *, timeout_s: float) -> Path:
        if self.error is not None:
            raise self.error
        path = self.work_dir / "primary.wav"
        path.write_bytes(b"RIFF")
        return path

    def close(self) -> None:
        self.closed = True


def _pair(tmp_path: Path, error: Exception | None) -> tuple[FallbackEngine, ScriptedPrimary, ToneEngine]:
    primary = ScriptedPrimary(error, tmp_path)
    fallback = ToneEngine(tmp_path)
    return FallbackEngine(primary, fallback, work_dir=tmp_path), primary, fallback


def test_is_a_speech_engine_with_both_engines_voices(tmp_path: Path) -> None:
    engine, primary, fallback = _pair(tmp_path, None)
    assert isinstance(engine, SpeechEngine) and isinstance(engine, ReportingEngine)
    assert engine.voices == primary.voices + fallback.voices
    assert engine.max_chars == primary.max_chars
    assert engine.name == "scripted+test-tone"


def test_primary_success_reports_no_fallback(tmp_path: Path) -> None:
    engine, _, fallback = _pair(tmp_path, None)
    path, reason = engine.synthesize_with_report("Xin chào.", "p-north", 150, timeout_s=5)
    assert path.name == "primary.wav" and reason is None
    assert fallback.calls == []


@pytest.mark.parametrize("error", [EngineError("FPT.AI refused: quota"), EngineTimeout("FPT.AI too slow")])
def test_primary_failure_uses_the_fallback_of_the_same_region(tmp_path: Path, error: Exception) -> None:
    engine, _, fallback = _pair(tmp_path, error)
    path, reason = engine.synthesize_with_report("Xin chào.", "p-south", 150, timeout_s=5)
    assert path.exists()
    assert reason == f"{error}; read by test-tone instead"
    assert fallback.calls == [("Xin chào.", "vi-vn-x-south", 150)]


def test_a_fallback_voice_chosen_by_name_is_not_a_fallback(tmp_path: Path) -> None:
    engine, _, fallback = _pair(tmp_path, EngineError("never asked"))
    path, reason = engine.synthesize_with_report("Xin chào.", "vi", 150, timeout_s=5)
    assert path.exists() and reason is None
    assert fallback.calls == [("Xin chào.", "vi", 150)]


def test_region_without_a_fallback_voice_uses_its_first_voice() -> None:
    mapping = region_voice_map(ScriptedPrimary.voices, ToneEngine.voices)
    assert mapping == {"p-north": "vi", "p-central": "vi", "p-south": "vi-vn-x-south"}


def test_both_failing_is_one_error_naming_both(tmp_path: Path) -> None:
    primary = ScriptedPrimary(EngineError("Vbee down"), tmp_path)
    broken_fallback = ScriptedPrimary(EngineError("espeak worker crashed"), tmp_path)
    engine = FallbackEngine(primary, broken_fallback)
    with pytest.raises(EngineError, match="Vbee down; fallback scripted also failed: espeak worker crashed"):
        engine.synthesize_with_report("Xin chào.", "p-north", 150, timeout_s=5)


def test_a_bug_in_the_primary_is_not_hidden(tmp_path: Path) -> None:
    engine, _, fallback = _pair(tmp_path, ZeroDivisionError("bug"))
    with pytest.raises(ZeroDivisionError):
        engine.synthesize("Xin chào.", "p-north", 150, timeout_s=5)
    assert fallback.calls == []


def test_voice_map_must_name_fallback_voices(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="does not have"):
        FallbackEngine(ScriptedPrimary(None, tmp_path), ToneEngine(tmp_path), voice_map={"p-north": "nope"})


def test_close_closes_both(tmp_path: Path) -> None:
    engine, primary, _ = _pair(tmp_path, None)
    engine.close()
    assert primary.closed


@pytest.mark.integration
def test_long_text_is_split_for_the_fallback_and_joined(tmp_path: Path) -> None:
    engine, _, fallback = _pair(tmp_path, EngineTimeout("too slow"))
    text = "Một hai ba bốn năm sáu bảy. " * 6  # 168 chars; the tone engine takes 60
    path, reason = engine.synthesize_with_report(text.strip(), "p-north", 150, timeout_s=10)
    assert reason is not None
    assert len(fallback.calls) > 1 and all(len(c[0]) <= ToneEngine.max_chars for c in fallback.calls)
    rate, _, frames = wav_info(path)
    assert rate == ToneEngine.sample_rate and frames > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # pieces removed


@pytest.mark.integration
def test_a_real_cloud_outage_falls_back_without_leaking_the_key(serve: Serve, tmp_path: Path) -> None:
    server = serve(FptService(fail_first=99))
    cloud = FptEngine(KEY, base_url=server.url, policy=FAST, work_dir=tmp_path / "fpt")
    engine = FallbackEngine(cloud, ToneEngine(tmp_path))
    try:
        path, reason = engine.synthesize_with_report("Xin chào bà con.", "fpt-minhquang", 150, timeout_s=5)
    finally:
        engine.close()
    assert path.exists()
    assert reason is not None and "FPT.AI" in reason and "overloaded" in reason and KEY not in reason
