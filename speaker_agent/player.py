"""Audio outputs behind one tiny interface: `play(path, duration_ms, stop_event, info)`.

`play` blocks for as long as the sound lasts and returns early when `stop_event` is
set (preemption, shutdown). The timeline does not care what makes the sound:
`AlsaPlayer` drives a real sound card through ffmpeg on a Pi; `FileSinkPlayer` is the
speaker of the demo, the tests and the benchmark - it keeps what it "played" and a
JSON line per play, so a test can check exactly what each node aired and when.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from speaker_agent.clock import Clock, SystemClock

log = logging.getLogger(__name__)


@dataclass
class PlayInfo:
    """What is being played, for players that log it; optional for the rest."""

    node: str
    cmd: str
    announcement: int | None
    sha256: str
    play_at: datetime
    stop_reason: str | None = None
    """Set by the timeline just before it sets stop_event: "preempted" or "stopped"."""
    started_at: datetime | None = None
    """When the timeline started the play (the instant it stamped, before any reporting)."""


class PlayerError(Exception):
    """The output failed (no sound card, ffmpeg error); the detail goes into a `failed` event."""


class Player(Protocol):
    def play(
        self, path: Path, duration_ms: int, stop_event: threading.Event, info: PlayInfo | None = None
    ) -> None:
        """Play `path` to the end or until stop_event is set; raise PlayerError on failure."""
        ...


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


class FileSinkPlayer:
    """A speaker that writes instead of sounding.

    Copies each distinct file it plays to `{state_dir}/played/{sha256}.opus` and appends
    one JSON line per play to `{state_dir}/plays.jsonl` after the play ends, in a single
    O_APPEND write, so a reader never sees half a line. With `realtime` it takes the
    audio's duration to "play" (interruptible), so timing and preemption behave as on a
    real speaker.
    """

    def __init__(self, state_dir: Path, *, node_id: str = "", realtime: bool = True, clock: Clock | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.played_dir = self.state_dir / "played"
        self.log_path = self.state_dir / "plays.jsonl"
        self.node_id = node_id
        self.realtime = realtime
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self.played_dir.mkdir(parents=True, exist_ok=True)

    def play(
        self, path: Path, duration_ms: int, stop_event: threading.Event, info: PlayInfo | None = None
    ) -> None:
        started = (info.started_at if info is not None else None) or self.clock.now()
        sha = info.sha256 if info is not None else Path(path).stem
        if self.realtime and duration_ms > 0:
            self.clock.wait(stop_event, duration_ms / 1000)
        finished = self.clock.now()
        # Copied after "playing": nothing but the wait may sit between play_at and the start.
        self._keep_copy(Path(path), sha)
        outcome = "finished"
        if stop_event.is_set():
            outcome = (info.stop_reason if info is not None else None) or "preempted"
        record = {
            "node": info.node if info is not None else self.node_id,
            "announcement": info.announcement if info is not None else None,
            "cmd": info.cmd if info is not None else None,
            "sha256": sha,
            "play_at": _iso(info.play_at) if info is not None else None,
            "started_at": _iso(started),
            "finished_at": _iso(finished),
            "outcome": outcome,
        }
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def _keep_copy(self, path: Path, sha: str) -> None:
        target = self.played_dir / f"{sha}{path.suffix or '.opus'}"
        if target.exists():
            return
        tmp = target.with_name(f".{target.name}.{threading.get_ident()}.tmp")
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise PlayerError(f"file sink cannot copy {path.name}: {exc}") from None


class AlsaPlayer:
    """Plays through ffmpeg to an ALSA device; the ffmpeg process is killed on stop.

    The stop event is polled every 50 ms and a stopped ffmpeg gets 0.3 s to exit before
    SIGKILL, so a preempting emergency or an operator's stop silences the speaker well
    within a second.
    """

    def __init__(self, device: str = "default", volume: int = 80, ffmpeg: str = "ffmpeg") -> None:
        self.device = device
        self.volume = volume
        self.ffmpeg = ffmpeg

    def command(self, path: Path) -> list[str]:
        return [
            self.ffmpeg, "-nostdin", "-loglevel", "error", "-i", str(path),
            "-af", f"volume={self.volume / 100:.2f}", "-f", "alsa", self.device,
        ]

    def play(
        self, path: Path, duration_ms: int, stop_event: threading.Event, info: PlayInfo | None = None
    ) -> None:
        # stderr goes to a file, not a pipe: a chatty ffmpeg must not block on a full pipe.
        with tempfile.TemporaryFile() as errors:
            try:
                proc = subprocess.Popen(
                    self.command(path), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors
                )
            except OSError as exc:
                raise PlayerError(f"cannot run {self.ffmpeg}: {exc.strerror}") from None
            # A wedged sound device must not block the node forever.
            deadline = time.monotonic() + duration_ms / 1000 + 60
            while proc.poll() is None:
                if stop_event.wait(0.05) or time.monotonic() > deadline:
                    _terminate(proc)
                    if not stop_event.is_set():
                        raise PlayerError("ffmpeg did not finish in time; killed")
                    return
            if proc.returncode != 0:
                errors.seek(0)
                message = errors.read().decode(errors="replace").strip()[-300:]
                raise PlayerError(f"ffmpeg exited {proc.returncode}: {message or 'no message'}")


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 0.3 s: an emergency must be on air within a second."""
    proc.terminate()
    try:
        proc.wait(timeout=0.3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


__all__ = ["AlsaPlayer", "FileSinkPlayer", "PlayInfo", "Player", "PlayerError"]
