"""Loudness measurement with ffmpeg's ``ebur128`` filter (ITU-R BS.1770 / EBU R128).

ffmpeg's meter is the reference: the acceptance tests measure the decoded Opus
file with it. ``ebur128`` passes its audio through, so one ffmpeg run can meter a
signal at several points of a filter chain (the mastering pass meters the input and
the limited output); :func:`parse_ebur128_summaries` reads every meter's summary.
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

#: ``framelog=verbose`` keeps ebur128's ten lines a second out of stderr (ffmpeg
#: logs at "info"); the summary is still printed.
EBUR128 = "ebur128=framelog=verbose:peak={peak}"

_SUMMARY_HEAD = re.compile(r"\[Parsed_ebur128_(\d+) @ [^\]]*\] Summary:")
_SUMMARY_I = re.compile(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-?inf)\s*LUFS", re.S)
_SUMMARY_PEAK = re.compile(r"(?:True|Sample) peak:\s*Peak:\s*(-?[\d.]+|-?inf)\s*dBFS", re.S)


@dataclass(frozen=True)
class Loudness:
    """What ffmpeg measured (or the mastering predicts) for one piece of audio."""

    integrated_lufs: float
    """Integrated (programme) loudness; ``SILENCE_LUFS`` when too short or silent."""
    true_peak_dbtp: float
    """Maximum true (inter-sample) peak; ``-inf`` for digital silence."""
    duration_ms: int
    """Duration, counted in samples, not read from container metadata."""

    @property
    def measurable(self) -> bool:
        """False when ebur128 had no gated block (silence or under 400 ms of sound)."""
        return self.integrated_lufs > SILENCE_LUFS + 0.05


@dataclass(frozen=True)
class MeterSummary:
    """One ebur128 instance's summary."""

    integrated_lufs: float
    peak_dbfs: float | None
    """True or sample peak, whichever the meter was asked for; None for ``peak=none``."""


def _number(text: str) -> float:
    value = float(text)  # float() accepts "-inf"
    if math.isnan(value):
        raise AudioError("ffmpeg ebur128 reported NaN loudness")
    return value


def parse_ebur128_summaries(stderr: str) -> list[MeterSummary]:
    """Every ebur128 summary in ``stderr``, in filter-chain order."""
    heads = list(_SUMMARY_HEAD.finditer(stderr))
    found: list[tuple[int, MeterSummary]] = []
    for n, head in enumerate(heads):
        end = heads[n + 1].start() if n + 1 < len(heads) else len(stderr)
        block = stderr[head.end() : end]
        i_match = _SUMMARY_I.search(block)
        if i_match is None:
            raise AudioError("could not read loudness from ffmpeg ebur128 output")
        p_match = _SUMMARY_PEAK.search(block)
        peak = _number(p_match.group(1)) if p_match is not None else None
        found.append((int(head.group(1)), MeterSummary(_number(i_match.group(1)), peak)))
    return [summary for _, summary in sorted(found, key=lambda item: item[0])]


def parse_ebur128_summary(stderr: str) -> tuple[float, float]:
    """Return (integrated LUFS, true peak dBTP) from ebur128's final Summary block."""
    summary = stderr[stderr.rfind("Summary:") :] if "Summary:" in stderr else ""
    i_match = _SUMMARY_I.search(summary)
    p_match = _SUMMARY_PEAK.search(summary)
    if i_match is None or p_match is None:
        raise AudioError("could not read loudness from ffmpeg ebur128 output")
    return _number(i_match.group(1)), _number(p_match.group(1))


def _run_meter(input_args: list[str], stdin: bytes | None, *, out_rate: int, timeout_s: float) -> Loudness:
    """Run ffmpeg once: decode, meter (true peak), count the decoded samples."""
    proc = run_ffmpeg(
        [*input_args, "-af", EBUR128.format(peak="true"), "-ac", "1", "-ar", str(out_rate),
         "-f", "s16le", "pipe:1"],
        stdin=stdin,
        timeout_s=timeout_s,
    )  # fmt: skip
    integrated, peak = parse_ebur128_summary(proc.stderr.decode("utf-8", "replace"))
    samples = len(proc.stdout) // _BYTES_PER_SAMPLE
    return Loudness(integrated, peak, round(samples * 1000 / out_rate))


def pcm_input_args(sample_rate: int, channels: int = 1) -> list[str]:
    """ffmpeg input options for signed 16-bit little-endian PCM on stdin."""
    return ["-f", "s16le", "-ar", str(sample_rate), "-ac", str(channels), "-i", "pipe:0"]


def measure_pcm(
    pcm: bytes, sample_rate: int, *, channels: int = 1, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Loudness:
    """Measure signed 16-bit little-endian PCM (what pydub holds in ``raw_data``)."""
    return _run_meter(
        pcm_input_args(sample_rate, channels), pcm, out_rate=sample_rate, timeout_s=timeout_s
    )


def measure_encoded(data: bytes, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Loudness:
    """Measure an encoded file held in memory (e.g. Ogg Opus) by decoding it."""
    return _run_meter(["-i", "pipe:0"], data, out_rate=_MEASURE_RATE, timeout_s=timeout_s)


def measure_file(path: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Loudness:
    """Measure an audio file on disk by decoding it."""
    return _run_meter(["-i", str(path)], None, out_rate=_MEASURE_RATE, timeout_s=timeout_s)
