"""One place that runs ffmpeg, so every call gets a timeout and a readable error.

pydub shells out to ffmpeg without a timeout; our own calls (measurement, limiting)
go through :func:`run_ffmpeg` so a wedged ffmpeg cannot block a render forever.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from audio.errors import AudioError

DEFAULT_TIMEOUT_S = 120.0


def ffmpeg_binary() -> str:
    """Locate ffmpeg at call time (not import time) so a missing binary fails clearly."""
    path = shutil.which("ffmpeg")
    if path is None:
        raise AudioError("ffmpeg is not installed (Debian package 'ffmpeg')")
    return path


def run_ffmpeg(
    args: Sequence[str], *, stdin: bytes | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with ``args``; raise AudioError with the tail of stderr on failure."""
    cmd = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-nostats", *args]
    try:
        proc = subprocess.run(
            cmd,
            input=stdin if stdin is not None else b"",
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AudioError(f"ffmpeg did not finish within {timeout_s:.0f} s") from exc
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise AudioError(f"ffmpeg failed (exit {proc.returncode}): {' | '.join(tail)}")
    return proc
