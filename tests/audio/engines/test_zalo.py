"""Zalo AI specifics: a form POST that answers with a link, and its error codes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from audio.engines.cloud.zalo import ZaloEngine
from tests.audio.engines.conftest import FAST
from tests.audio.engines.fake_http import LocalServer, assert_tones, freq_for
from tests.audio.engines.fake_services import KEY, FakeService, ZaloService

Serve = Callable[[FakeService], LocalServer]


def test_four_speakers_cover_north_and_south() -> None:
    engine = ZaloEngine(KEY)
    assert [v.engine_voice for v in engine.voices] == ["1", "2", "3", "4"]
    assert {v.region for v in engine.voices} == {"north", "south"}


@pytest.mark.integration
def test_sends_the_form_and_waits_for_the_link(serve: Serve, tmp_path: Path) -> None:
    server = serve(ZaloService(pending=1))
    engine = ZaloEngine(KEY, base_url=server.url, policy=FAST, work_dir=tmp_path)
    try:
        wav = engine.synthesize("Xin chào bà con.", "zalo-north-male", 300, timeout_s=10)
    finally:
        engine.close()
    assert_tones(wav, [freq_for(0)])
    post = server.seen("POST", "/v1/tts/synthesize")[0]
    assert post.headers["apikey"] == KEY
    assert post.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert post.form() == {"input": "Xin chào bà con.", "speaker_id": "4", "speed": "1.2", "encode_type": "0"}
    assert len(server.seen("GET", "/files/0.wav")) == 2  # one 404, then the file
