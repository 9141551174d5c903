"""Engine WAVs in, one pydub segment out: read, trim, join, and quick analysis.

Kept apart from the mastering so the editing steps (all in-process, no ffmpeg on
the usual path) can be read and tested on their own; :mod:`audio.chime` and
:mod:`audio.mastering` build on the helpers here.
"""

from __future__ import annotations

import math
import warnings
import wave
from collections.abc import Sequence
from pathlib import Path

from audio.errors import AudioError
from audio.ffmpeg import DEFAULT_TIMEOUT_S, run_ffmpeg
from audio.loudness import Loudness, measure_pcm

with warnings.catch_warnings():
    # pydub 0.25 imports the stdlib audioop, deprecated in 3.11 (audioop-lts on 3.13+).
    warnings.filterwarnings("ignore", message=".*audioop.*", category=DeprecationWarning)
    from pydub import AudioSegment
    from pydub.silence import detect_leading_silence

PAD_MS = 150  # silence kept around speech so players do not clip the first syllable
SILENCE_THRESHOLD_DBFS = -50.0
CHUNK_GAP_MS = 250  # pause between separately synthesised chunks of a long text

#: Opus's native rate: the limiter sees (nearly) the true peaks, and the encoder
#: needs no resampling. Editing happens at the engine's own rate before that.
PROCESSING_RATE = 48000

# The in-process loudness estimate (gated RMS) reads this much above BS.1770 on
# espeak-ng speech (0.0-0.5) and the chime (0.5).
ESTIMATE_BIAS_DB = -0.3


def db_to_ratio(db: float) -> float:
    return float(10 ** (db / 20))


def ratio_to_db(ratio: float) -> float:
    return 20 * math.log10(ratio) if ratio > 0 else -math.inf


# --- reading and editing (pydub, no ffmpeg on the usual path) -----------------------


def load_wav(path: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> AudioSegment:
    """Read an engine's WAV as 16-bit mono at the file's own sample rate.

    Integer PCM (what espeak-ng, Piper and the cloud engines write) is read
    in-process; anything else (float, extensible headers) is decoded by ffmpeg to
    ``PROCESSING_RATE``. Resampling waits for the mastering pass, where ffmpeg does it
    (pydub's own resampler aliases audibly).
    """
    try:
        with wave.open(str(path), "rb") as wav:
            seg = AudioSegment(
                data=wav.readframes(wav.getnframes()),
                sample_width=wav.getsampwidth(),
                frame_rate=wav.getframerate(),
                channels=wav.getnchannels(),
            )
        return seg.set_channels(1).set_sample_width(2)
    except (wave.Error, EOFError, ValueError):
        pass  # not plain integer PCM: let ffmpeg decode it
    except OSError as exc:
        raise AudioError(f"speech engine produced an unreadable WAV: {exc}") from exc
    try:
        proc = run_ffmpeg(
            ["-i", str(path), "-ac", "1", "-ar", str(PROCESSING_RATE), "-f", "s16le", "pipe:1"],
            timeout_s=timeout_s,
        )
    except AudioError as exc:
        raise AudioError(f"speech engine produced an unreadable WAV: {exc}") from exc
    return AudioSegment(data=proc.stdout, sample_width=2, frame_rate=PROCESSING_RATE, channels=1)


def resample(seg: AudioSegment, rate: int, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> AudioSegment:
    """``seg`` at ``rate`` (ffmpeg's resampler); only needed when engine rates differ."""
    if seg.frame_rate == rate:
        return seg
    proc = run_ffmpeg(
        ["-f", "s16le", "-ar", str(seg.frame_rate), "-ac", "1", "-i", "pipe:0",
         "-ar", str(rate), "-f", "s16le", "pipe:1"],
        stdin=seg.set_channels(1).set_sample_width(2).raw_data,
        timeout_s=timeout_s,
    )  # fmt: skip
    return AudioSegment(data=proc.stdout, sample_width=2, frame_rate=rate, channels=1)


def trim_silence(
    seg: AudioSegment, *, pad_ms: int = PAD_MS, threshold_dbfs: float = SILENCE_THRESHOLD_DBFS
) -> AudioSegment:
    """Cut leading/trailing silence down to ``pad_ms``; engines pad unevenly."""
    lead = detect_leading_silence(seg, silence_threshold=threshold_dbfs)
    if lead >= len(seg):
        raise AudioError("speech engine produced only silence")
    trail = detect_leading_silence(seg.reverse(), silence_threshold=threshold_dbfs)
    return seg[max(0, lead - pad_ms) : min(len(seg), len(seg) - trail + pad_ms)]


def join_with_gaps(segments: Sequence[AudioSegment], gap_ms: int = CHUNK_GAP_MS) -> AudioSegment:
    """Concatenate segments with a short pause between them (at the first one's rate)."""
    if not segments:
        raise AudioError("nothing to join")
    out = segments[0]
    for seg in segments[1:]:
        gap = AudioSegment.silent(duration=gap_ms, frame_rate=out.frame_rate)
        out = out + gap + resample(seg, out.frame_rate)
    return out


def gated_blocks(seg: AudioSegment) -> list[float]:
    """Mean powers (re full scale) of the 400 ms blocks BS.1770's gates keep."""
    seg = seg.set_channels(1)
    full_scale = float(seg.max_possible_amplitude)
    # Mean squares of 100 ms pieces; a 400 ms block's power is the mean of four.
    powers = [(piece.rms / full_scale) ** 2 for piece in seg[::100] if len(piece) == 100]
    blocks = [sum(powers[i : i + 4]) / 4 for i in range(len(powers) - 3)]
    blocks = [p for p in blocks if p > 1e-7]  # -70 dBFS absolute gate
    if not blocks:
        return []
    relative_gate = sum(blocks) / len(blocks) / 10
    return [p for p in blocks if p >= relative_gate]


def gated_rms_db(seg: AudioSegment) -> float | None:
    """BS.1770's gating applied to plain RMS (see :func:`estimate_loudness`)."""
    gated = gated_blocks(seg)
    return 10 * math.log10(sum(gated) / len(gated)) if gated else None


def estimate_loudness(seg: AudioSegment) -> float | None:
    """Quick in-process loudness estimate (LUFS-like), or None if nothing to measure.

    BS.1770's gating on plain RMS: mean power of 400 ms blocks (100 ms apart) above
    -70 dBFS and within 10 dB of their mean. Without K-weighting it reads within
    about 0.5 dB of ebur128 on speech and on the chime: good enough to set the
    chime's level and to plan the limiter, never used as the final figure.
    """
    raw = gated_rms_db(seg)
    return None if raw is None else raw + ESTIMATE_BIAS_DB



def measure_segment(seg: AudioSegment, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Loudness:
    """Exact loudness of ``seg`` (one ffmpeg run); the mastering does not need it."""
    seg = seg.set_channels(1).set_sample_width(2)
    return measure_pcm(seg.raw_data, seg.frame_rate, timeout_s=timeout_s)
