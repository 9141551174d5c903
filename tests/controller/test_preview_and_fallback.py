"""Preview with the fake pipeline (validation, errors, nothing stored) and the fallback
reason recorded on announcements, with a fake pipeline and with the real fallback engine."""

from __future__ import annotations

import shutil
from dataclasses import fields
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, func, select

from audio.engines.base import Voice
from audio.errors import AudioError, EngineError
from controller.app import create_app
from controller.db import engine_for_url, init_db
from controller.migrations.baseline import baseline_metadata
from controller.models import Announcement
from tests.controller.conftest import AUTH, Env, make_settings
from tests.controller.factories import FakeClock, FakePublisher, seed_province
from tests.controller.speech_fakes import FailingEngine

PREVIEW = "/api/v1/announcements/preview"
REASON = "FPT.AI did not deliver within the time limit; read by espeak-ng instead"


def _count(env: Env) -> int:
    with env.session() as s:
        return s.exec(select(func.count()).select_from(Announcement)).one()


def test_preview_answers_and_stores_nothing(env: Env) -> None:
    res = env.client.post(PREVIEW, json={"text": " Họp thôn. ", "voice": "vi-vn-x-south", "rate": 170, "chime": True})
    assert res.status_code == 200, res.text
    body = res.json()
    sha = body["audio"]["sha256"]
    assert body == {
        "spoken_text": "Họp thôn.",
        "voice": "vi-vn-x-south",
        "audio": {"url": f"http://loa.test:8080/audio/{sha}.opus", "sha256": sha, "duration_ms": 1234, "size": body["audio"]["size"]},
        "fallback_reason": None,
    }
    assert env.client.get(f"/audio/{sha}.opus").status_code == 200
    (req,) = env.pipeline.requests
    assert (req.text, req.voice, req.rate, req.chime) == ("Họp thôn.", "vi-vn-x-south", 170, True)
    assert _count(env) == 0 and env.publisher.published == []


def test_preview_ignores_the_create_only_fields(env: Env) -> None:
    body = {"text": "hi", "targets": {"zones": ["nowhere"]}, "priority": "whatever", "expires_in_s": -5}
    assert env.client.post(PREVIEW, json=body).status_code == 200
    assert env.pipeline.requests[0].voice == "vi"  # the engine's first voice


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"text": ""}, "text is empty"),
        ({"text": "x" * 3001}, "3001 characters; the limit is 3000"),
        ({"text": "a\x07b"}, "control character U+0007"),
        ({"text": "hi", "voice": "en-us"}, "unknown voice 'en-us'; choose one of: vi, vi-vn-x-central, vi-vn-x-south"),
        ({"text": "hi", "voice": ""}, "voice"),
        ({"text": "hi", "rate": 301}, "rate"),
        ({"text": "hi", "speed": 2}, "Extra inputs"),
        ({}, "text"),
    ],
)
def test_bad_preview_is_422(env: Env, body: dict, reason: str) -> None:
    res = env.client.post(PREVIEW, json=body)
    assert res.status_code == 422, res.text
    detail = res.json()["detail"]
    assert reason in (detail if isinstance(detail, str) else str(detail))
    assert env.pipeline.requests == []


@pytest.mark.parametrize(
    ("error", "status", "detail"),
    [
        (EngineError("worker died"), 503, "speech synthesis is unavailable: worker died"),
        (AudioError("text is empty: there is nothing to say"), 422, "cannot turn this text into speech"),
    ],
)
def test_preview_engine_errors(env: Env, error: Exception, status: int, detail: str) -> None:
    env.pipeline.fail_with = error
    res = env.client.post(PREVIEW, json={"text": "..."})
    assert res.status_code == status and detail in res.json()["detail"]


def test_preview_needs_the_token(env: Env) -> None:
    assert TestClient(env.client.app).post(PREVIEW, json={"text": "hi"}).status_code == 401


def test_fallback_reason_is_stored_and_shown(env: Env) -> None:
    env.pipeline.fallback_reason = REASON
    res = env.client.post("/api/v1/announcements", json={"text": "Bão số 3.", "targets": {"all": True}})
    assert res.status_code == 201, res.text
    ann_id = res.json()["id"]
    assert res.json()["fallback_reason"] == REASON
    assert env.client.get(f"/api/v1/announcements/{ann_id}").json()["fallback_reason"] == REASON
    assert env.client.get("/api/v1/announcements").json()["items"][0]["fallback_reason"] == REASON
    assert env.client.post(PREVIEW, json={"text": "Bão số 3."}).json()["fallback_reason"] == REASON
    with env.session() as s:
        assert s.get(Announcement, ann_id).fallback_reason == REASON  # type: ignore[union-attr]

    env.pipeline.fallback_reason = None
    res = env.client.post("/api/v1/announcements", json={"text": "Trời nắng.", "targets": {"all": True}})
    assert res.json()["fallback_reason"] is None


def test_long_fallback_reason_is_trimmed(env: Env) -> None:
    env.pipeline.fallback_reason = "x" * 2000
    res = env.client.post("/api/v1/announcements", json={"text": "hi", "targets": {"all": True}})
    assert res.status_code == 201 and len(res.json()["fallback_reason"]) == 500


def test_old_database_gets_the_new_column(tmp_path: Path) -> None:
    engine = engine_for_url(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        baseline_metadata().create_all(engine)  # as create_all made it before migrations
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE announcement DROP COLUMN fallback_reason"))
        init_db(engine)
        with Session(engine) as s:
            assert s.exec(select(func.count()).select_from(Announcement)).one() == 0
            assert s.exec(select(Announcement.fallback_reason)).all() == []
    finally:
        engine.dispose()


def _pipeline_reports_fallback() -> bool:
    from audio.pipeline import RenderedAudio

    return "fallback_reason" in {f.name for f in fields(RenderedAudio)}


@pytest.mark.integration
@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("ffmpeg")), reason="needs espeak-ng and ffmpeg")
@pytest.mark.skipif(not _pipeline_reports_fallback(), reason="audio.pipeline.RenderedAudio has no fallback_reason yet")
def test_real_fallback_to_espeak_is_recorded(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    from audio.engines.cloud.fallback import FallbackEngine
    from audio.engines.espeak import EspeakEngine

    primary = FailingEngine((Voice("cloud-south", "south", "Cloud – miền Nam", "s1"),))
    engine = FallbackEngine(primary, EspeakEngine(work_dir=tmp_path / "espeak"))
    settings = make_settings(tmp_path, keys[0])
    app = create_app(settings, speech_engine=engine, publisher=FakePublisher(), clock=FakeClock())
    with TestClient(app, headers=AUTH) as client:
        with Session(app.state.ctx.engine) as s:
            seed_province(s)
        res = client.post(
            "/api/v1/announcements", json={"text": "Bão số 3.", "voice": "cloud-south", "targets": {"all": True}}
        )
        assert res.status_code == 201, res.text
        reason = res.json()["fallback_reason"]
        assert "HTTP 503: maintenance" in reason and "espeak-ng" in reason
        assert primary.calls == 1 and res.json()["audio"]["duration_ms"] > 300
        # Not cached under the primary's key: once the service is back, its voice is used.
        preview = client.post("/api/v1/announcements/preview", json={"text": "Bão số 3.", "voice": "cloud-south"})
        assert preview.json()["fallback_reason"] == reason and primary.calls == 2
