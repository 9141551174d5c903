"""One announcement through the real audio pipeline (espeak-ng + ffmpeg), when it is there."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from audio.engines.espeak import ESPEAK_VOICES
from controller.app import create_app
from protocol.signing import Verifier
from tests.controller.conftest import AUTH, make_settings
from tests.controller.factories import FakeClock, FakePublisher, seed_province


def test_voices_come_from_the_configured_engine(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    app = create_app(make_settings(tmp_path, keys[0]), publisher=FakePublisher())  # real pipeline, espeak-ng
    with TestClient(app, headers=AUTH) as client:
        items = client.get("/api/v1/voices").json()["items"]
    assert [(v["id"], v["region"], v["engine"]) for v in items] == [
        (v.id, v.region, "espeak-ng") for v in ESPEAK_VOICES
    ]


@pytest.mark.integration
@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("ffmpeg")), reason="needs espeak-ng and ffmpeg")
def test_announcement_with_real_speech(tmp_path: Path, keys: tuple[Path, Path], verifier: Verifier) -> None:
    settings = make_settings(tmp_path, keys[0])
    publisher = FakePublisher()
    app = create_app(settings, publisher=publisher, clock=FakeClock())  # the real pipeline
    with TestClient(app, headers=AUTH) as client:
        with Session(app.state.ctx.engine) as s:
            seed_province(s)
        res = client.post(
            "/api/v1/announcements",
            json={"text": "Thông báo: 15h ngày 2/9 họp thôn.", "targets": {"zones": ["thon-dong"]}, "chime": True},
        )
        assert res.status_code == 201, res.text
        body = res.json()
        assert body["voice"] == "vi" and body["fallback_reason"] is None
        audio = body["audio"]
        assert audio["duration_ms"] > 500 and audio["size"] > 1000
        data = client.get(f"/audio/{audio['sha256']}.opus").content
        assert hashlib.sha256(data).hexdigest() == audio["sha256"] and data[:4] == b"OggS"
        (topic, payload, _, _), = publisher.published
        assert verifier.open(topic, payload).play.audio.sha256 == audio["sha256"]  # type: ignore[union-attr]
