"""The Pi's speaker: ffmpeg decoding the cached file to an ALSA device.

Starting ffmpeg is the slow part of a play: loading it and its libraries, then probing
the input, takes about 85 ms on the development PC before the first sample reaches ALSA
(`loa bench player`) and several times that on a Pi, different on every node. Started
at `play_at`, that delay would be the nodes' real start skew. So each play is armed
when the timeline hands it over (`prestart_s`, 0.2 s ahead): ffmpeg is started then,
reading its input from a pipe, and waits on that pipe; at `play_at` the file is fed in
and only decoding the first packet and opening the device are left (about 5 ms on the
PC). ffmpeg opens the device only when its first frame is decoded, so an armed play
holds neither the sound card nor the speaker until it starts.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from speaker_agent.clock import Clock, SystemClock
from speaker_agent.player import RECONNECT_ARGS, PlayerError, PlayInfo, RelayOptions, run_relay, stop_process

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


class FfmpegPlay:
    """One armed ffmpeg: started at once, fed the audio by `play`, or stopped by `disarm`."""

    def __init__(self, argv: list[str], path: Path) -> None:
        self._path = path
        self._errors = tempfile.TemporaryFile()  # a file, not a pipe: a chatty ffmpeg must not block
        try:
            self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._errors)
        except OSError as exc:
            self._errors.close()
            raise PlayerError(f"cannot run {argv[0]}: {exc.strerror}") from None
        self._done = False

    def play(self, duration_ms: int, stop_event: threading.Event) -> None:
        try:
            audio = open(self._path, "rb")  # noqa: SIM115 - the feeder thread closes it
        except OSError as exc:
            self.disarm()
            raise PlayerError(f"cannot read {self._path.name}: {exc.strerror}") from None
        feeder = threading.Thread(target=self._feed, args=(audio,), name="loa-alsa-feed", daemon=True)
        feeder.start()
        try:
            # A wedged sound device must not block the node forever.
            deadline = time.monotonic() + duration_ms / 1000 + 60
            while self._proc.poll() is None:
                if stop_event.wait(0.05) or time.monotonic() > deadline:
                    stop_process(self._proc)
                    if not stop_event.is_set():
                        raise PlayerError("ffmpeg did not finish in time; killed")
                    return
            if self._proc.returncode != 0:
                self._errors.seek(0)
                message = self._errors.read().decode(errors="replace").strip()[-300:]
                raise PlayerError(f"ffmpeg exited {self._proc.returncode}: {message or 'no message'}")
        finally:
            feeder.join(1.0)
            self._close()

    def disarm(self) -> None:
        if not self._done:
            stop_process(self._proc)
            self._close()

    def _feed(self, audio: BinaryIO) -> None:
        """Copy the file into ffmpeg's stdin (it reads at the speed it plays), then close it."""
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            with audio:
                shutil.copyfileobj(audio, stdin, CHUNK)
        except BrokenPipeError:
            pass  # ffmpeg stopped (preempted, cancelled) or failed: `play` reports which
        except OSError as exc:
            log.error("cannot feed %s to ffmpeg: %s", self._path.name, exc)
            stop_process(self._proc)
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def _close(self) -> None:
        self._done = True
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
        self._errors.close()


class AlsaPlayer:
    """Plays through ffmpeg to an ALSA device; the ffmpeg process is killed on stop.

    The stop event is polled every 50 ms and a stopped ffmpeg gets 0.3 s to exit before
    SIGKILL, so a preempting emergency or an operator's stop silences the speaker well
    within a second.
    """

    def __init__(
        self,
        device: str = "default",
        volume: int = 80,
        ffmpeg: str = "ffmpeg",
        clock: Clock | None = None,
        relay_options: RelayOptions | None = None,
    ) -> None:
        self.device = device
        self.volume = volume
        self.ffmpeg = ffmpeg
        self.clock: Clock = clock or SystemClock()
        self.relay_options = relay_options or RelayOptions()

    def set_volume(self, percent: int) -> None:
        """Volume (0-100) for the plays armed from now on: ffmpeg's volume filter is built per play."""
        self.volume = percent

    def relay_command(self, url: str, remaining_s: float) -> list[str]:
        return [
            self.ffmpeg, "-nostdin", "-loglevel", "error", *RECONNECT_ARGS, "-i", url, "-t", f"{remaining_s:.3f}",
            "-vn", "-af", f"volume={self.volume / 100:.2f}", "-f", "alsa", self.device,
        ]

    def relay(self, url: str, end_at: datetime, stop_event: threading.Event, info: PlayInfo | None = None) -> None:
        """Play the stream to the sound card until end_at; ffmpeg reconnects by itself and is
        restarted with backoff when it exits early."""
        label = (info.relay if info is not None else None) or url
        run_relay(self.clock, end_at, stop_event, lambda _n, rem: self.relay_command(url, rem), self.relay_options, label)

    def command(self) -> list[str]:
        """ffmpeg reading the audio (Opus, or the WAV test tone: probed) from its stdin."""
        return [
            self.ffmpeg, "-nostdin", "-loglevel", "error", "-i", "pipe:0",
            "-af", f"volume={self.volume / 100:.2f}", "-f", "alsa", self.device,
        ]

    def arm(self, path: Path, info: PlayInfo | None = None) -> FfmpegPlay:
        return FfmpegPlay(self.command(), Path(path))

    def play(
        self, path: Path, duration_ms: int, stop_event: threading.Event, info: PlayInfo | None = None
    ) -> None:
        """Unarmed: start ffmpeg now and play (a test tone, a caller without a timeline)."""
        self.arm(path, info).play(duration_ms, stop_event)


__all__ = ["AlsaPlayer", "FfmpegPlay"]
