"""`loa tts normalize | say | voices` (controller.tts_cli.main), in-process and as a real process."""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from audio.engines.espeak import ESPEAK_VOICES
from audio.normalize import normalize
from controller.db import engine_for_url, init_db
from controller.lexicon import store
from controller.lexicon.models import LexiconEntryIn
from controller.tts_cli import main
from tests.controller.speech_fakes import ffprobe_codec

TEXT = "UBND xã họp lúc 7h30 ngày 2/9, KBNN nghỉ."
ROOT = Path(__file__).resolve().parents[2]
needs_espeak = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("ffmpeg")), reason="needs espeak-ng and ffmpeg"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def state_with_lexicon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A controller state dir whose database says KBNN = "kho bạc nhà nước"; LOA_STATE_DIR points at it."""
    state = tmp_path / "state"
    engine = engine_for_url(f"sqlite:///{state / 'loa.db'}")
    try:
        init_db(engine)
        with Session(engine) as session:
            store.create_entry(session, LexiconEntryIn(term="KBNN", spoken="kho bạc nhà nước"), datetime.now(UTC))
    finally:
        engine.dispose()
    monkeypatch.setenv("LOA_STATE_DIR", str(state))
    return state


def test_normalize_prints_one_line_equal_to_normalize(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "normalize", TEXT)
    assert (code, err) == (0, "")
    assert out == normalize(TEXT, "north") + "\n"


def test_normalize_uses_the_voice_region(capsys: pytest.CaptureFixture[str]) -> None:
    text = "Hỗ trợ 1.500 hộ ở thôn 105."
    assert run(capsys, "normalize", text, "--voice", "vi-vn-x-south")[1] == normalize(text, "south") + "\n"


def test_normalize_reads_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("Họp lúc 7h.\n"))
    code, out, _ = run(capsys, "normalize", "-")
    assert code == 0 and out == "Họp lúc bảy giờ.\n"


def test_normalize_applies_the_lexicon_when_a_database_is_configured(
    state_with_lexicon: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = state_with_lexicon / "loa.db"
    before = db.stat().st_mtime_ns
    code, out, err = run(capsys, "normalize", TEXT)
    assert (code, err) == (0, "")
    assert out == normalize(TEXT.replace("KBNN", "kho bạc nhà nước"), "north") + "\n"
    assert db.stat().st_mtime_ns == before  # opened read-only
    assert run(capsys, "normalize", TEXT, "--no-lexicon")[1] == normalize(TEXT, "north") + "\n"


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["normalize", "hi", "--voice", "en"], {}, "unknown voice 'en'; choose one of: vi, vi-vn-x-central, vi-vn-x-south"),
        (["normalize", "!!!"], {}, "text is empty: there is nothing to say"),
        (["normalize", "hi"], {"LOA_TTS_ENGINE": "fpt"}, "LOA_TTS_ENGINE is 'fpt' but LOA_FPT_API_KEY is not set"),
        (["normalize", "hi", "--engine", "zalo"], {}, "the zalo engine needs LOA_ZALO_API_KEY"),
        (["normalize", "hi"], {"LOA_STATE_DIR": "/nonexistent-loa"}, "no database at /nonexistent-loa/loa.db"),
        (["say", "hi", "-o", "out.flac"], {}, "cannot write .flac; use one of .opus, .ogg, .wav, .mp3"),
        (["say", "hi", "-o", "/nonexistent-loa/out.wav"], {}, "directory /nonexistent-loa does not exist"),
        (["voices"], {"LOA_TTS_ENGINE": "piper", "LOA_PIPER_VOICES": '[{"voice_id": "p", "region": "north", '
                      '"label": "P", "model_path": "/nonexistent-loa/p.onnx"}]'}, "p.onnx not found"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    argv: list[str], env: dict[str, str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith("loa tts: ") and err.count("\n") == 1 and message in err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "frobnicate")
    assert (code, out) == (2, "") and "invalid choice" in err


def test_voices(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "voices")
    assert code == 0
    assert out.splitlines() == [f"{v.id}\t{v.region}\tespeak-ng\t{v.label}" for v in ESPEAK_VOICES]


def test_voices_of_a_cloud_engine_with_fallback(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOA_TTS_ENGINE", "viettel")
    monkeypatch.setenv("LOA_VIETTEL_TOKEN", secrets.token_urlsafe(24))
    code, out, _ = run(capsys, "voices", "--json")
    items = json.loads(out)["items"]
    assert code == 0 and out.count("\n") == 1
    assert items[0]["engine"] == "viettel-ai" and items[-1] == {
        "id": "vi-vn-x-south", "label": ESPEAK_VOICES[2].label, "region": "south", "engine": "espeak-ng"
    }


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}


@pytest.mark.integration
def test_normalize_as_a_process_prints_exactly_one_line() -> None:
    text = "UBND xã họp lúc 7h30"
    code = f"from controller.tts_cli import main; raise SystemExit(main(['normalize', {text!r}]))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_clean_env(), capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8") == normalize(text, "north") + "\n"


@pytest.mark.integration
@needs_espeak
def test_say_writes_opus_and_wav(tmp_path: Path, capsys: pytest.CaptureFixture[str], state_with_lexicon: Path) -> None:
    opus, wav = tmp_path / "a.opus", tmp_path / "a.wav"
    code, out, _ = run(capsys, "say", "KBNN thông báo.", "-o", str(opus), "--voice", "vi-vn-x-south", "--chime")
    assert code == 0 and out.count("\n") == 1
    summary = json.loads(out)
    assert summary["spoken_text"] == "kho bạc nhà nước thông báo." and summary["lexicon"] is True
    assert (summary["format"], summary["voice"], summary["engine"]) == ("opus", "vi-vn-x-south", "espeak-ng")
    assert summary["bytes"] == opus.stat().st_size and opus.read_bytes()[:4] == b"OggS"
    assert ffprobe_codec(opus) == ("opus", 1)

    code, out, _ = run(capsys, "say", "KBNN thông báo.", "-o", str(wav), "--no-lexicon", "--rate", "120")
    assert code == 0 and json.loads(out)["lexicon"] is False
    assert ffprobe_codec(wav) == ("pcm_s16le", 1)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["a.opus", "a.wav"]  # no .part left
