"""espeak-ng's Vietnamese voices through pyttsx3: the zero-download default engine.

espeak-ng is robotic but instant, offline and packaged by Debian, so every commune
can speak from day one. pyttsx3 runs only inside the worker process
(:mod:`audio.worker`); this module's parent side never imports it, which keeps the
controller free of pyttsx3's singleton and stdout chatter.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from audio.engines.base import Voice
from audio.errors import EngineError
from audio.scratch import ScratchDir
from audio.wavcheck import wait_for_complete_wav
from audio.worker import BackendBroken, BackendFactory, SynthWorker

log = logging.getLogger(__name__)

ESPEAK_VOICES: tuple[Voice, ...] = (
    Voice("vi", "north", "Tiếng Việt – miền Bắc (espeak-ng)", "aav/vi"),
    Voice("vi-vn-x-central", "central", "Tiếng Việt – miền Trung (espeak-ng)", "aav/vi-vn-x-central"),
    Voice("vi-vn-x-south", "south", "Tiếng Việt – miền Nam (espeak-ng)", "aav/vi-vn-x-south"),
)

MIN_RATE = 80
MAX_RATE = 300


def _espeak_busy_probe() -> Callable[[], bool]:
    """espeak-ng's public ``espeak_IsPlaying()``, from the library pyttsx3 has loaded.

    dlopen returns the already-loaded library, so this sees pyttsx3's engine state
    without touching pyttsx3's private modules.
    """
    name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    is_playing = ctypes.CDLL(name).espeak_IsPlaying
    is_playing.restype = ctypes.c_int
    is_playing.argtypes = []
    return lambda: bool(is_playing())


class PyttsxBackend:
    """Runs in the worker process: pyttsx3 + espeak-ng writing one WAV per request.

    pyttsx3 drives espeak-ng asynchronously and its driver has races we must step
    around (pyttsx3 2.99):

    * ``runAndWait()`` may return before ``save_to_file`` has written the file
      (always on the first call after ``init``);
    * ``runAndWait()`` calls ``stop()``, which cancels whatever espeak is doing if
      ``espeak_IsPlaying()`` is true at that moment, and the cancellation then also
      hits the *new* utterance: no file is ever written, a silent hang. espeak is
      "playing" briefly after each file is written, and after ``setProperty("rate")``
      (queued on espeak's command FIFO).

    So the engine is flushed once at start-up; each request waits until espeak is
    idle before and after setting properties, then waits for pyttsx3's
    ``finished-utterance`` notification and for a complete WAV on disk. A cancelled
    utterance is still retried, as a safety net. When a deadline passes, the
    engine's state is unknown and :class:`~audio.worker.BackendBroken` makes the
    worker restart.
    """

    _MAX_ATTEMPTS = 3

    def __init__(self) -> None:
        import pyttsx3  # only ever imported in the worker process

        self._engine: Any = pyttsx3.init("espeak")
        self._known = {v.id for v in self._engine.getProperty("voices")}
        self._espeak_busy = _espeak_busy_probe()
        self._completed = threading.Event()
        self._cancelled = threading.Event()
        self._engine.connect("finished-utterance", self._on_finished)
        # The first runAndWait() after init leaves the driver "busy" with queued
        # commands; an empty one settles it so every request takes the same path.
        self._engine.runAndWait()
        self._wait_idle(time.monotonic() + 10.0)

    def _on_finished(self, completed: bool = False, **_event: object) -> None:
        (self._completed if completed else self._cancelled).set()

    def _wait_idle(self, deadline: float) -> None:
        while self._espeak_busy():
            if time.monotonic() >= deadline:
                raise BackendBroken("espeak-ng stayed busy past the deadline")
            time.sleep(0.002)

    def _speak_once(self, text: str, voice: str, rate: int, out_path: Path, deadline: float) -> bool:
        """One attempt; True when the utterance completed (False: it was cancelled)."""
        self._wait_idle(deadline)
        out_path.unlink(missing_ok=True)  # a stale file must not pass as the new one
        self._completed.clear()
        self._cancelled.clear()
        self._engine.setProperty("voice", voice)
        self._engine.setProperty("rate", rate)
        self._wait_idle(deadline)  # the rate change is queued inside espeak
        self._engine.save_to_file(text, str(out_path))
        self._engine.runAndWait()
        while not self._completed.is_set():
            if self._cancelled.is_set() and not self._espeak_busy():
                return False
            if time.monotonic() >= deadline:
                raise BackendBroken("espeak-ng did not finish the utterance before the deadline")
            self._completed.wait(0.005)
        return True

    def synthesize(self, text: str, voice: str, rate: int, out_path: Path, deadline: float) -> None:
        """Write ``out_path``; ``voice`` is the pyttsx3 voice id (e.g. ``aav/vi``)."""
        if voice not in self._known:
            raise ValueError(f"espeak-ng has no voice {voice!r}")
        for attempt in range(1, self._MAX_ATTEMPTS + 1):
            if self._speak_once(text, voice, rate, out_path, deadline):
                break
            log.warning("espeak-ng cancelled the utterance (attempt %d); retrying", attempt)
        else:
            raise BackendBroken("espeak-ng cancelled the utterance repeatedly")
        try:
            wait_for_complete_wav(out_path, deadline)
        except TimeoutError as exc:
            raise BackendBroken(str(exc)) from exc
        self._wait_idle(deadline)


class EspeakEngine:
    """The espeak-ng engine: parent-side handle of a pyttsx3 worker process."""

    name = "espeak-ng"
    voices = ESPEAK_VOICES
    sample_rate = 22050  # pyttsx3's espeak driver always writes 22.05 kHz mono
    max_chars = 1000  # keeps each request far below its timeout on a Raspberry Pi-class CPU
    synchronous = True

    def __init__(
        self,
        *,
        work_dir: Path | None = None,
        backend_factory: BackendFactory = PyttsxBackend,
        clock: Callable[[], float] = time.monotonic,
        start_timeout_s: float = 30.0,
    ) -> None:
        """``backend_factory`` swaps what runs in the worker (tests inject a hang there)."""
        self._worker = SynthWorker(
            backend_factory, clock=clock, start_timeout_s=start_timeout_s, name="loa-espeak"
        )
        self._scratch = ScratchDir(work_dir, prefix="loa-espeak-")
        self._by_id = {v.id: v for v in self.voices}
        self._closed = False

    @property
    def worker_pid(self) -> int | None:
        """PID of the live worker process (for health checks and tests)."""
        return self._worker.pid

    def synthesize(self, text: str, voice: str, rate: int, *, timeout_s: float) -> Path:
        """Speak ``text``; returns a complete 22.05 kHz mono WAV the caller deletes."""
        if self._closed:
            raise EngineError("espeak-ng engine is closed")
        spec = self._by_id.get(voice)
        if spec is None:
            raise EngineError(f"unknown voice {voice!r}; espeak-ng offers {sorted(self._by_id)}")
        if not MIN_RATE <= rate <= MAX_RATE:
            raise EngineError(f"rate must be {MIN_RATE}..{MAX_RATE} words per minute, got {rate}")
        if not text.strip():
            raise EngineError("nothing to say")
        if len(text) > self.max_chars:
            raise EngineError(f"text too long for one request ({len(text)} > {self.max_chars})")
        out_path = self._scratch.get() / f"{uuid.uuid4().hex}.wav"
        try:
            self._worker.run(text, spec.engine_voice, rate, out_path, timeout_s=timeout_s)
        except BaseException:
            out_path.unlink(missing_ok=True)
            raise
        return out_path

    def close(self) -> None:
        """Stop the worker and remove the scratch directory if we created it."""
        self._closed = True
        self._worker.close()
        self._scratch.close()
