"""The interface every speech engine implements.

Kept deliberately small so that espeak-ng (local, instant), Piper (local, neural)
and the Vietnamese cloud services (FPT.AI, Viettel AI, Vbee, Zalo: remote, some
asynchronous) can sit behind the same pipeline. The pipeline needs to know which
voices exist and which region's reading each implies (the text normaliser reads
numbers and words differently north, centre and south), how much text one request
may carry, and the native sample rate; everything else is the engine's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

Region = Literal["north", "central", "south"]


@dataclass(frozen=True)
class Voice:
    """One voice an engine offers."""

    id: str
    """Name used across Loa (API, database, cache keys), e.g. ``"vi-vn-x-south"``."""
    region: Region
    """Dialect region the voice speaks, used to pick the text normaliser's rules."""
    label: str
    """Human-readable name for the web UI."""
    engine_voice: str
    """The engine's own identifier (pyttsx3 voice id, Piper model name, cloud voice)."""


@runtime_checkable
class SpeechEngine(Protocol):
    """Turns text into a WAV file. Implementations must be safe to call from threads."""

    name: str
    """Stable engine name; part of the render-cache key."""
    voices: tuple[Voice, ...]
    """Voices this engine can speak with."""
    sample_rate: int
    """Native sample rate of the WAVs it produces (Hz)."""
    max_chars: int
    """Longest text one ``synthesize`` call accepts; the pipeline splits longer text."""
    synchronous: bool
    """False when synthesis is a remote job that is submitted and polled (some cloud
    services); such engines wait inside ``synthesize`` but should not hold local
    resources (a worker process) while waiting."""

    def synthesize(self, text: str, voice: str, rate: int, *, timeout_s: float) -> Path:
        """Speak ``text`` with voice id ``voice`` at ``rate`` words per minute.

        Returns the path of a complete WAV file that the caller owns and deletes.
        Raises :class:`audio.errors.EngineError` (or ``EngineTimeout``) on failure.
        """
        ...

    def close(self) -> None:
        """Release processes, sessions and temp files; the engine is unusable after."""
        ...
