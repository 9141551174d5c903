"""Viettel AI specifics: one synchronous JSON request that answers with the audio."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from audio.engines.cloud.viettel import ViettelEngine
from audio.errors import EngineError
from tests.audio.engines.conftest import FAST
from tests.audio.engines.fake_http import LocalServer, Reply, Seen
from tests.audio.engines.fake_services import KEY, FakeService, ViettelService

Serve = Callable[[FakeService], LocalServer]


def test_declares_a_synchronous_engine_with_regional_voices() -> None:
    engine = ViettelEngine(KEY)
    assert engine.synchronous is True
    assert {v.region for v in engine.voices} == {"north", "central", "south"}
    assert engine.max_chars == 2000


@pytest.mark.integration
def test_sends_the_documented_fields(serve: Serve, tmp_path: Path) -> None:
    server = serve(ViettelService())
    engine = ViettelEngine(KEY, base_url=server.url, policy=FAST, work_dir=tmp_path)
    try:
        engine.synthesize("Xin chào bà con.", "viettel-hue-maingoc", 180, timeout_s=10)
    finally:
        engine.close()
    body = server.seen("POST", "/tts/speech_synthesis")[0].json()
    assert body == {
        "text": "Xin chào bà con.",
        "voice": "hue-maingoc",
        "speed": 1.2,
        "tts_return_option": 2,
        "token": KEY,
        "without_filter": False,
    }


@pytest.mark.integration
def test_a_non_audio_success_is_an_error(serve: Serve, tmp_path: Path) -> None:
    def handler(seen: Seen) -> Reply:
        return Reply(200, b"<html>maintenance</html>", "text/html")

    server = LocalServer(handler)
    engine = ViettelEngine(KEY, base_url=server.url, policy=FAST, work_dir=tmp_path)
    try:
        with pytest.raises(EngineError, match="maintenance"):
            engine.synthesize("Xin chào bà con.", "viettel-hn-quynhanh", 150, timeout_s=10)
    finally:
        engine.close()
        server.stop()
