"""Recorded announcements through the controller: POST /api/v1/recordings (real ffmpeg),
and announcements that play an upload instead of synthesised speech."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request
from sqlmodel import Session, select

from controller.accounts.actor import Actor
from controller.accounts.roles import Role
from controller.announce import AnnouncementError
from controller.api.recordings import receive_upload
from controller.app import create_app
from controller.models import AnnouncementCreate, AuditEntry
from controller.recordings import upload_recording
from protocol.signing import Verifier
from tests.controller.conftest import AUTH, Env, make_settings
from tests.controller.factories import FakeClock, FakePipeline, FakePublisher, seed_province

pytestmark = pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("ffprobe")), reason="needs ffmpeg")

UPLOAD = "/api/v1/recordings"
VOICE_LIKE = "aevalsrc=(0.3+0.25*sin(2*PI*3*t))*sin(2*PI*220*t):s=16000"


def wav(seconds: float = 3.0, source: str = VOICE_LIKE) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", source, "-t", str(seconds),
         "-c:a", "pcm_s16le", "-f", "wav", "pipe:1"],
        check=True, capture_output=True, timeout=60,
    ).stdout  # fmt: skip


def upload(env: Env, data: bytes, name: str = "thong-bao.wav", **fields: str):
    return env.client.post(UPLOAD, files={"file": (name, data, "audio/wav")}, data=fields)


def scratch_files(env: Env) -> list[Path]:
    root = env.ctx.settings.state_dir / "scratch"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_upload_masters_and_serves_it(env: Env) -> None:
    res = upload(env, wav(3.0))
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["url"] == f"http://loa.test:8080/audio/{body['sha256']}.opus"
    assert abs(body["duration_ms"] - 3000) < 150 and body["chime"] is False
    served = env.client.get(f"/audio/{body['sha256']}.opus")
    assert served.status_code == 200 and len(served.content) == body["size"] and served.content[:4] == b"OggS"
    assert scratch_files(env) == []
    with env.session() as s:
        entry = s.exec(select(AuditEntry)).one()
        assert (entry.actor, entry.action, entry.target) == ("api", "recording.uploaded", f"audio:{body['sha256']}")


def test_upload_with_chime(env: Env) -> None:
    plain = upload(env, wav(3.0)).json()
    chimed = upload(env, wav(3.0), chime="true").json()
    assert chimed["chime"] is True and chimed["duration_ms"] > plain["duration_ms"] + 1000


def test_text_renamed_mp3_is_not_audio(env: Env) -> None:
    res = upload(env, "Thông báo họp thôn\n".encode() * 100, name="thong-bao.mp3")
    assert res.status_code == 422
    assert res.json()["code"] == "not_audio" and "not a recording" in res.json()["detail"]
    assert scratch_files(env) == []


def test_silent_upload_is_refused(env: Env) -> None:
    silent = upload(env, wav(2.0, "anullsrc=r=16000:cl=mono"))
    assert (silent.status_code, silent.json()["code"]) == (422, "silent")


def test_not_multipart_is_refused(env: Env) -> None:
    res = env.client.post(UPLOAD, content=wav(1.0), headers={"Content-Type": "audio/wav"})
    assert (res.status_code, res.json()["code"]) == (422, "not_multipart")
    no_file = env.client.post(UPLOAD, files={"other": ("a.wav", wav(1.0), "audio/wav")})
    assert (no_file.status_code, no_file.json()["code"]) == (422, "not_multipart")


@pytest.fixture
def small_env(tmp_path: Path, keys: tuple[Path, Path]) -> Iterator[Env]:
    """The app with tight recording limits: 64 KB uploads, 2 s recordings."""
    settings = make_settings(tmp_path, keys[0], recording_max_mb=0.0625, recording_max_seconds=2)
    publisher, clock = FakePublisher(), FakeClock()
    pipeline = FakePipeline(settings.audio_dir or settings.state_dir / "audio")
    app = create_app(settings, pipeline=pipeline, publisher=publisher, clock=clock)
    with TestClient(app, headers=AUTH) as client:
        with Session(app.state.ctx.engine) as session:
            passwords = seed_province(session)
        yield Env(client, app.state.ctx, publisher, pipeline, clock, passwords)


def test_limits_from_settings(small_env: Env) -> None:
    big = upload(small_env, wav(3.0))  # 96 KB of 16 kHz PCM
    assert (big.status_code, big.json()["code"]) == (413, "too_large")
    long = upload(small_env, wav(3.0, VOICE_LIKE.replace("s=16000", "s=8000")))  # 48 KB, 3 s
    assert (long.status_code, long.json()["code"]) == (422, "too_long")
    assert scratch_files(small_env) == []
    assert list((small_env.ctx.settings.audio_dir or Path("/nonexistent")).glob("*.opus")) == []


def test_size_is_limited_while_streaming(tmp_path: Path) -> None:
    """A chunked upload declares no length: the count while streaming must stop it, long
    before the body ends (TestClient buffers whole bodies, so drive the receiver directly)."""
    boundary = "loa-test-boundary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.wav"\r\n\r\n'.encode()
    pulled = 0

    async def receive() -> dict[str, object]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": head if pulled == 1 else b"\0" * 65536, "more_body": True}

    scope = {"type": "http", "method": "POST", "path": UPLOAD, "headers": [
        (b"content-type", f"multipart/form-data; boundary={boundary}".encode())]}
    with pytest.raises(AnnouncementError) as err:
        asyncio.run(receive_upload(Request(scope, receive), tmp_path / "file", 1_000_000))
    assert (err.value.status_code, err.value.code) == (413, "too_large")
    assert pulled <= 1_000_000 // 65536 + 3  # stopped at the limit, not at the (endless) end
    assert (tmp_path / "file").stat().st_size <= 1_000_000


# -- announcements that play a recording ------------------------------------------------


def announce(env: Env, **body: object):
    body.setdefault("text", "Lời kêu gọi của Chủ tịch xã")
    body.setdefault("targets", {"zones": ["thon-dong"]})
    return env.client.post("/api/v1/announcements", json=body)


def test_announcement_plays_the_recording(env: Env, verifier: Verifier) -> None:
    rec = upload(env, wav(3.0), chime="true").json()
    res = announce(env, recording={"sha256": rec["sha256"]})
    assert res.status_code == 201, res.text
    body = res.json()
    assert (body["source"], body["voice"], body["status"], body["chime"]) == ("recording", "recording", "sent", True)
    assert body["audio"] == {k: rec[k] for k in ("url", "sha256", "duration_ms", "size")}
    assert env.pipeline.requests == []  # nothing synthesised
    cmd = verifier.open(*env.publisher.published[0][:2])
    assert cmd.play is not None and cmd.play.audio.sha256 == rec["sha256"]


@pytest.mark.parametrize(
    ("extra", "code"),
    [({"voice": "vi"}, "recording_with_voice"), ({"rate": 150}, "recording_with_voice"),
     ({"chime": True}, "recording_chime_mismatch"), ({"text": "x" * 201}, "title_too_long")],
)  # fmt: skip
def test_recording_requests_are_one_way_only(env: Env, extra: dict, code: str) -> None:
    rec = upload(env, wav(2.0)).json()
    res = announce(env, recording={"sha256": rec["sha256"]}, **extra)
    assert (res.status_code, res.json()["code"]) == (422, code)
    assert env.publisher.published == []


def test_only_uploaded_recordings_can_be_announced(env: Env) -> None:
    rendered = env.client.post("/api/v1/announcements/preview", json={"text": "Xin chào"}).json()
    for sha in (rendered["audio"]["sha256"], "a" * 64):
        res = announce(env, recording={"sha256": sha})
        assert (res.status_code, res.json()["code"]) == (422, "recording_not_found")
    malformed = announce(env, recording={"sha256": "../../x"})
    assert malformed.status_code == 422
    assert env.publisher.published == []


def test_editor_recording_waits_for_approval_then_airs(env: Env, verifier: Verifier) -> None:
    editor, leader = Actor("lan", Role.EDITOR), Actor("hung", Role.LEADER)
    rec = asyncio.run(upload_recording(env.ctx.announcer, wav(2.5), editor))
    req = AnnouncementCreate.model_validate(
        {"text": "Thông báo thu gom rác", "targets": {"nodes": ["bac-1"]}, "recording": {"sha256": rec.sha256}}
    )
    submitted = asyncio.run(env.ctx.announcer.submit(req, editor))
    assert submitted.status == "awaiting_approval" and submitted.source == "recording"
    assert env.publisher.published == []
    approved = asyncio.run(env.ctx.announcer.approve(submitted.id, leader))
    assert approved.status == "sent"
    cmd = verifier.open(*env.publisher.published[0][:2])
    assert cmd.play is not None and cmd.play.audio.sha256 == rec.sha256


def test_viewer_cannot_upload(env: Env) -> None:
    with pytest.raises(AnnouncementError) as err:
        asyncio.run(upload_recording(env.ctx.announcer, wav(1.0), Actor("xem", Role.VIEWER)))
    assert (err.value.status_code, err.value.code) == (403, "forbidden")
