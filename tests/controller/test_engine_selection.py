"""Choosing the speech engine from settings: keys required, fallback built, voices listed."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from audio.engines.cloud import FallbackEngine, FptEngine, VbeeEngine, ViettelEngine, ZaloEngine
from audio.engines.cloud.fpt import FPT_VOICES
from audio.engines.espeak import ESPEAK_VOICES, EspeakEngine
from audio.errors import EngineError
from controller.app import ConfigError, create_app, preflight
from controller.engines import build_engine, voice_catalogue
from controller.settings import describe_error
from controller.tts_settings import TtsSettings
from tests.controller.conftest import AUTH, make_settings
from tests.controller.factories import FakePipeline, FakePublisher

KEY = secrets.token_urlsafe(24)


def tts(**kw: object) -> TtsSettings:
    return TtsSettings(**kw)  # type: ignore[arg-type]


def test_every_field_is_described() -> None:
    assert all(f.description for f in TtsSettings.model_fields.values())


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"tts_engine": "fpt"}, "LOA_TTS_ENGINE is 'fpt' but LOA_FPT_API_KEY is not set"),
        ({"tts_engine": "viettel", "fpt_api_key": KEY}, "LOA_TTS_ENGINE is 'viettel' but LOA_VIETTEL_TOKEN is not set"),
        ({"tts_engine": "vbee", "vbee_token": KEY},
         "LOA_TTS_ENGINE is 'vbee' but LOA_VBEE_APP_ID and LOA_VBEE_CALLBACK_URL is not set"),
        ({"tts_engine": "zalo", "zalo_api_key": "  "}, "LOA_TTS_ENGINE is 'zalo' but LOA_ZALO_API_KEY is not set"),
        ({"tts_engine": "piper"}, "LOA_PIPER_VOICES is empty"),
        ({"tts_engine": "azure"}, "LOA_TTS_ENGINE: Input should be 'espeak', 'piper'"),
        ({"fpt_api_key": "changeme-changeme"}, "looks like a placeholder"),
        ({"fpt_api_key": "abc def ghi jkl"}, "whitespace"),
        ({"fpt_base_url": "ftp://x"}, "http:// or https://"),
        ({"piper_voices": [{"voice_id": "Bad Id", "region": "north", "label": "x", "model_path": "/x"}]},
         "LOA_PIPER_VOICES[0].voice_id: String should match pattern"),
        ({"piper_voices": [{"voice_id": "p", "region": "west", "label": "x", "model_path": "/x"}]},
         "LOA_PIPER_VOICES[0].region: Input should be 'north', 'central' or 'south'"),
        ({"piper_voices": [{"voice_id": "p", "region": "north", "label": "x", "model_path": "/x", "speed": 1}]},
         "Extra inputs"),
        ({"piper_voices": [{"voice_id": "p", "region": "north", "label": "x", "model_path": "/x"}] * 2},
         "duplicate voice_id(s): p"),
    ],
)
def test_bad_tts_settings_are_refused(kw: dict, message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        tts(**kw)
    assert message in describe_error(exc.value)
    assert "changeme" not in describe_error(exc.value)


def test_placeholder_keys_are_allowed_in_development() -> None:
    assert tts(mode="development", tts_engine="fpt", fpt_api_key="test-key").fpt_api_key is not None


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOA_TTS_ENGINE", "piper")
    monkeypatch.setenv("LOA_TTS_FALLBACK", "false")
    voices = [{"voice_id": "piper-vais", "region": "north", "label": "VAIS", "model_path": str(tmp_path / "v.onnx")}]
    monkeypatch.setenv("LOA_PIPER_VOICES", json.dumps(voices))
    monkeypatch.setenv("LOA_FPT_API_KEY", "")  # set but empty: not configured
    monkeypatch.setenv("LOA_API_TOKENS", "not-a-tts-setting")  # the controller's, ignored here
    s = TtsSettings()
    assert (s.tts_engine, s.tts_fallback, s.fpt_api_key) == ("piper", False, None)
    assert s.piper_voices[0].model_path == tmp_path / "v.onnx"


def test_espeak_is_the_default() -> None:
    engine = build_engine(tts())
    assert isinstance(engine, EspeakEngine) and engine.worker_pid is None  # nothing started
    engine.close()


@pytest.mark.parametrize(
    ("kw", "cls"),
    [
        ({"tts_engine": "fpt", "fpt_api_key": KEY, "fpt_base_url": "http://127.0.0.1:9/fpt/"}, FptEngine),
        ({"tts_engine": "viettel", "viettel_token": KEY}, ViettelEngine),
        ({"tts_engine": "vbee", "vbee_token": KEY, "vbee_app_id": "app-1", "vbee_callback_url": "https://x.test/cb"},
         VbeeEngine),
        ({"tts_engine": "zalo", "zalo_api_key": KEY}, ZaloEngine),
    ],
)
def test_cloud_engines_with_and_without_fallback(kw: dict, cls: type) -> None:
    wrapped = build_engine(tts(**kw))
    assert isinstance(wrapped, FallbackEngine) and isinstance(wrapped.primary, cls)
    assert isinstance(wrapped.fallback, EspeakEngine)
    wrapped.close()
    bare = build_engine(tts(tts_fallback=False, **kw))
    assert isinstance(bare, cls)
    bare.close()


def test_base_url_reaches_the_engine() -> None:
    engine = build_engine(tts(tts_engine="fpt", fpt_api_key=KEY, fpt_base_url="http://127.0.0.1:9/fpt/", tts_fallback=False))
    assert isinstance(engine, FptEngine) and engine.base_url == "http://127.0.0.1:9/fpt"


def test_engine_override_without_its_key_is_refused() -> None:
    with pytest.raises(EngineError, match="the zalo engine needs LOA_ZALO_API_KEY, which is not set"):
        build_engine(tts(), engine="zalo")


def test_missing_piper_model_stops_the_controller_before_it_starts(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    voices = [{"voice_id": "piper-vais", "region": "north", "label": "VAIS", "model_path": str(tmp_path / "nope.onnx")}]
    settings = make_settings(tmp_path, keys[0], tts_engine="piper", piper_voices=voices)
    with pytest.raises(ConfigError, match=r"speech engine 'piper' cannot be used: .*nope.onnx not found"):
        preflight(settings)


def test_voice_catalogue_names_the_engine_of_each_voice() -> None:
    engine = build_engine(tts(tts_engine="fpt", fpt_api_key=KEY))
    try:
        catalogue = voice_catalogue(engine.voices, engine)
    finally:
        engine.close()
    assert [(v.id, v.engine) for v in catalogue] == [(v.id, "fpt-ai") for v in FPT_VOICES] + [
        (v.id, "espeak-ng") for v in ESPEAK_VOICES
    ]


def test_voices_endpoint_reflects_the_configured_engine(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    settings = make_settings(tmp_path, keys[0], tts_engine="fpt", fpt_api_key=KEY)
    app = create_app(settings, publisher=FakePublisher())  # the real pipeline over FPT.AI + espeak-ng
    with TestClient(app, headers=AUTH) as client:
        items = client.get("/api/v1/voices").json()["items"]
        assert items[0] == {"id": "fpt-banmai", "label": FPT_VOICES[0].label, "region": "north", "engine": "fpt-ai"}
        assert {v["id"]: v["engine"] for v in items}["vi-vn-x-south"] == "espeak-ng"
        assert len(items) == len(FPT_VOICES) + len(ESPEAK_VOICES)
        assert TestClient(app).get("/api/v1/voices").status_code == 401


def test_announcements_accept_the_engines_voices_only(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    settings = make_settings(tmp_path, keys[0])
    pipeline = FakePipeline(tmp_path / "audio", voices=FPT_VOICES)
    app = create_app(settings, pipeline=pipeline, publisher=FakePublisher())
    with TestClient(app, headers=AUTH) as client:
        preview = "/api/v1/announcements/preview"
        assert client.post(preview, json={"text": "hi", "voice": "fpt-lannhi"}).status_code == 200
        assert client.post(preview, json={"text": "hi"}).json()["voice"] == "fpt-banmai"
        res = client.post(preview, json={"text": "hi", "voice": "vi"})
        assert res.status_code == 422 and res.json()["detail"].startswith("unknown voice 'vi'; choose one of: fpt-banmai")
