"""Recorded announcements from the compose page: the upload streams through /ui/recordings
(size limit counted as it arrives), errors come back in Vietnamese by code, and the form
then submits the recording's sha256 with a title."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlmodel import select

from controller.models import Announcement
from controller.settings import ControllerSettings
from tests.controller.conftest import make_settings
from tests.controller.web.conftest import Web, WebClient

pytestmark = pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("ffprobe")), reason="needs ffmpeg")

VOICE_LIKE = "aevalsrc=(0.3+0.25*sin(2*PI*3*t))*sin(2*PI*220*t):s=16000"


@pytest.fixture
def settings(tmp_path: Path, keys: tuple[Path, Path]) -> ControllerSettings:
    return make_settings(tmp_path, keys[0], recording_max_mb=0.2, recording_max_seconds=4)


def wav(seconds: float) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", VOICE_LIKE, "-t", str(seconds),
         "-c:a", "pcm_s16le", "-f", "wav", "pipe:1"],
        check=True, capture_output=True, timeout=60,
    ).stdout  # fmt: skip


def upload(who: WebClient, data: bytes, name: str = "tin.wav", **fields: str):
    return who.client.post("/ui/recordings", files={"file": (name, data, "audio/wav")}, data=fields,
                           headers={"X-CSRF-Token": who.csrf})


def test_upload_then_submit_a_recording(web: Web) -> None:
    r = upload(web.editor, wav(2.0), chime="true")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["url"] == f"/audio/{body['sha256']}.opus" and body["chime"] is True
    form = {"mode": "recording", "title": "Thông báo tiêm phòng", "recording_sha256": body["sha256"],
            "zones": ["thon-tay"], "priority": "normal", "when": "now", "repeat_count": "1", "repeat_gap": "0"}
    assert web.editor.post("/compose", form).status_code == 303
    with web.env.session() as s:
        ann = s.exec(select(Announcement)).one()
    assert (ann.source, ann.text, ann.audio_sha256, ann.status, ann.chime) == (
        "recording", "Thông báo tiêm phòng", body["sha256"], "awaiting_approval", True)


def test_bad_uploads_get_vietnamese_messages_by_code(web: Web) -> None:
    text = upload(web.editor, "Thông báo họp thôn\n".encode() * 50, name="tin.mp3")
    assert text.status_code == 422
    assert text.json() == {"code": "not_audio", "detail": "Tệp này không phải tệp âm thanh. Hãy chọn tệp MP3, WAV, M4A hoặc OGG."}
    big = upload(web.editor, b"\0" * 300_000)
    assert big.status_code == 413 and big.json()["code"] == "too_large" and "lớn hơn 0.2 MB" in big.json()["detail"]
    long = upload(web.editor, wav(6.0))  # 192 kB: under the size limit, over the 4 s one
    assert long.status_code == 422 and long.json()["code"] == "too_long"
    assert long.json()["detail"] == "Bản ghi dài quá mức cho phép (0 phút 4 giây). Hãy cắt ngắn hoặc chia thành nhiều bản tin."


def test_upload_rules(web: Web) -> None:
    assert upload(web.viewer, wav(1.0)).status_code == 403
    no_header = web.editor.client.post("/ui/recordings", files={"file": ("a.wav", b"x", "audio/wav")},
                                       data={"csrf_token": web.editor.csrf})
    assert no_header.status_code == 422 and no_header.json()["code"] == "not_multipart"
    assert web.anon().post("/ui/recordings", files={"file": ("a.wav", b"x", "audio/wav")}).status_code in (401, 403)


def test_unknown_recording_keeps_the_form(web: Web) -> None:
    form = {"mode": "recording", "title": "Tin cũ", "recording_sha256": "a" * 64, "nodes": ["bac-1"],
            "priority": "priority", "when": "now", "repeat_count": "1", "repeat_gap": "0"}
    r = web.leader.post("/compose", form)
    assert r.status_code == 422
    assert "Không tìm thấy tệp ghi âm đã tải lên; hãy chọn tệp lại." in r.text
    assert 'value="Tin cũ"' in r.text and 'id="priority-priority" name="priority" value="priority" checked' in r.text
