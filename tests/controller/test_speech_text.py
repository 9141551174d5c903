"""The real pipeline around a fast fake engine: lexicon before the normaliser, cache
keys that follow lexicon edits, and a preview that is playable and stores nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from audio.normalize import normalize
from controller.app import create_app
from controller.models import Announcement
from controller.settings import ControllerSettings
from tests.controller.conftest import AUTH
from tests.controller.factories import FakeClock, FakePublisher, seed_province
from tests.controller.speech_fakes import ToneEngine, ffprobe

pytestmark = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="the pipeline needs ffmpeg")

PREVIEW = "/api/v1/announcements/preview"


@dataclass
class Speech:
    client: TestClient
    engine: ToneEngine
    publisher: FakePublisher

    def preview(self, text: str, **body: object) -> dict:
        res = self.client.post(PREVIEW, json={"text": text, **body})
        assert res.status_code == 200, res.text
        return res.json()

    def add(self, term: str, spoken: str) -> int:
        res = self.client.post("/api/v1/lexicon", json={"term": term, "spoken": spoken})
        assert res.status_code == 201, res.text
        return int(res.json()["id"])


@pytest.fixture
def speech(settings: ControllerSettings, tmp_path: Path) -> Iterator[Speech]:
    engine, publisher = ToneEngine(tmp_path / "tone"), FakePublisher()
    app = create_app(settings, speech_engine=engine, publisher=publisher, clock=FakeClock())
    with TestClient(app, headers=AUTH) as client:
        with Session(app.state.ctx.engine) as session:
            seed_province(session)
        yield Speech(client, engine, publisher)
    assert engine.closed  # the pipeline owns the engine it was given


def test_lexicon_runs_before_the_normaliser_and_the_engine(speech: Speech) -> None:
    text = "KBNN huyện Ea H'leo nhắn tin qua Vinaphone lúc 7h30."
    before = speech.preview(text)
    assert before["spoken_text"] == normalize(text, "north")
    assert "ca bê en en" in before["spoken_text"]  # what the normaliser alone makes of it

    speech.add("KBNN", "kho bạc nhà nước")
    speech.add("Ea H'leo", "Ê a Hơ lê ô")
    speech.add("Vinaphone", "vi na phôn")
    after = speech.preview(text)
    assert after["spoken_text"] == normalize("kho bạc nhà nước huyện Ê a Hơ lê ô nhắn tin qua vi na phôn lúc 7h30.", "north")
    assert speech.engine.calls[-1][0] == after["spoken_text"]  # the engine got the lexicon's words


def test_region_of_the_voice_picks_the_reading(speech: Speech) -> None:
    text = "Hỗ trợ 1.500 hộ, thôn 105."
    assert speech.preview(text, voice="tone-south")["spoken_text"] == normalize(text, "south")
    assert speech.preview(text)["spoken_text"] == normalize(text, "north")  # default: the first voice
    assert speech.engine.calls[-1][1] == "tone-north"


def test_render_cache_follows_lexicon_edits(speech: Speech) -> None:
    text = "Liên hệ tổng đài Vinaphone."
    first = speech.preview(text)
    assert speech.preview(text)["audio"] == first["audio"] and len(speech.engine.calls) == 1  # cache hit

    entry = speech.add("Vinaphone", "vi na phôn")
    edited = speech.preview(text)
    assert edited["spoken_text"] != first["spoken_text"] and len(speech.engine.calls) == 2  # new key, new render

    speech.client.put(f"/api/v1/lexicon/{entry}", json={"term": "Vinaphone", "spoken": "vi na phôn nờ"})
    assert "vi na phôn nờ" in speech.preview(text)["spoken_text"] and len(speech.engine.calls) == 3

    speech.client.delete(f"/api/v1/lexicon/{entry}")
    assert speech.preview(text) == first and len(speech.engine.calls) == 3  # back to the first key: reused

    speech.add("Hà Nội", "Hà Nội")  # an edit that does not touch this text keeps its key
    assert speech.preview(text) == first and len(speech.engine.calls) == 3


def test_preview_is_playable_and_stores_no_announcement(speech: Speech, tmp_path: Path) -> None:
    body = speech.preview("Thông báo họp thôn.", chime=True, targets={"zones": ["thon-dong"]}, priority="emergency")
    audio = body["audio"]
    assert audio["url"] == f"http://loa.test:8080/audio/{audio['sha256']}.opus"
    assert body["voice"] == "tone-north" and body["fallback_reason"] is None
    res = speech.client.get(f"/audio/{audio['sha256']}.opus")
    assert res.status_code == 200 and len(res.content) == audio["size"]
    path = tmp_path / "preview.opus"
    path.write_bytes(res.content)
    probe = ffprobe(path)
    assert probe["streams"][0]["codec_name"] == "opus"
    assert abs(float(probe["format"]["duration"]) * 1000 - audio["duration_ms"]) < 100
    with Session(speech.client.app.state.ctx.engine) as session:  # type: ignore[attr-defined]
        assert session.exec(select(func.count()).select_from(Announcement)).one() == 0
    assert speech.publisher.published == []


def test_announcement_reuses_the_previewed_audio(speech: Speech) -> None:
    text = "Chiều nay 15h họp thôn."
    preview = speech.preview(text, voice="tone-south")
    res = speech.client.post("/api/v1/announcements", json={"text": text, "voice": "tone-south", "targets": {"all": True}})
    assert res.status_code == 201, res.text
    assert res.json()["audio"] == preview["audio"] and len(speech.engine.calls) == 1


def test_voice_of_another_engine_is_refused(speech: Speech) -> None:
    res = speech.client.post(PREVIEW, json={"text": "xin chào", "voice": "vi"})
    assert res.status_code == 422
    assert res.json()["detail"] == "unknown voice 'vi'; choose one of: tone-north, tone-south"
    voices = speech.client.get("/api/v1/voices").json()["items"]
    assert voices == [
        {"id": "tone-north", "label": "Tone – miền Bắc", "region": "north", "engine": "test-tone"},
        {"id": "tone-south", "label": "Tone – miền Nam", "region": "south", "engine": "test-tone"},
    ]
