"""Audio outputs behind one tiny interface: `play(path, duration_ms, stop_event, info)`.

`play` blocks for as long as the sound lasts and returns early when `stop_event` is
set (preemption, shutdown). The timeline does not care what makes the sound:
`AlsaPlayer` (`speaker_agent.alsa`) drives a real sound card through ffmpeg on a Pi; `FileSinkPlayer` is the
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
from collections.abc import Callable
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
    relay: str | None = None
    """The relay id when this is a relay (live stream) rather than a play."""
    url: str | None = None
    """The relayed stream's URL."""


class PlayerError(Exception):
    """The output failed (no sound card, ffmpeg error); the detail goes into a `failed` event."""


class Player(Protocol):
    def play(
        self, path: Path, duration_ms: int, stop_event: threading.Event, info: PlayInfo | None = None
    ) -> None:
        """Play `path` to the end or until stop_event is set; raise PlayerError on failure."""
        ...


class ArmedPlay(Protocol):
    """A play whose output is set up ahead of its start (see `ArmingPlayer`)."""

    def play(self, duration_ms: int, stop_event: threading.Event) -> None:
        """Start now; otherwise as `Player.play`."""
        ...

    def disarm(self) -> None:
        """The play will not happen (cancelled, put back, expired): release what was set up."""
        ...


class ArmingPlayer(Player, Protocol):
    """A player with a slow start-up it can do before `play_at` (ffmpeg: tens of ms on a
    PC, hundreds on a Pi). The timeline arms the play when it hands it over, ahead of
    `play_at`, so that at `play_at` only the start itself is left."""

    def arm(self, path: Path, info: PlayInfo | None = None) -> ArmedPlay:
        """Set up the output for `path`; raise PlayerError when that fails."""
        ...


class RelayPlayer(Protocol):
    """A player that can also relay a live stream (both shipped players can)."""

    def relay(self, url: str, end_at: datetime, stop_event: threading.Event, info: PlayInfo | None = None) -> None:
        """Play the stream at `url` until `end_at` (by the clock) or stop_event; restart the
        stream with backoff when it drops; raise PlayerError when it stays unreachable."""
        ...


@dataclass
class RelayOptions:
    """How hard a relay tries to keep a stream on air."""

    backoff_s: float = 1.0
    """First wait before restarting ffmpeg after it ended early; doubled up to backoff_max_s."""
    backoff_max_s: float = 10.0
    max_failures: int = 8
    """Give up (PlayerError, reported `failed`) after this many attempts in a row that
    each ran less than `healthy_s`; an attempt that ran longer resets the count."""
    healthy_s: float = 10.0
    grace_s: float = 3.0
    """How long after end_at a (recording) ffmpeg may take to finish before it is killed."""


RECONNECT_ARGS = ["-reconnect", "1", "-reconnect_streamed", "1", "-reconnect_delay_max", "5"]


@dataclass
class RelayAttempt:
    started: float
    ended: float
    returncode: int | None
    error: str


def run_relay(
    clock: Clock,
    end_at: datetime,
    stop_event: threading.Event,
    argv_for: "Callable[[int, float], list[str]]",
    options: RelayOptions,
    label: str,
) -> list[RelayAttempt]:
    """Run ffmpeg (`argv_for(attempt, remaining_s)`) until `end_at`, restarting it with
    backoff whenever it ends early. Returns the attempts; raises PlayerError after
    `options.max_failures` short attempts in a row. Returns early when stop_event is set."""
    attempts: list[RelayAttempt] = []
    failures = 0
    delay = options.backoff_s
    while not stop_event.is_set():
        remaining = (end_at - clock.now()).total_seconds()
        if remaining <= 0.05:
            break
        argv = argv_for(len(attempts), remaining)
        with tempfile.TemporaryFile() as errors:
            began = time.monotonic()
            try:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
            except OSError as exc:
                raise PlayerError(f"cannot run {argv[0]}: {exc.strerror}") from None
            while proc.poll() is None:
                left = (end_at - clock.now()).total_seconds()
                if stop_event.wait(0.05) or left < -options.grace_s:
                    stop_process(proc)
                    break
            ended = time.monotonic()
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()[-300:]
        attempts.append(RelayAttempt(began, ended, proc.returncode, message))
        if stop_event.is_set() or (end_at - clock.now()).total_seconds() <= 0.5:
            break
        ran = ended - began
        log.warning("relay %s: ffmpeg ended early after %.1fs (exit %s): %s", label, ran, proc.returncode,
                    message or "no message")
        if ran >= options.healthy_s:
            failures, delay = 0, options.backoff_s
        failures += 1
        if failures >= options.max_failures:
            raise PlayerError(
                f"stream unreachable after {failures} attempts (exit {proc.returncode}): {message or 'no message'}"
            )
        wait = min(delay, max(0.0, (end_at - clock.now()).total_seconds()))
        delay = min(delay * 2, options.backoff_max_s)
        if clock.wait(stop_event, wait):
            break
    return attempts


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

    def __init__(
        self,
        state_dir: Path,
        *,
        node_id: str = "",
        realtime: bool = True,
        clock: Clock | None = None,
        ffmpeg: str = "ffmpeg",
        relay_options: RelayOptions | None = None,
        volume: int = 80,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.volume = volume
        """Recorded in every plays.jsonl line, so tests see the volume a real speaker would use."""
        self.relays_dir = self.state_dir / "relays"
        self.ffmpeg = ffmpeg
        self.relay_options = relay_options or RelayOptions()
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
            "volume": self.volume,
        }
        self._append(record)

    def set_volume(self, percent: int) -> None:
        """Volume (0-100) for the following plays."""
        self.volume = percent

    def relay_command(self, url: str, out: Path, remaining_s: float) -> list[str]:
        """Record the live stream: at most `remaining_s` seconds, re-encoded to mono Opus."""
        return [
            self.ffmpeg, "-nostdin", "-loglevel", "error", "-y", *RECONNECT_ARGS, "-i", url,
            "-t", f"{remaining_s:.3f}", "-vn", "-ac", "1", "-c:a", "libopus", "-b:a", "24k", "-f", "ogg", str(out),
        ]

    def relay(self, url: str, end_at: datetime, stop_event: threading.Event, info: PlayInfo | None = None) -> None:
        """Record the stream into `relays/{relay}-{cmd}-{n}.ogg` (one file per ffmpeg run)
        until end_at, then append a plays.jsonl line with the relay id, url and bytes."""
        started = (info.started_at if info is not None else None) or self.clock.now()
        relay_id = (info.relay if info is not None else None) or "relay"
        cmd = info.cmd if info is not None else "cmd"
        self.relays_dir.mkdir(parents=True, exist_ok=True)
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in f"{relay_id}-{cmd}")[:150]
        base = len(list(self.relays_dir.glob(f"{stem}-*.ogg")))  # a resumed relay adds files
        files: list[Path] = []

        def argv(attempt: int, remaining: float) -> list[str]:
            out = self.relays_dir / f"{stem}-{base + attempt}.ogg"
            files.append(out)
            return self.relay_command(url, out, remaining)

        error: PlayerError | None = None
        attempts: list[RelayAttempt] = []
        try:
            attempts = run_relay(self.clock, end_at, stop_event, argv, self.relay_options, relay_id)
        except PlayerError as exc:
            error = exc
        finished = self.clock.now()
        outcome = "finished"
        if error is not None:
            outcome = "failed"
        elif stop_event.is_set():
            outcome = (info.stop_reason if info is not None else None) or "preempted"
        size = sum(f.stat().st_size for f in files if f.exists())
        self._append({
            "node": info.node if info is not None else self.node_id,
            "relay": relay_id,
            "cmd": cmd,
            "url": url,
            "play_at": _iso(info.play_at) if info is not None else None,
            "started_at": _iso(started),
            "finished_at": _iso(finished),
            "outcome": outcome,
            "volume": self.volume,
            "bytes": size,
            "files": [f.name for f in files if f.exists()],
            "attempts": len(attempts) if error is None else self.relay_options.max_failures,
        })
        if error is not None:
            raise error

    def _append(self, record: dict[str, object]) -> None:
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


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 0.3 s: an emergency must be on air within a second."""
    proc.terminate()
    try:
        proc.wait(timeout=0.3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


__all__ = [
    "FileSinkPlayer",
    "PlayInfo",
    "ArmedPlay",
    "ArmingPlayer",
    "Player",
    "PlayerError",
    "RECONNECT_ARGS",
    "RelayAttempt",
    "RelayOptions",
    "RelayPlayer",
    "run_relay",
    "stop_process",
]
