"""Vbee specifics: submit a job, poll its status (no callback needed), fetch the link."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from audio.engines.cloud.vbee import VbeeEngine
from audio.errors import EngineError
from tests.audio.engines.conftest import FAST
from tests.audio.engines.fake_http import LocalServer, assert_tones, freq_for
from tests.audio.engines.fake_services import KEY, FakeService, VbeeService

Serve = Callable[[FakeService], LocalServer]


def _engine(url: str, work_dir: Path) -> VbeeEngine:
    return VbeeEngine(KEY, app_id="app-42", callback_url="https://loa.invalid/cb", base_url=url,
                      policy=FAST, work_dir=work_dir)  # fmt: skip


def test_needs_an_app_id_and_a_callback_url() -> None:
    with pytest.raises(EngineError, match="app_id"):
        VbeeEngine(KEY, app_id="", callback_url="https://loa.invalid/cb")
    with pytest.raises(EngineError, match="callback_url"):
        VbeeEngine(KEY, app_id="a", callback_url="not a url")
    assert VbeeEngine(KEY, app_id="a", callback_url="https://x.invalid").synchronous is False


@pytest.mark.integration
def test_polls_in_progress_until_success(serve: Serve, tmp_path: Path) -> None:
    server = serve(VbeeService(pending=2))
    engine = _engine(server.url, tmp_path)
    try:
        wav = engine.synthesize("Xin chào bà con.", "vbee-sg-thaotrinh", 120, timeout_s=10)
    finally:
        engine.close()
    assert_tones(wav, [freq_for(0)])
    assert len(server.seen("GET", "/api/v1/tts/job-0")) == 3
    submit = server.seen("POST", "/api/v1/tts")[0]
    assert submit.headers["authorization"] == f"Bearer {KEY}"
    body = submit.json()
    assert body["app_id"] == "app-42"
    assert body["callback_url"] == "https://loa.invalid/cb"
    assert body["response_type"] == "indirect"
    assert body["voice_code"] == "sg_female_thaotrinh_full_48k-fhg"
    assert body["speed_rate"] == "0.8"
    assert (body["audio_type"], body["bitrate"]) == ("mp3", 128)


@pytest.mark.integration
def test_a_failed_job_reports_vbee_s_message(serve: Serve, tmp_path: Path) -> None:
    server = serve(VbeeService(pending=1, fail_job="Voice not available"))
    engine = _engine(server.url, tmp_path)
    try:
        with pytest.raises(EngineError, match="Voice not available"):
            engine.synthesize("Xin chào bà con.", "vbee-hn-ngochuyen", 150, timeout_s=10)
    finally:
        engine.close()
