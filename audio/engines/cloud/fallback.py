"""Speak with a cloud (or Piper) voice, and with espeak-ng when that fails.

An announcement about a storm must go out even when the cloud service is down or
the internet link of the commune is, so a primary engine is wrapped with a local
fallback. Officials must also be told when their announcement was read by the
robotic fallback voice instead of the one they chose, so the fallback is
*reported*, not hidden.

Why ``synthesize_with_report`` returns the reason instead of the engine keeping
a "last fallback reason" attribute: the pipeline renders from a thread pool, and
an attribute would be overwritten by a concurrent request. Returning it with the
path ties the reason to the call that produced it. Plain ``synthesize`` (the
:class:`~audio.engines.base.SpeechEngine` interface) still works and logs the
fallback, for callers that do not care.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from audio.engines.base import SpeechEngine, Voice
from audio.engines.cloud.audiofile import join_wav_files
from audio.errors import AudioError, EngineError
from audio.normalize import split_sentences

log = logging.getLogger(__name__)


def region_voice_map(primary: tuple[Voice, ...], fallback: tuple[Voice, ...]) -> dict[str, str]:
    """Map each primary voice to the fallback voice of the same dialect region.

    Reading rules differ by region (the normaliser already chose them for the
    primary voice), so the fallback must speak the same region when it can.
    """
    if not fallback:
        raise EngineError("the fallback engine offers no voices")
    by_region: dict[str, str] = {}
    for v in fallback:
        by_region.setdefault(v.region, v.id)
    return {v.id: by_region.get(v.region, fallback[0].id) for v in primary}


@runtime_checkable
class ReportingEngine(Protocol):
    """An engine that can say whether the voice asked for is the one that spoke."""

    def synthesize_with_report(
        self, text: str, voice: str, rate: int, *, timeout_s: float
    ) -> tuple[Path, str | None]:
        """Like ``SpeechEngine.synthesize``; the second item is None or why a fallback spoke."""
        ...


class FallbackEngine:
    """``primary`` unless it fails with an AudioError; then ``fallback``, reported.

    Offers the primary's voices plus the fallback's own (so the espeak-ng voices,
    e.g. the pipeline's default ``"vi"``, stay selectable); a fallback voice asked
    for by name is spoken by the fallback directly and is not a fallback.
    """

    def __init__(
        self,
        primary: SpeechEngine,
        fallback: SpeechEngine,
        *,
        voice_map: Mapping[str, str] | None = None,
        fallback_timeout_s: float | None = None,
        work_dir: Path | None = None,
    ) -> None:
        """``voice_map``: primary voice id -> fallback voice id (default: same region).
        ``fallback_timeout_s``: the fallback's own time limit (default: the caller's),
        so a primary that used its whole limit still leaves the fallback time to speak.
        """
        self.primary = primary
        self.fallback = fallback
        self.name = f"{primary.name}+{fallback.name}"
        self._primary_ids = {v.id for v in primary.voices}
        self.voices: tuple[Voice, ...] = primary.voices + tuple(
            v for v in fallback.voices if v.id not in self._primary_ids
        )
        self.sample_rate: int = primary.sample_rate
        self.max_chars: int = primary.max_chars  # the fallback splits further itself
        self.synchronous: bool = primary.synchronous and fallback.synchronous
        self._voice_map = (
            dict(voice_map) if voice_map is not None else region_voice_map(primary.voices, fallback.voices)
        )
        self._fallback_ids = {v.id for v in fallback.voices}
        unknown = sorted(set(self._voice_map.values()) - self._fallback_ids)
        if unknown:
            raise EngineError(f"voice_map names voices the fallback does not have: {unknown}")
        self._fallback_timeout_s = fallback_timeout_s
        self._work_dir = work_dir

    def synthesize(self, text: str, voice: str, rate: int, *, timeout_s: float) -> Path:
        """The SpeechEngine interface: the WAV only (a fallback is logged, not returned)."""
        path, _reason = self.synthesize_with_report(text, voice, rate, timeout_s=timeout_s)
        return path

    def synthesize_with_report(
        self, text: str, voice: str, rate: int, *, timeout_s: float
    ) -> tuple[Path, str | None]:
        """``(wav, None)`` from the primary, or ``(wav, reason)`` when the fallback spoke.

        ``reason`` is a one-line explanation for officials and the log, e.g.
        ``"FPT.AI did not deliver within the time limit; read by espeak-ng instead"``.
        Raises EngineError only when both engines fail.
        """
        if voice not in self._primary_ids and voice in self._fallback_ids:
            return self._speak_fallback(text, voice, rate, timeout_s), None
        try:
            return self.primary.synthesize(text, voice, rate, timeout_s=timeout_s), None
        except AudioError as exc:
            primary_error = str(exc) or type(exc).__name__
        reason = f"{primary_error}; read by {self.fallback.name} instead"
        log.warning("primary engine %s failed, falling back: %s", self.primary.name, primary_error)
        fallback_voice = self._voice_map.get(voice)
        if fallback_voice is None:
            raise EngineError(f"{primary_error}; and no fallback voice for {voice!r}")
        try:
            path = self._speak_fallback(text, fallback_voice, rate, self._fallback_timeout_s or timeout_s)
        except AudioError as exc:
            raise EngineError(f"{primary_error}; fallback {self.fallback.name} also failed: {exc}") from exc
        return path, reason

    def close(self) -> None:
        """Close both engines."""
        try:
            self.primary.close()
        finally:
            self.fallback.close()

    def _speak_fallback(self, text: str, voice: str, rate: int, timeout_s: float) -> Path:
        """The fallback may accept less text per request than the primary: split, join."""
        pieces = split_sentences(text, self.fallback.max_chars)
        if len(pieces) <= 1:
            return self.fallback.synthesize(text, voice, rate, timeout_s=timeout_s)
        parts: list[Path] = []
        try:
            for piece in pieces:
                parts.append(self.fallback.synthesize(piece, voice, rate, timeout_s=timeout_s))
            out_dir = self._work_dir or Path(tempfile.gettempdir())
            out_dir.mkdir(parents=True, exist_ok=True)
            out = out_dir / f"loa-fallback-{uuid.uuid4().hex}.wav"
            join_wav_files(parts, out, self.fallback.sample_rate, timeout_s=timeout_s)
            return out
        finally:
            for part in parts:
                with contextlib.suppress(OSError):
                    part.unlink()
