"""The shared cloud behaviour that needs no service: splitting, scrubbing, validation."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from audio.engines.cloud.base import CloudPolicy, pack_sentences, speed_factor
from audio.engines.cloud.fpt import FptEngine
from audio.engines.cloud.zalo import ZaloEngine
from audio.errors import EngineError, EngineTimeout
from tests.audio.engines.conftest import FAST
from tests.audio.engines.fake_services import KEY


def test_pack_sentences_fills_requests_up_to_the_limit() -> None:
    text = "Một hai. Ba bốn năm. Sáu."
    assert pack_sentences(text, 100) == [text]
    assert pack_sentences(text, 20) == ["Một hai. Ba bốn năm.", "Sáu."]
    assert all(len(c) <= 8 for c in pack_sentences(text, 8))


def test_pack_sentences_pads_to_a_service_minimum() -> None:
    assert pack_sentences("A", 100, min_chars=3) == ["A.."]
    assert pack_sentences("   ", 100) == []


def test_speed_factor_is_clamped() -> None:
    assert speed_factor(150, 0.8, 1.2) == 1.0
    assert speed_factor(80, 0.8, 1.2) == 0.8
    assert speed_factor(165, 0.8, 1.2) == 1.1


def test_constructing_needs_a_key_but_opens_nothing() -> None:
    with pytest.raises(EngineError, match="no API key"):
        FptEngine("  ")
    calls: list[httpx.Request] = []
    engine = FptEngine(KEY, transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(500)))
    engine.close()
    assert calls == []


def test_requests_are_checked_before_anything_is_sent(tmp_path: Path) -> None:
    engine = ZaloEngine(KEY, base_url="http://127.0.0.1:9", work_dir=tmp_path)
    with pytest.raises(EngineError, match="unknown voice"):
        engine.synthesize("Xin chào", "vi", 150, timeout_s=5)
    with pytest.raises(EngineError, match="rate"):
        engine.synthesize("Xin chào", "zalo-north-female", 20, timeout_s=5)
    with pytest.raises(EngineError, match="nothing to say"):
        engine.synthesize("  ", "zalo-north-female", 150, timeout_s=5)
    engine.close()
    with pytest.raises(EngineError, match="closed"):
        engine.synthesize("Xin chào", "zalo-north-female", 150, timeout_s=5)


def test_echoed_keys_are_scrubbed_and_long_messages_shortened(tmp_path: Path) -> None:
    echo = f"key {KEY} rejected " + "x" * 1000
    transport = httpx.MockTransport(lambda request: httpx.Response(403, json={"message": echo}))
    engine = FptEngine(KEY, policy=FAST, work_dir=tmp_path, transport=transport)
    try:
        with pytest.raises(EngineError) as info:
            engine.synthesize("Xin chào bà con.", "fpt-banmai", 150, timeout_s=5)
    finally:
        engine.close()
    message = str(info.value)
    assert KEY not in message and "key *** rejected" in message
    assert len(message) <= 300


@pytest.mark.integration
def test_connection_refused_is_retried_then_reported(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = FptEngine(KEY, base_url=f"http://127.0.0.1:{port}", policy=FAST, work_dir=tmp_path)
    try:
        with pytest.raises(EngineError, match=r"3 attempts.*connection failed") as info:
            engine.synthesize("Xin chào bà con.", "fpt-banmai", 150, timeout_s=5)
    finally:
        engine.close()
    assert not isinstance(info.value, EngineTimeout)


def test_non_json_answers_are_explained(tmp_path: Path) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>captive portal</html>"))
    engine = FptEngine(KEY, policy=FAST, work_dir=tmp_path, transport=transport)
    try:
        with pytest.raises(EngineError, match=r"non-JSON.*captive portal"):
            engine.synthesize("Xin chào bà con.", "fpt-banmai", 150, timeout_s=5)
    finally:
        engine.close()


def test_the_deadline_covers_backoff(tmp_path: Path) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(503, json={"message": "busy"}))
    slow = CloudPolicy(max_attempts=10, backoff_s=0.4, backoff_max_s=0.4)
    engine = FptEngine(KEY, policy=slow, work_dir=tmp_path, transport=transport)
    started = time.monotonic()
    try:
        with pytest.raises(EngineTimeout):
            engine.synthesize("Xin chào bà con.", "fpt-banmai", 150, timeout_s=1.0)
    finally:
        engine.close()
    assert time.monotonic() - started < 1.1
