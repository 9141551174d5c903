"""One announcement through the real audio pipeline (espeak-ng + ffmpeg), when it is there."""

from __future__ import annotations

import hashlib
import shutil
import typing

import pytest

from controller.models import Voice

pipeline_mod = pytest.importorskip("audio.pipeline", reason="audio.pipeline is not built yet")


def test_voice_list_matches_the_pipeline() -> None:
    assert typing.get_args(Voice) == tuple(pipeline_mod.VOICES)


@pytest.mark.integration
@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("ffmpeg")), reason="needs espeak-ng and ffmpeg")
def test_announcement_with_real_speech(tmp_path, keys, verifier) -> None:
    from tests.controller.conftest import AUTH, TestClient, make_settings
    from tests.controller.factories import FakeClock, FakePublisher, seed_province

    from controller.app import create_app
    from sqlmodel import Session

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
        audio = res.json()["audio"]
        assert audio["duration_ms"] > 500 and audio["size"] > 1000
        data = client.get(f"/audio/{audio['sha256']}.opus").content
        assert hashlib.sha256(data).hexdigest() == audio["sha256"] and data[:4] == b"OggS"
        (topic, payload, _, _), = publisher.published
        assert verifier.open(topic, payload).play.audio.sha256 == audio["sha256"]  # type: ignore[union-attr]
