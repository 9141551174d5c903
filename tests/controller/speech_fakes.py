"""Speech engines for controller tests: fast, in-process, no espeak-ng.

They implement `audio.engines.base.SpeechEngine`, so the real `AudioPipeline`
(text filter, render cache, mastering, Opus store) runs around them.
"""

from __future__ import annotations

import json
import math
import struct
import subprocess
import threading
import uuid
import wave
from pathlib import Path

from audio.engines.base import Voice
from audio.errors import EngineError

TONE_VOICES: tuple[Voice, ...] = (
    Voice("tone-north", "north", "Tone – miền Bắc", "tone-n"),
    Voice("tone-south", "south", "Tone – miền Nam", "tone-s"),
)


def write_tone_wav(path: Path, duration_s: float, rate: int = 22050) -> None:
    """Mono 16-bit: 0.1 s silence, a 440 Hz tone, 0.1 s silence (like an engine's output)."""
    pad = b"\0\0" * int(rate * 0.1)
    tone = b"".join(
        struct.pack("<h", int(16000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(int(rate * duration_s))
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pad + tone + pad)


class ToneEngine:
    """Speaks every text as a short tone and records what it was asked to say."""

    name = "test-tone"
    sample_rate = 22050
    max_chars = 1000
    synchronous = True

    def __init__(self, work_dir: Path, voices: tuple[Voice, ...] = TONE_VOICES) -> None:
        self.work_dir = work_dir
        self.voices = voices
        self.calls: list[tuple[str, str, int]] = []
        self.closed = False
        self._lock = threading.Lock()

    def synthesize(self, text: str, voice: str, rate: int, *, timeout_s: float) -> Path:
        with self._lock:
            self.calls.append((text, voice, rate))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        path = self.work_dir / f"tone-{uuid.uuid4().hex}.wav"
        write_tone_wav(path, 0.3)
        return path

    def close(self) -> None:
        self.closed = True


class FailingEngine:
    """A cloud engine whose service is down: every request raises EngineError."""

    name = "down-cloud"
    sample_rate = 22050
    max_chars = 2000
    synchronous = True

    def __init__(self, voices: tuple[Voice, ...]) -> None:
        self.voices = voices
        self.calls = 0

    def synthesize(self, text: str, voice: str, rate: int, *, timeout_s: float) -> Path:
        self.calls += 1
        raise EngineError("Down Cloud refused the synthesis request: HTTP 503: maintenance")

    def close(self) -> None:
        pass


def ffprobe(path: Path) -> dict:
    """ffprobe's view of a file (streams and format), independent of our own decoding."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", str(path)],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    return dict(json.loads(out))


def ffprobe_codec(path: Path) -> tuple[str, int]:
    """(codec name, channels) of the first stream."""
    stream = ffprobe(path)["streams"][0]
    return str(stream["codec_name"]), int(stream["channels"])


__all__ = ["TONE_VOICES", "FailingEngine", "ToneEngine", "ffprobe", "ffprobe_codec", "write_tone_wav"]
