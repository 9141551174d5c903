"""Remote control of one node: volume, test tone and restart (the technician's buttons).

Why these live apart from `agent.py`: they are not about the programme. The volume is
node state that must survive a power cut (`volume.json` in the state dir, written
atomically) and overrides the configured default from the moment it is set; every play
after that uses it (the ALSA player through ffmpeg's volume filter, the file sink
records it in `plays.jsonl`). The test tone is generated here, not downloaded - a
technician checking a speaker over a paid SIM should not pay for audio - and goes
through the timeline like any normal-priority play, so it waits for (never preempts)
an emergency and is reported `received`/`ready`/`started`/`finished`. A restart only
asks the process that runs the agent (the CLI) to stop cleanly and re-execute itself:
an agent embedded in another process (tests, the benchmark) reports `failed` instead
of taking its host down.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import math
import struct
import threading
import wave
from collections.abc import Callable
from pathlib import Path

from protocol.commands import AudioRef, Command, ControlAction, Priority
from protocol.reports import EventKind
from speaker_agent.clock import Clock
from speaker_agent.files import atomic_write
from speaker_agent.staged import StagedPlay

log = logging.getLogger(__name__)

VOLUME_FILE = "volume.json"
TONE_URL = "loa-agent:test-tone"
"""Marks a staged play whose audio the node generates itself (never fetched)."""
TONE_HZ = 1000
TONE_S = 2.0
TONE_RATE = 16_000

ControlEvent = Callable[[str, EventKind, "str | None"], None]
"""Publishes (command id, event kind, detail) about a control command."""


@functools.cache
def tone_wav(hz: int = TONE_HZ, seconds: float = TONE_S, rate: int = TONE_RATE) -> bytes:
    """A mono 16-bit WAV sine at half scale, with 20 ms fades so the speaker does not click.

    Pure Python and deterministic (same bytes every time), so its hash is stable and a
    test can recognise it in the file sink's log.
    """
    frames = int(seconds * rate)
    fade = max(1, int(0.02 * rate))
    samples = bytearray()
    for i in range(frames):
        gain = min(1.0, i / fade, (frames - 1 - i) / fade)
        samples += struct.pack("<h", int(16383 * gain * math.sin(2 * math.pi * hz * i / rate)))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(samples))
    return out.getvalue()


class VolumeStore:
    """The node's volume in percent: the persisted one if any, else the configured default."""

    def __init__(self, path: Path, default: int) -> None:
        self.path = path
        self._value = default
        try:
            value = json.loads(path.read_bytes())["volume"]
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100:
                self._value = value
            else:
                log.warning("ignoring %s: volume %r is not 0-100", path, value)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("volume file %s unreadable (%s); using the configured %d%%", path, exc, default)

    @property
    def value(self) -> int:
        return self._value

    def set(self, value: int) -> str | None:
        """Take the new volume; returns why it could not be saved (it still applies until restart)."""
        self._value = value
        try:
            atomic_write(self.path, json.dumps({"volume": value}).encode())
        except OSError as exc:
            log.error("cannot persist volume to %s: %s", self.path, exc)
            return f"not saved: {exc.strerror or exc}"
        return None


class NodeControl:
    """Carries out `control` commands for one agent."""

    def __init__(
        self,
        state_dir: Path,
        default_volume: int,
        clock: Clock,
        player: object,
        emit: ControlEvent,
        stage: Callable[[StagedPlay], None],
        restart: Callable[[], None] | None = None,
    ) -> None:
        self._clock = clock
        self._player = player
        self._emit = emit
        self._stage = stage
        self._restart = restart
        self._volume = VolumeStore(Path(state_dir) / VOLUME_FILE, default_volume)
        self._tone_path = Path(state_dir) / "tone" / f"test-tone-{TONE_HZ}hz.wav"
        self._tone_lock = threading.Lock()
        self._apply_volume()

    @property
    def volume(self) -> int:
        return self._volume.value

    def _apply_volume(self) -> None:
        setter = getattr(self._player, "set_volume", None)  # injected test players may have none
        if setter is not None:
            setter(self._volume.value)

    def tone_path(self) -> Path:
        """The generated tone file, (re)written if missing or changed on disk."""
        data = tone_wav()
        with self._tone_lock:
            try:
                if self._tone_path.read_bytes() == data:
                    return self._tone_path
            except OSError:
                pass
            atomic_write(self._tone_path, data)
        return self._tone_path

    def tone_ref(self) -> AudioRef:
        data = tone_wav()
        return AudioRef(
            url=TONE_URL, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
            duration_ms=int(TONE_S * 1000), mime="audio/wav",
        )

    def handle(self, cmd: Command) -> None:
        """Act on an accepted control command; never raises (failures become `failed`)."""
        order = cmd.control
        if order is None:
            return
        try:
            if order.action is ControlAction.VOLUME and order.volume is not None:
                problem = self._volume.set(order.volume)
                self._apply_volume()
                log.info("control %s: volume set to %d%%", cmd.id, order.volume)
                self._emit(cmd.id, EventKind.APPLIED, f"volume {order.volume}" + (f" ({problem})" if problem else ""))
            elif order.action is ControlAction.TEST_TONE:
                self.tone_path()
                play = StagedPlay(
                    cmd=cmd.id, audio=self.tone_ref(), play_at=self._clock.now(), expires_at=cmd.expires_at,
                    priority=Priority.NORMAL,
                )
                log.info("control %s: test tone", cmd.id)
                self._emit(cmd.id, EventKind.RECEIVED, "test tone")
                self._stage(play)
            elif order.action is ControlAction.RESTART:
                if self._restart is None:
                    log.warning("control %s: restart asked, but this agent is embedded and cannot restart", cmd.id)
                    self._emit(cmd.id, EventKind.FAILED, "this agent runs embedded and cannot restart itself")
                    return
                log.warning("control %s: restarting the agent", cmd.id)
                self._emit(cmd.id, EventKind.APPLIED, "restarting")
                self._restart()
        except Exception as exc:  # noqa: BLE001 - a failed action is reported, never fatal
            log.exception("control %s (%s) failed", cmd.id, order.action.value)
            self._emit(cmd.id, EventKind.FAILED, f"{order.action.value} failed: {exc}"[:500])


__all__ = ["NodeControl", "TONE_URL", "VOLUME_FILE", "VolumeStore", "tone_wav"]
