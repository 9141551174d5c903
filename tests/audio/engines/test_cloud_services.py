"""The contract every cloud adapter keeps, checked against each service's simulator.

Success, transient failures, refusals, hung services and over-long text behave the
same for FPT.AI, Viettel AI, Vbee and Zalo AI; service-specific waiting and error
formats are in the per-service modules.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from audio.errors import EngineError, EngineTimeout
from tests.audio.engines.conftest import CASES, FAST, ServiceCase
from tests.audio.engines.fake_http import LocalServer, assert_tones, freq_for, wav_info
from tests.audio.engines.fake_services import KEY, FakeService

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES]),
]

Serve = Callable[[FakeService], LocalServer]
TEXT = "Sáng mai lúc bảy giờ, bà con thôn Một mang giấy tờ đến nhà văn hóa."


def test_success_returns_a_wav_at_the_engine_rate(case: ServiceCase, serve: Serve, tmp_path: Path) -> None:
    sim = case.service()
    server = serve(sim)
    engine = case.engine(server.url, tmp_path)
    try:
        wav = engine.synthesize(TEXT, case.voice, 150, timeout_s=10)
        rate, channels, frames = wav_info(wav)
        assert (rate, channels) == (engine.sample_rate, 1)
        assert frames > 0.25 * rate
        assert_tones(wav, [freq_for(0)])
        assert sim.texts == [TEXT]
    finally:
        engine.close()


def test_result_files_are_fetched_without_credentials(
    case: ServiceCase, serve: Serve, tmp_path: Path
) -> None:
    server = serve(case.service())
    engine = case.engine(server.url, tmp_path)
    try:
        engine.synthesize(TEXT, case.voice, 150, timeout_s=10)
    finally:
        engine.close()
    downloads = server.seen("GET", "/files/")
    if case.name == "viettel":
        assert downloads == []  # the audio came in the answer itself
    else:
        assert downloads
    for seen in downloads:
        assert KEY not in repr(seen.headers)


def test_5xx_is_retried_then_succeeds(case: ServiceCase, serve: Serve, tmp_path: Path) -> None:
    sim = case.service(fail_first=2)
    server = serve(sim)
    engine = case.engine(server.url, tmp_path)
    try:
        wav = engine.synthesize(TEXT, case.voice, 150, timeout_s=10)
        assert wav_info(wav)[2] > 0
    finally:
        engine.close()
    assert len(server.seen("POST", "/")) == 3


def test_persistent_5xx_gives_up_with_the_service_message(
    case: ServiceCase, serve: Serve, tmp_path: Path
) -> None:
    server = serve(case.service(fail_first=99))
    engine = case.engine(server.url, tmp_path)
    try:
        with pytest.raises(EngineError, match="overloaded") as info:
            engine.synthesize(TEXT, case.voice, 150, timeout_s=10)
    finally:
        engine.close()
    assert not isinstance(info.value, EngineTimeout)
    assert "3 attempts" in str(info.value)
    assert len(server.seen("POST", "/")) == FAST.max_attempts


def test_bad_key_is_not_retried_and_never_shown(case: ServiceCase, serve: Serve, tmp_path: Path) -> None:
    server = serve(case.service())
    wrong = "sk-WRONG-987654321"
    engine = case.engine(server.url, tmp_path, key=wrong)
    try:
        with pytest.raises(EngineError) as info:
            engine.synthesize(TEXT, case.voice, 150, timeout_s=10)
    finally:
        engine.close()
    message = str(info.value)
    assert "HTTP 401" in message
    assert wrong not in message and "***" in message  # the simulator echoed it back
    assert len(server.seen("POST", "/")) == 1


def test_service_refusal_carries_its_message(case: ServiceCase, serve: Serve, tmp_path: Path) -> None:
    server = serve(case.service(refuse="Văn bản chứa ký tự không hợp lệ"))
    engine = case.engine(server.url, tmp_path)
    try:
        with pytest.raises(EngineError, match="Văn bản chứa ký tự không hợp lệ") as info:
            engine.synthesize(TEXT, case.voice, 150, timeout_s=10)
    finally:
        engine.close()
    assert KEY not in str(info.value)


def test_hung_service_times_out_within_the_deadline(case: ServiceCase, serve: Serve, tmp_path: Path) -> None:
    server = serve(case.service(delay_s=30))
    engine = case.engine(server.url, tmp_path)
    started = time.monotonic()
    try:
        with pytest.raises(EngineTimeout) as info:
            engine.synthesize(TEXT, case.voice, 150, timeout_s=1.0)
    finally:
        engine.close()
    assert time.monotonic() - started < 1.5
    assert KEY not in str(info.value)


def test_over_long_text_is_split_at_sentences_and_joined_in_order(
    case: ServiceCase, serve: Serve, tmp_path: Path
) -> None:
    # Five sentences of ~0.45 x limit: packed two per request -> three requests.
    filler = "bà con chú ý lắng nghe "
    sentences = [
        (f"Thông báo số {i}: " + filler * (case.limit * 45 // 100 // len(filler)))[
            : case.limit * 45 // 100
        ].strip()
        + "."
        for i in range(5)
    ]
    text = " ".join(sentences)
    assert len(text) > 2 * case.limit
    sim = case.service()
    server = serve(sim)
    engine = case.engine(server.url, tmp_path)
    try:
        wav = engine.synthesize(text, case.voice, 150, timeout_s=20)
    finally:
        engine.close()
    assert len(sim.texts) == 3
    assert all(len(t) <= case.limit for t in sim.texts)
    assert " ".join(sim.texts) == text
    assert all(t.endswith(".") for t in sim.texts)  # cut at sentence ends
    assert_tones(wav, [freq_for(0), freq_for(1), freq_for(2)])
