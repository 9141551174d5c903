"""The one entry point the controller and the CLI use to turn text into stored audio.

``AudioPipeline.render`` validates the request, runs the text filter (where the
Vietnamese normaliser plugs in), looks the result up in the render cache, and only
on a miss synthesises, processes (:mod:`audio.processing`) and stores the file
(:mod:`audio.store`). It is safe to call from a thread pool: the engine serialises
access to its worker process, and concurrent identical requests wait for one
another instead of synthesising twice.

A miss starts its two ffmpeg processes (mastering pass, Opus encoder) *before*
asking the engine to speak, so their start-up runs while the engine works; see
docs/audio.md for the stages and the measured timings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from audio import processing
from audio.engines.base import SpeechEngine, Voice
from audio.engines.espeak import EspeakEngine
from audio.errors import AudioError
from audio.store import AudioStore, CachedRender
from audio.text import clean_text, has_speech, split_text

log = logging.getLogger(__name__)

#: Bump whenever processing changes what a given request sounds like, so stale
#: cache entries are not reused (old files stay valid for what already refers to them).
PIPELINE_VERSION = "2"  # 2: one-pass mastering, chime after limiting, Opus complexity 8, 60 ms

VOICES = ("vi", "vi-vn-x-central", "vi-vn-x-south")
MIN_RATE = 80
MAX_RATE = 300

TextFilter = Callable[[str, str], str]
"""``(text, voice) -> text to speak``; e.g. the Vietnamese normaliser for the voice's region."""

__all__ = [
    "VOICES",
    "AudioError",
    "AudioPipeline",
    "RenderRequest",
    "RenderedAudio",
    "TextFilter",
    "build_pipeline",
]


@dataclass(frozen=True)
class RenderRequest:
    """What an official asked to be said."""

    text: str
    """The announcement as typed."""
    voice: str = "vi"
    """Voice id, one of the engine's voices (``VOICES`` for espeak-ng)."""
    rate: int = 150
    """Speaking rate in words per minute (espeak-ng's unit), 80..300."""
    chime: bool = False
    """Start with the intro ding-dong so listeners look up before the first word."""


@dataclass(frozen=True)
class RenderedAudio:
    """A stored, playable rendering of a request."""

    sha256: str
    """Content hash and file name in the store; what speaker agents download by."""
    size: int
    """Bytes of the Opus file."""
    duration_ms: int
    """Decoded duration of the file."""
    path: Path
    """Where the file is in the store (serve it from here)."""
    loudness_lufs: float
    """Integrated loudness of the decoded file: the master's exact figure less the
    codec's calibrated loss (within ~0.15 LU on speech); measured on the decoded file
    when the pipeline has ``verify_output``."""
    reused: bool
    """True when the render cache answered and nothing was synthesised."""
    spoken_text: str
    """The text actually spoken, after the text filter (show it in the preview)."""
    fallback_reason: str | None = None
    """Why a fallback engine spoke instead of the chosen one; None when it did not."""


class _KeyedLocks:
    """One lock per cache key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


class AudioPipeline:
    """Text in, stored Opus out; see the module docstring."""

    def __init__(
        self,
        store: AudioStore,
        engine: SpeechEngine,
        *,
        text_filter: TextFilter | None = None,
        target_lufs: float = processing.TARGET_LUFS,
        synth_timeout_s: float = 30.0,
        verify_output: bool = False,
    ) -> None:
        """``verify_output`` decodes each new file while it is being encoded (on the
        other core: ~0.15 s of CPU a minute of speech) and reports the measured
        loudness; off, the figure is the prediction (within ~0.15 LU of a meter)."""
        self.store = store
        self.engine = engine
        self.target_lufs = target_lufs
        self.synth_timeout_s = synth_timeout_s
        self._text_filter = text_filter
        self._voices: dict[str, Voice] = {v.id: v for v in engine.voices}
        self._key_locks = _KeyedLocks()
        self.verify_output = verify_output
        # What the last render of each voice taught the limiter planner.
        self._hints: dict[str, processing.LimiterHint] = {}
        self._hints_lock = threading.Lock()

    @property
    def voices(self) -> tuple[Voice, ...]:
        """Voices the engine offers, with their regions (for the UI and the normaliser)."""
        return tuple(self._voices.values())

    def spoken_text(self, text: str, voice: str) -> str:
        """The text that will be spoken: cleaned, filtered, cleaned again.

        Cleaning before the filter hands the normaliser NFC text; cleaning after
        keeps the cache key canonical whatever the filter returns.
        """
        spoken = clean_text(text)
        if self._text_filter is not None and spoken:
            try:
                spoken = clean_text(self._text_filter(spoken, voice))
            except Exception as exc:
                raise AudioError(f"text filter failed: {exc}") from exc
        return spoken

    def render(self, request: RenderRequest) -> RenderedAudio:
        """Render ``request`` (or reuse an identical earlier rendering).

        Raises AudioError for a bad voice, rate or empty text, and when the engine
        fails or times out (its worker is then replaced for the next request).
        """
        self._validate(request)
        spoken = self.spoken_text(request.text, request.voice)
        if not has_speech(spoken):
            raise AudioError("text is empty: there is nothing to say")
        key = self._cache_key(spoken, request)
        with self._key_locks.hold(key):
            cached = self._lookup(key)
            if cached is not None:
                return self._result(cached, spoken, reused=True)
            started = time.perf_counter()
            mastered, reason = self._produce(spoken, request)
            sha = self.store.put_bytes(mastered.data)
            entry = CachedRender(
                sha256=sha,
                size=len(mastered.data),
                duration_ms=mastered.loudness.duration_ms,
                loudness_lufs=mastered.loudness.integrated_lufs,
            )
            if reason is None:  # a fallback rendering must not be reused once the engine recovers
                self.store.put_key(key, entry)
            log.info(
                "rendered %s: %d ms of audio, %d bytes, %.1f LUFS in %.2f s",
                sha[:12], entry.duration_ms, entry.size, entry.loudness_lufs,
                time.perf_counter() - started,
            )  # fmt: skip
            return self._result(entry, spoken, reused=False, fallback_reason=reason)

    def close(self) -> None:
        """Stop the engine's worker process; the pipeline is unusable afterwards."""
        self.engine.close()

    def __enter__(self) -> AudioPipeline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- internals ------------------------------------------------------------

    def _validate(self, request: RenderRequest) -> None:
        if request.voice not in self._voices:
            raise AudioError(
                f"unknown voice {request.voice!r}; choose one of {', '.join(self._voices)}"
            )
        rate = request.rate
        if isinstance(rate, bool) or not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE:
            raise AudioError(f"rate must be a whole number from {MIN_RATE} to {MAX_RATE}, got {rate!r}")
        if not isinstance(request.text, str):
            raise AudioError("text must be a string")

    def _cache_key(self, spoken: str, request: RenderRequest) -> str:
        """Hash of everything that determines the output audio."""
        material = {
            "pipeline": PIPELINE_VERSION,
            "engine": self.engine.name,
            "voice": request.voice,
            "rate": request.rate,
            "chime": request.chime,
            "target_lufs": self.target_lufs,
            "text": spoken,
        }
        blob = json.dumps(material, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()

    def _lookup(self, key: str) -> CachedRender | None:
        entry = self.store.get_key(key)
        if entry is None:
            return None
        if not self.store.exists(entry.sha256):
            log.warning("render cache points at missing file %s; rendering again", entry.sha256)
            return None
        return entry

    def _result(
        self, entry: CachedRender, spoken: str, *, reused: bool, fallback_reason: str | None = None
    ) -> RenderedAudio:
        return RenderedAudio(
            sha256=entry.sha256,
            size=entry.size,
            duration_ms=entry.duration_ms,
            path=self.store.path_for(entry.sha256),
            loudness_lufs=entry.loudness_lufs,
            reused=reused,
            spoken_text=spoken,
            fallback_reason=fallback_reason,
        )

    def _synthesize(self, spoken: str, request: RenderRequest) -> tuple[processing.AudioSegment, str | None]:
        """Speak each engine-sized chunk, trim it, and join them with short pauses.

        Also returns why a fallback engine spoke (the first reason), when one did: the
        announcement records it, and such a rendering is not cached."""
        parts = []
        reasons: list[str] = []
        report = getattr(self.engine, "synthesize_with_report", None)
        for chunk in split_text(spoken, self.engine.max_chars):
            try:
                if report is not None:
                    wav, reason = report(chunk, request.voice, request.rate, timeout_s=self.synth_timeout_s)
                    if reason:
                        reasons.append(reason)
                else:
                    wav = self.engine.synthesize(chunk, request.voice, request.rate, timeout_s=self.synth_timeout_s)
            except AudioError:
                raise
            except Exception as exc:  # an engine bug must still reach callers as AudioError
                raise AudioError(f"speech engine {self.engine.name} failed: {exc}") from exc
            try:
                parts.append(processing.trim_silence(processing.load_wav(wav)))
            finally:
                wav.unlink(missing_ok=True)
        return processing.join_with_gaps(parts), (reasons[0] if reasons else None)

    def _produce(self, spoken: str, request: RenderRequest) -> tuple[processing.Mastered, str | None]:
        with self._hints_lock:
            hint = self._hints.get(request.voice)
        # Started first: the ffmpeg processes load while the engine speaks.
        with processing.Mastering(
            self.target_lufs, hint=hint, verify=self.verify_output
        ) as mastering:
            speech, reason = self._synthesize(spoken, request)
            mastered = mastering.master(speech, chime=request.chime)
        learnt = mastered.leveled.hint if mastered.leveled is not None else None
        if learnt is not None:
            with self._hints_lock:
                self._hints[request.voice] = learnt
        return mastered, reason


def build_pipeline(
    store_dir: Path,
    *,
    text_filter: TextFilter | None = None,
    target_lufs: float = processing.TARGET_LUFS,
    synth_timeout_s: float = 30.0,
    verify_output: bool = False,
    engine: SpeechEngine | None = None,
) -> AudioPipeline:
    """The default pipeline: espeak-ng voices (or ``engine``), files under ``store_dir``.

    Starts nothing: the worker process starts on the first render.
    """
    return AudioPipeline(
        AudioStore(store_dir),
        engine if engine is not None else EspeakEngine(),
        text_filter=text_filter,
        target_lufs=target_lufs,
        synth_timeout_s=synth_timeout_s,
        verify_output=verify_output,
    )
