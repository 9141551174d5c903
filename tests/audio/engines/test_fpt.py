"""FPT.AI specifics: the asynchronous link that answers 404 until the MP3 is ready."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from audio.engines.cloud.fpt import FptEngine, fpt_speed
from audio.errors import EngineTimeout
from tests.audio.engines.conftest import FAST
from tests.audio.engines.fake_http import LocalServer, assert_tones, freq_for
from tests.audio.engines.fake_services import KEY, FakeService, FptService

Serve = Callable[[FakeService], LocalServer]


def test_speed_steps_follow_the_rate() -> None:
    assert fpt_speed(150) == 0
    assert fpt_speed(190) == 1
    assert fpt_speed(80) == -2
    assert fpt_speed(300) == 3


def test_declares_an_asynchronous_engine_with_regional_voices() -> None:
    engine = FptEngine(KEY)
    assert engine.synchronous is False
    assert {v.region for v in engine.voices} == {"north", "central", "south"}
    assert engine.max_chars == 5000


@pytest.mark.integration
def test_polls_the_link_until_the_file_is_ready(serve: Serve, tmp_path: Path) -> None:
    sim = FptService(pending=3)
    server = serve(sim)
    engine = FptEngine(KEY, base_url=server.url, policy=FAST, work_dir=tmp_path)
    try:
        wav = engine.synthesize("Xin chào bà con.", "fpt-lannhi", 190, timeout_s=10)
    finally:
        engine.close()
    assert_tones(wav, [freq_for(0)])
    polls = server.seen("GET", "/files/0.mp3")
    assert len(polls) == 4  # three 404s, then the file
    post = server.seen("POST", "/hmi/tts/v5")[0]
    assert post.headers["voice"] == "lannhi"
    assert post.headers["speed"] == "1"
    assert post.body.decode("utf-8") == "Xin chào bà con."


@pytest.mark.integration
def test_a_file_that_never_appears_times_out_at_the_deadline(serve: Serve, tmp_path: Path) -> None:
    server = serve(FptService(pending=10_000))
    engine = FptEngine(KEY, base_url=server.url, policy=FAST, work_dir=tmp_path)
    started = time.monotonic()
    try:
        with pytest.raises(EngineTimeout, match="ready"):
            engine.synthesize("Xin chào bà con.", "fpt-banmai", 150, timeout_s=0.8)
    finally:
        engine.close()
    assert time.monotonic() - started < 1.3


@pytest.mark.integration
def test_text_under_the_minimum_is_padded(serve: Serve, tmp_path: Path) -> None:
    sim = FptService()
    server = serve(sim)
    engine = FptEngine(KEY, base_url=server.url, policy=FAST, work_dir=tmp_path)
    try:
        engine.synthesize("Ừ", "fpt-banmai", 150, timeout_s=10)
    finally:
        engine.close()
    assert sim.texts == ["Ừ.."]
