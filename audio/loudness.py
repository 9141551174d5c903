"""Loudness measurement with ffmpeg's ``ebur128`` filter (ITU-R BS.1770 / EBU R128).

We measure rather than estimate because the number that matters is what a listener
hears from the *decoded* Opus file, and ffmpeg's meter is the reference the
acceptance tests use too. One ffmpeg run gives integrated loudness, true peak and,
by decoding to raw PCM on stdout, the exact decoded duration.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from audio.errors import AudioError
from audio.ffmpeg import DEFAULT_TIMEOUT_S, run_ffmpeg

#: Integrated loudness ebur128 reports when nothing passed the -70 LUFS gate.
SILENCE_LUFS = -70.0

# Decoded files are counted at this rate so the byte count converts exactly to ms.
_MEASURE_RATE = 48000
_BYTES_PER_SAMPLE = 2

_SUMMARY_I = re.compile(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-?inf)\s*LUFS", re.S)
_SUMMARY_PEAK = re.compile(r"True peak:\s*Peak:\s*(-?[\d.]+|-?inf)\s*dBFS", re.S)


@dataclass(frozen=True)
class Loudness:
    """What ffmpeg measured on one piece of audio."""

    integrated_lufs: float
    """Integrated (programme) loudness; ``SILENCE_LUFS`` when too short or silent."""
    true_peak_dbtp: float
    """Maximum true (inter-sample) peak; ``-inf`` for digital silence."""
    duration_ms: int
    """Decoded duration, counted in samples, not read from container metadata."""

    @property
    def measurable(self) -> bool:
        """False when ebur128 had no gated block (silence or under 400 ms of sound)."""
        return self.integrated_lufs > SILENCE_LUFS + 0.05


def parse_ebur128_summary(stderr: str) -> tuple[float, float]:
    """Return (integrated LUFS, true peak dBTP) from ebur128's final Summary block."""
    summary = stderr[stderr.rfind("Summary:") :] if "Summary:" in stderr else ""
    i_match = _SUMMARY_I.search(summary)
    p_match = _SUMMARY_PEAK.search(summary)
    if i_match is None or p_match is None:
        raise AudioError("could not read loudness from ffmpeg ebur128 output")
    integrated = float(i_match.group(1))  # float() accepts "-inf"
    peak = float(p_match.group(1))
    if math.isnan(integrated) or math.isnan(peak):
        raise AudioError("ffmpeg ebur128 reported NaN loudness")
    return integrated, peak


def _run_meter(
    input_args: list[str],
    stdin: bytes | None,
    *,
    pre_filter: str | None,
    out_rate: int,
    timeout_s: float,
) -> tuple[Loudness, bytes]:
    """Run ffmpeg once: optional filter, then ebur128; return the meter and mono PCM."""
    chain = f"{pre_filter},ebur128=peak=true" if pre_filter else "ebur128=peak=true"
    proc = run_ffmpeg(
        [*input_args, "-af", chain, "-ac", "1", "-ar", str(out_rate), "-f", "s16le", "pipe:1"],
        stdin=stdin,
        timeout_s=timeout_s,
    )
    integrated, peak = parse_ebur128_summary(proc.stderr.decode("utf-8", "replace"))
    samples = len(proc.stdout) // _BYTES_PER_SAMPLE
    return Loudness(integrated, peak, round(samples * 1000 / out_rate)), proc.stdout


def _pcm_input(sample_rate: int, channels: int) -> list[str]:
    return ["-f", "s16le", "-ar", str(sample_rate), "-ac", str(channels), "-i", "pipe:0"]


def measure_pcm(
    pcm: bytes, sample_rate: int, *, channels: int = 1, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Loudness:
    """Measure signed 16-bit little-endian PCM (what pydub holds in ``raw_data``)."""
    loudness, _ = _run_meter(
        _pcm_input(sample_rate, channels), pcm, pre_filter=None, out_rate=sample_rate,
        timeout_s=timeout_s,
    )
    return loudness


def filter_and_measure_pcm(
    pcm: bytes,
    sample_rate: int,
    pre_filter: str,
    *,
    channels: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> tuple[bytes, Loudness]:
    """Apply an ffmpeg audio filter to mono PCM and measure the result in the same run.

    Saves one ffmpeg start per step when searching for a limiter setting.
    """
    loudness, out = _run_meter(
        _pcm_input(sample_rate, channels), pcm, pre_filter=pre_filter, out_rate=sample_rate,
        timeout_s=timeout_s,
    )
    return out, loudness


def measure_encoded(data: bytes, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Loudness:
    """Measure an encoded file held in memory (e.g. Ogg Opus) by decoding it."""
    loudness, _ = _run_meter(
        ["-i", "pipe:0"], data, pre_filter=None, out_rate=_MEASURE_RATE, timeout_s=timeout_s
    )
    return loudness


def measure_file(path: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Loudness:
    """Measure an audio file on disk by decoding it."""
    loudness, _ = _run_meter(
        ["-i", str(path)], None, pre_filter=None, out_rate=_MEASURE_RATE, timeout_s=timeout_s
    )
    return loudness
