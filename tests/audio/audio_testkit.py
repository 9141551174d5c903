"""Helpers for the audio tests: independent ffmpeg/ffprobe measurements and fakes.

Measurements here deliberately avoid :mod:`audio.loudness`, so a bug there cannot
hide itself: loudness comes from ffmpeg's ``loudnorm`` analysis, not ``ebur128``.
"""

from __future__ import annotations

import json
import math
import struct
import subprocess
import threading
import wave
from pathlib import Path

from audio.engines.base import SpeechEngine, Voice

# Exactly 20 words each (checked by the tests that use them).
SENTENCE_1 = "Sáng mai lúc bảy giờ, bà con thôn Một mang giấy tờ đến nhà văn hóa để làm thủ tục."
SENTENCE_2 = "Đề nghị các hộ dọn dẹp vệ sinh đường làng, khơi thông cống rãnh trước khi mùa mưa bão đến."
SENTENCE_3 = "Ủy ban nhân dân xã cảm ơn bà con đã tham gia xây dựng nông thôn mới trong năm nay."


def ffprobe(path: Path) -> dict[str, object]:
    """Container and first-stream facts as ffprobe reports them."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
         str(path)],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    data = json.loads(out)
    stream = data["streams"][0]
    fmt = data["format"]
    return {
        "format_name": fmt["format_name"],
        "duration_s": float(fmt["duration"]),
        "bit_rate": int(fmt["bit_rate"]),
        "codec_name": stream["codec_name"],
        "channels": int(stream["channels"]),
        "sample_rate": int(stream["sample_rate"]),
        "stream_count": len(data["streams"]),
    }


def loudnorm_measure(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) from ffmpeg's loudnorm first-pass analysis."""
    proc = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path),
         "-af", "loudnorm=print_format=json", "-f", "null", "-"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    text = proc.stderr.decode()
    blob = json.loads(text[text.rindex("{") : text.rindex("}") + 1])
    return float(blob["input_i"]), float(blob["input_tp"])


def write_tone_wav(path: Path, duration_s: float, *, rate: int = 22050, freq: float = 440.0,
                   amplitude: float = 0.5, lead_silence_s: float = 0.2) -> None:
    """A mono 16-bit WAV: silence, a sine tone, silence (like an engine's output)."""
    frames = bytearray()
    pad = int(rate * lead_silence_s)
    frames += b"\0\0" * pad
    for i in range(int(rate * duration_s)):
        frames += struct.pack("<h", int(32767 * amplitude * math.sin(2 * math.pi * freq * i / rate)))
    frames += b"\0\0" * pad
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


class ToneEngine:
    """An in-process SpeechEngine: a tone whose length follows the text. No espeak."""

    name = "test-tone"
    voices = (Voice("vi", "north", "test", "tone"), Voice("vi-vn-x-south", "south", "test", "tone"))
    sample_rate = 22050
    max_chars = 60
    synchronous = True

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.calls: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()

    def synthesize(self, text: str, voice: str, rate: int, *, timeout_s: float) -> Path:
        with self._lock:
            self.calls.append((text, voice, rate))
            path = self.work_dir / f"tone-{len(self.calls)}.wav"
        write_tone_wav(path, 0.02 * len(text) * 150 / rate)
        return path

    def close(self) -> None:
        pass


class CountingEngine:
    """Wraps a real engine and counts synthesize calls (to prove cache hits)."""

    def __init__(self, inner: SpeechEngine) -> None:
        self.inner = inner
        self.name = inner.name
        self.voices = inner.voices
        self.sample_rate = inner.sample_rate
        self.max_chars = inner.max_chars
        self.synchronous = inner.synchronous
        self.calls = 0
        self._lock = threading.Lock()

    def synthesize(self, text: str, voice: str, rate: int, *, timeout_s: float) -> Path:
        with self._lock:
            self.calls += 1
        return self.inner.synthesize(text, voice, rate, timeout_s=timeout_s)

    def close(self) -> None:
        self.inner.close()
