"""The ALSA backend: its ffmpeg command line, that stop really kills the process, and armed plays."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from speaker_agent.alsa import AlsaPlayer
from speaker_agent.player import PlayerError


def test_ffmpeg_command_line():
    player = AlsaPlayer(device="hw:1,0", volume=80)
    assert player.command() == [  # the audio comes through stdin: see test_armed_*
        "ffmpeg", "-nostdin", "-loglevel", "error", "-i", "pipe:0", "-af", "volume=0.80", "-f", "alsa", "hw:1,0",
    ]


def test_missing_binary_is_a_player_error(tmp_path):
    with pytest.raises(PlayerError, match="cannot run"):
        AlsaPlayer(ffmpeg=str(tmp_path / "no-ffmpeg")).play(tmp_path / "a.opus", 100, threading.Event())


@pytest.mark.integration
def test_stop_kills_the_output_process(tmp_path):
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    (tmp_path / "a.opus").write_bytes(b"opus")
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    t0 = time.monotonic()
    AlsaPlayer(ffmpeg=str(fake)).play(tmp_path / "a.opus", 30_000, stop)
    assert time.monotonic() - t0 < 2


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_ffmpeg_failure_is_reported(tmp_path):
    (tmp_path / "a.opus").write_bytes(b"not audio")
    with pytest.raises(PlayerError, match="ffmpeg exited"):
        AlsaPlayer(device="loa-no-such-device").play(tmp_path / "a.opus", 100, threading.Event())


# -- armed plays, through real ffmpeg into ALSA's `file` device (no sound card needed) ---

RATE = 48_000


def alsa_file(path: Path) -> str:
    """An ALSA device that writes what it is given to `path` (raw samples) and discards it."""
    return f"file:FILE={path},FORMAT=raw"


@pytest.fixture
def sine(tmp_path) -> Path:
    out = tmp_path / "sine.opus"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=440:d=1", "-ac", "1",
         "-c:a", "libopus", "-b:a", "24k", str(out)], check=True,
    )  # fmt: skip
    return out


@pytest.mark.integration
def test_armed_play_waits_silently_then_plays_the_whole_file(tmp_path, sine):
    raw = tmp_path / "out.raw"
    armed = AlsaPlayer(device=alsa_file(raw)).arm(sine)
    try:
        time.sleep(0.3)  # ffmpeg is up and waiting on its stdin ...
        assert not raw.exists()  # ... without having opened the device
    finally:
        armed.play(1000, threading.Event())
    # 1 s of mono 16-bit samples at 48 kHz reached the device.
    assert abs(raw.stat().st_size - RATE * 2) <= RATE * 2 * 0.05


@pytest.mark.integration
def test_the_wav_test_tone_plays_armed_too(tmp_path):
    from speaker_agent.control import TONE_RATE, TONE_S, tone_wav

    tone, raw = tmp_path / "tone.wav", tmp_path / "out.raw"
    tone.write_bytes(tone_wav())
    AlsaPlayer(device=alsa_file(raw)).arm(tone).play(int(TONE_S * 1000), threading.Event())
    assert abs(raw.stat().st_size - TONE_RATE * 2 * TONE_S) <= TONE_RATE * 2 * TONE_S * 0.05


@pytest.mark.integration
def test_a_disarmed_play_stops_its_ffmpeg_and_plays_nothing(tmp_path, sine):
    raw = tmp_path / "out.raw"
    armed = AlsaPlayer(device=alsa_file(raw)).arm(sine)
    proc = armed._proc
    armed.disarm()
    assert proc.poll() is not None and not raw.exists()
    armed.disarm()  # twice is harmless


@pytest.mark.integration
def test_an_armed_play_whose_file_vanished_fails_cleanly(tmp_path, sine):
    armed = AlsaPlayer(device=alsa_file(tmp_path / "out.raw")).arm(tmp_path / "gone.opus")
    proc = armed._proc
    with pytest.raises(PlayerError, match="cannot read gone.opus"):
        armed.play(1000, threading.Event())
    assert proc.poll() is not None
