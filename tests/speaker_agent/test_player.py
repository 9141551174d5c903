"""The ALSA backend: its ffmpeg command line, and that stop really kills the process."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from speaker_agent.player import AlsaPlayer, PlayerError


def test_ffmpeg_command_line():
    player = AlsaPlayer(device="hw:1,0", volume=80)
    assert player.command(Path("/c/x.opus")) == [
        "ffmpeg", "-nostdin", "-loglevel", "error", "-i", "/c/x.opus", "-af", "volume=0.80", "-f", "alsa", "hw:1,0",
    ]


def test_missing_binary_is_a_player_error(tmp_path):
    with pytest.raises(PlayerError, match="cannot run"):
        AlsaPlayer(ffmpeg=str(tmp_path / "no-ffmpeg")).play(tmp_path / "a.opus", 100, threading.Event())


@pytest.mark.integration
def test_stop_kills_the_output_process(tmp_path):
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
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
