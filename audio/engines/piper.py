"""Piper neural voices from model files the operator provides.

Piper (``piper-tts``, GPL-3.0, an optional extra) turns text into speech with an
ONNX model plus its ``.onnx.json`` config. Loa never downloads a model: the
operator copies the voice files onto the controller and names them in settings
(see ``docs/engines.md`` for where Vietnamese voices come from and their licences).

Why a worker process: onnxruntime's ``InferenceSession.run`` is one C++ call that
cannot be interrupted from Python. A wedged or pathologically slow model would pin
a controller thread forever, so synthesis runs in the same kind of child process
as espeak-ng (:class:`audio.worker.SynthWorker`): a request that overruns its
timeout gets the child SIGKILLed and the next request starts a fresh one. The
parent side never imports ``piper`` or ``onnxruntime``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import time
import uuid
import wave
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audio.engines.base import Region, Voice
from audio.errors import EngineError
from audio.scratch import ScratchDir
from audio.worker import SynthWorker

log = logging.getLogger(__name__)

MIN_RATE = 80
MAX_RATE = 300
REFERENCE_RATE = 150
"""Words per minute at which the model's own ``length_scale`` is used unchanged
(the pipeline's default rate); other rates scale the phoneme durations."""


@dataclass(frozen=True)
class PiperModel:
    """One operator-provided Piper voice and how Loa presents it."""

    voice_id: str
    """Loa's voice id, e.g. ``"piper-vi-vais1000"``."""
    region: Region
    """Dialect region the voice speaks (picks the normaliser's reading rules)."""
    label: str
    """Name shown in the web UI."""
    model_path: Path
    """The ``.onnx`` file."""
    config_path: Path | None = None
    """The ``.onnx.json`` file; defaults to ``model_path`` + ``.json`` as Piper does."""

    @property
    def resolved_config_path(self) -> Path:
        return self.config_path if self.config_path is not None else Path(f"{self.model_path}.json")


def _read_config(model: PiperModel) -> dict[str, Any]:
    """Check the files exist and the config is usable, so mistakes show at start-up."""
    who = f"Piper voice {model.voice_id!r}"
    if not model.model_path.is_file():
        raise EngineError(f"{who}: model file {model.model_path} not found (the operator provides it)")
    config_path = model.resolved_config_path
    if not config_path.is_file():
        raise EngineError(f"{who}: config file {config_path} not found (it ships beside the .onnx)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        rate = config["audio"]["sample_rate"]
        if "_" not in config["phoneme_id_map"]:
            raise KeyError("phoneme_id_map has no pad symbol '_'")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EngineError(f"{who}: {config_path} is not a Piper voice config ({exc!r})") from exc
    if not isinstance(rate, int) or rate <= 0:
        raise EngineError(f"{who}: {config_path} has an invalid audio.sample_rate {rate!r}")
    return dict(config)


class PiperBackend:
    """Runs in the worker process: loads every model once, then writes one WAV per request."""

    def __init__(self, models: Mapping[str, tuple[str, str]]) -> None:
        try:
            from piper import PiperVoice
        except ImportError as exc:  # reported to the parent as "could not start"
            raise RuntimeError(f"piper-tts is not installed ({exc}); install the 'piper' extra") from exc
        self._voices: dict[str, Any] = {}
        for voice_id, (model_path, config_path) in models.items():
            try:
                self._voices[voice_id] = PiperVoice.load(model_path, config_path=config_path)
            except Exception as exc:  # onnxruntime raises its own exception types
                raise RuntimeError(f"cannot load Piper model {model_path}: {exc}") from exc

    def synthesize(self, text: str, voice: str, rate: int, out_path: Path, deadline: float) -> None:
        from piper import SynthesisConfig

        piper_voice = self._voices.get(voice)
        if piper_voice is None:
            raise ValueError(f"no Piper model loaded for voice {voice!r}")
        syn = SynthesisConfig(length_scale=piper_voice.config.length_scale * REFERENCE_RATE / rate)
        partial = out_path.with_name(out_path.name + ".part")
        frames = 0
        try:
            with wave.open(str(partial), "wb") as wav:
                wav.setframerate(piper_voice.config.sample_rate)
                wav.setsampwidth(2)
                wav.setnchannels(1)
                for chunk in piper_voice.synthesize(text, syn_config=syn):  # one per sentence
                    wav.writeframes(chunk.audio_int16_bytes)
                    frames += len(chunk.audio_int16_array)
                    if time.monotonic() > deadline:
                        raise TimeoutError("Piper synthesis passed its deadline")
            if frames == 0:
                raise ValueError("Piper produced no audio (no phoneme of the text is in the voice's map)")
            # Renamed only when complete, so the parent never sees a half-written WAV.
            os.replace(partial, out_path)
        finally:
            partial.unlink(missing_ok=True)


@dataclass(frozen=True)
class PiperBackendFactory:
    """Picklable recipe for :class:`PiperBackend` (it travels to the spawned worker)."""

    models: tuple[tuple[str, str, str], ...]
    """``(voice id, model path, config path)`` for every voice."""

    def __call__(self) -> PiperBackend:
        return PiperBackend({vid: (model, config) for vid, model, config in self.models})


class PiperEngine:
    """Parent-side handle of a Piper worker process serving the configured voices."""

    name = "piper"
    max_chars = 400
    """Piper 'medium' voices run at roughly real time on a Raspberry Pi-class CPU;
    400 characters (about 25 s of speech) keep one request well inside its timeout."""
    synchronous = True

    def __init__(
        self,
        models: Sequence[PiperModel],
        *,
        work_dir: Path | None = None,
        start_timeout_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Validate the operator's files now (cheap); load them in the worker on first use.

        Raises EngineError when piper-tts is missing or a model/config is unusable.
        """
        if not models:
            raise EngineError("Piper engine needs at least one voice model")
        ids = [m.voice_id for m in models]
        if len(set(ids)) != len(ids):
            raise EngineError(f"duplicate Piper voice ids in {ids}")
        if importlib.util.find_spec("piper") is None:
            raise EngineError("piper-tts is not installed; install Loa's 'piper' extra")
        rates = {m.voice_id: _read_config(m)["audio"]["sample_rate"] for m in models}
        self.voices: tuple[Voice, ...] = tuple(
            Voice(m.voice_id, m.region, m.label, m.model_path.name.removesuffix(".onnx")) for m in models
        )
        # Models may differ (x_low/low 16 kHz, medium 22.05 kHz); each WAV's header
        # carries its own rate and the pipeline resamples, so declare the highest.
        self.sample_rate: int = max(rates.values())
        self.voice_sample_rates: dict[str, int] = rates
        factory = PiperBackendFactory(
            tuple((m.voice_id, str(m.model_path), str(m.resolved_config_path)) for m in models)
        )
        self._worker = SynthWorker(factory, clock=clock, start_timeout_s=start_timeout_s, name="loa-piper")
        self._scratch = ScratchDir(work_dir, prefix="loa-piper-")
        self._closed = False

    @property
    def worker_pid(self) -> int | None:
        """PID of the live worker process (for health checks and tests)."""
        return self._worker.pid

    def synthesize(self, text: str, voice: str, rate: int, *, timeout_s: float) -> Path:
        """Speak ``text``; returns a mono 16-bit WAV at the voice model's rate."""
        if self._closed:
            raise EngineError("Piper engine is closed")
        if voice not in self.voice_sample_rates:
            raise EngineError(f"unknown voice {voice!r}; Piper offers {sorted(self.voice_sample_rates)}")
        if not MIN_RATE <= rate <= MAX_RATE:
            raise EngineError(f"rate must be {MIN_RATE}..{MAX_RATE} words per minute, got {rate}")
        if not text.strip():
            raise EngineError("nothing to say")
        if len(text) > self.max_chars:
            raise EngineError(f"text too long for one request ({len(text)} > {self.max_chars})")
        out_path = self._scratch.get() / f"{uuid.uuid4().hex}.wav"
        try:
            self._worker.run(text, voice, rate, out_path, timeout_s=timeout_s)
        except BaseException:
            out_path.unlink(missing_ok=True)
            # A worker killed mid-request leaves its partial file behind.
            out_path.with_name(out_path.name + ".part").unlink(missing_ok=True)
            raise
        return out_path

    def close(self) -> None:
        """Stop the worker and remove the scratch directory if we created it."""
        self._closed = True
        self._worker.close()
        self._scratch.close()
