"""From engine WAVs to the mono Ogg Opus file a speaker node plays.

Editing (trim, join, chime, gain) is done with pydub; measuring, peak limiting and
encoding are done by ffmpeg, because only ffmpeg has a standard loudness meter
(``ebur128``), a look-ahead limiter and libopus.

Loudness policy (documented target, checked by the tests on the decoded Opus):

* integrated loudness **-16 LUFS** (EBU R128 / ITU-R BS.1770, gated): loud enough for
  outdoor horn speakers, and the level most streaming/speech platforms use, so
  announcements sound equally loud whichever engine or official produced them;
* true peak **<= -1 dBTP** on the decoded file, the usual headroom that keeps the
  lossy codec and the amplifier's DAC from clipping.

espeak-ng's speech is peaky (18-19 dB between true peak and loudness), so plain
gain cannot reach -16 LUFS without peaks above -1 dBTP, and "limit the gain" alone
would leave it 3-4 LU too quiet. So, at 48 kHz:

1. ffmpeg's look-ahead limiter (``alimiter``, fast attack/release) shaves the peaks;
   its threshold is searched so that, after gain, true peak lands just under the
   ceiling (limiting also lowers loudness, hence a search, usually 2-3 runs);
2. the gain to the target is applied with pydub. Only if the limiter cannot get
   there (more than 24 dB of limiting) is the gain itself reduced to respect the
   ceiling, leaving the file quieter than target (logged as a warning);
3. the master is encoded, decoded and measured. Opus lowers loudness by ~0.3 LU and
   raises true peaks by up to ~1 dB at 24 kbit/s, so the pre-encode master aims at
   +0.3 LU and -2 dBTP; if the decoded file is still off by more than
   ``LOUDNESS_TOLERANCE_LU`` or peaks above -1 dBTP, it is re-made with corrected
   aims (at most ``MAX_MASTER_PASSES`` encodes; the best attempt is kept, loudness
   taking priority over the decoded peak, which is therefore best effort).
"""

from __future__ import annotations

import functools
import io
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from audio.errors import AudioError
from audio.ffmpeg import DEFAULT_TIMEOUT_S, run_ffmpeg
from audio.loudness import Loudness, filter_and_measure_pcm, measure_encoded, measure_pcm

with warnings.catch_warnings():
    # pydub 0.25 imports the stdlib audioop, deprecated in 3.11 (audioop-lts on 3.13+).
    warnings.filterwarnings("ignore", message=".*audioop.*", category=DeprecationWarning)
    from pydub import AudioSegment
    from pydub.exceptions import CouldntEncodeError
    from pydub.generators import Sine
    from pydub.silence import detect_leading_silence

log = logging.getLogger(__name__)

TARGET_LUFS = -16.0
TRUE_PEAK_CEILING_DBTP = -1.0
LOUDNESS_TOLERANCE_LU = 0.25
MAX_MASTER_PASSES = 3

PAD_MS = 150  # silence kept around speech so players do not clip the first syllable
SILENCE_THRESHOLD_DBFS = -50.0
CHUNK_GAP_MS = 250  # pause between separately synthesised chunks of a long text
CHIME_GAP_MS = 400  # silence between the chime and the speech
CHIME_BELOW_SPEECH_LU = 2.0  # a call to attention, not a jolt

# Everything is processed at Opus's native rate: the limiter then sees (nearly) the
# true peaks, and the encoder needs no resampling.
PROCESSING_RATE = 48000

OPUS_BITRATE = "24k"
# Constrained VBR: plain VBR drifted to ~29 kbit/s on chime + speech, and every
# byte goes over paid 3G/4G SIMs; constrained stays within a few % of 24 kbit/s.
OPUS_VBR = "constrained"
# "audio" rather than "voip": voip's speech pre-emphasis raised true peaks by ~1 dB
# more in our measurements and would colour the chime; at 24 kbit/s both sound alike.
OPUS_APPLICATION = "audio"

_LIMITER_FLOOR_DBFS = -24.0  # alimiter cannot limit below 1/16 full scale
_LIMIT_MARGIN_DB = 0.2  # aim this far under the ceiling: ffmpeg reports 0.1 dB steps
_MAX_LIMIT_STEPS = 4
# Fast enough to catch the buzzy, peak-dense waveform of espeak's voices (a slow
# limiter just turns the whole voice down), slow enough not to crackle.
_LIMITER = "alimiter=limit={limit:.5f}:level=false:attack=2:release=20:latency=true"
# First guesses of what Opus does to the decoded file, refined by measurement:
_CODEC_HEADROOM_DB = 1.0  # true peak rises by up to about this much
_CODEC_LOUDNESS_LOSS_LU = 0.3  # integrated loudness drops by about this much


@dataclass(frozen=True)
class Mastered:
    """An encoded file and what its decoded audio measured."""

    data: bytes
    loudness: Loudness


def db_to_ratio(db: float) -> float:
    return float(10 ** (db / 20))


def load_wav(path: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> AudioSegment:
    """Read an engine's WAV as 16-bit mono at ``PROCESSING_RATE``.

    ffmpeg resamples (pydub's own resampler aliases audibly), and accepts whatever
    WAV flavour an engine writes (float, stereo, 16/22.05/24 kHz).
    """
    try:
        proc = run_ffmpeg(
            ["-i", str(path), "-ac", "1", "-ar", str(PROCESSING_RATE), "-f", "s16le", "pipe:1"],
            timeout_s=timeout_s,
        )
    except AudioError as exc:
        raise AudioError(f"speech engine produced an unreadable WAV: {exc}") from exc
    return AudioSegment(data=proc.stdout, sample_width=2, frame_rate=PROCESSING_RATE, channels=1)


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
    """Concatenate segments (same sample rate) with a short pause between them."""
    if not segments:
        raise AudioError("nothing to join")
    out = segments[0]
    for seg in segments[1:]:
        out = out + AudioSegment.silent(duration=gap_ms, frame_rate=out.frame_rate) + seg
    return out


def _bell(freq: float, duration_ms: int, sample_rate: int) -> AudioSegment:
    """A sine with two quiet overtones, quick attack and long fade: a soft bell."""
    tone = Sine(freq, sample_rate=sample_rate).to_audio_segment(duration_ms, volume=-9.0)
    for mult, vol in ((2.0, -21.0), (3.0, -29.0)):
        tone = tone.overlay(
            Sine(freq * mult, sample_rate=sample_rate).to_audio_segment(duration_ms, volume=vol)
        )
    return tone.fade_in(8).fade_out(duration_ms - 30)


@functools.lru_cache(maxsize=4)
def make_chime(sample_rate: int = PROCESSING_RATE) -> AudioSegment:
    """The intro "ding-dong" (E5 then C5, 1.2 s), generated here so no asset ships.

    Followed by ``CHIME_GAP_MS`` of silence. Cached: it only depends on the rate.
    """
    ding = _bell(659.25, 700, sample_rate)
    dong = _bell(523.25, 650, sample_rate)
    chime = AudioSegment.silent(duration=1200, frame_rate=sample_rate)
    chime = chime.set_channels(1).set_sample_width(2)
    chime = chime.overlay(ding, position=0).overlay(dong, position=550)
    return chime + AudioSegment.silent(duration=CHIME_GAP_MS, frame_rate=sample_rate)


@functools.lru_cache(maxsize=4)
def _chime_loudness(sample_rate: int) -> Loudness:
    return measure_segment(make_chime(sample_rate))


def prepend_chime(
    speech: AudioSegment, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> AudioSegment:
    """Put the chime (and its pause) before ``speech``, ``CHIME_BELOW_SPEECH_LU`` quieter.

    Matching the chime to the speech *before* mastering means one limiter search
    for the whole programme instead of one per part.
    """
    chime = make_chime(speech.frame_rate)
    speech_loudness = measure_segment(speech, timeout_s=timeout_s)
    if speech_loudness.measurable:
        gain = (
            speech_loudness.integrated_lufs
            - CHIME_BELOW_SPEECH_LU
            - _chime_loudness(speech.frame_rate).integrated_lufs
        )
        chime = chime.apply_gain(gain)
    return chime + speech


def measure_segment(seg: AudioSegment, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Loudness:
    return measure_pcm(seg.raw_data, seg.frame_rate, channels=seg.channels, timeout_s=timeout_s)


def limit_peaks(
    seg: AudioSegment, ceiling_dbfs: float, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> tuple[AudioSegment, Loudness]:
    """Hold sample peaks under ``ceiling_dbfs`` with ffmpeg's look-ahead limiter.

    Returns the limited audio and its loudness, measured in the same ffmpeg run.
    """
    limit = db_to_ratio(max(ceiling_dbfs, _LIMITER_FLOOR_DBFS))
    pcm, loudness = filter_and_measure_pcm(
        seg.set_channels(1).raw_data,
        seg.frame_rate,
        _LIMITER.format(limit=limit),
        timeout_s=timeout_s,
    )
    limited = AudioSegment(data=pcm, sample_width=2, frame_rate=seg.frame_rate, channels=1)
    return limited, loudness


def _excess(m: Loudness, target_lufs: float, ceiling_dbtp: float) -> float:
    """How far the true peak would exceed the ceiling once gained to the target."""
    return m.true_peak_dbtp + (target_lufs - m.integrated_lufs) - ceiling_dbtp


@dataclass(frozen=True)
class Leveled:
    """Result of :func:`level`."""

    segment: AudioSegment
    loudness: Loudness
    """Loudness after the gain: measured before it and shifted by it (exact, gain is
    linear)."""
    limit_dbfs: float | None
    """Limiter threshold used, before gain; None when no limiting was needed."""


def level(
    seg: AudioSegment,
    target_lufs: float,
    *,
    ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
    measured: Loudness | None = None,
    first_limit_dbfs: float | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Leveled:
    """Gain ``seg`` to ``target_lufs`` keeping true peak <= ``ceiling_dbtp``.

    When plain gain would overshoot the ceiling, search the limiter threshold by the
    secant method (limiting also lowers loudness, so the answer is not one
    subtraction away); two or three ffmpeg runs usually suffice, one when
    ``first_limit_dbfs`` is a good guess. ``measured`` saves re-measuring ``seg``.
    """
    base = measured if measured is not None else measure_segment(seg, timeout_s=timeout_s)
    if not base.measurable:
        log.warning("audio too short or quiet to measure loudness; leaving its level alone")
        return Leveled(seg, base, None)
    out, current, used_limit = seg, base, None
    prev_limit, prev_excess = base.true_peak_dbtp, _excess(base, target_lufs, ceiling_dbtp)
    if prev_excess > 0:
        limit_db = prev_limit - prev_excess - _LIMIT_MARGIN_DB
        if first_limit_dbfs is not None:
            limit_db = min(first_limit_dbfs, prev_limit - _LIMIT_MARGIN_DB)
        for _ in range(_MAX_LIMIT_STEPS):
            out, current = limit_peaks(seg, limit_db, timeout_s=timeout_s)
            used_limit = limit_db
            excess = _excess(current, target_lufs, ceiling_dbtp)
            if excess <= 0 or limit_db <= _LIMITER_FLOOR_DBFS:
                break
            # Excess falls by less than 1 dB per dB of limiting; estimate the slope.
            slope = (prev_excess - excess) / (prev_limit - limit_db)
            slope = min(1.0, max(0.2, slope))
            prev_limit, prev_excess = limit_db, excess
            limit_db -= (excess + _LIMIT_MARGIN_DB) / slope
    gain = min(target_lufs - current.integrated_lufs, ceiling_dbtp - current.true_peak_dbtp)
    shortfall = target_lufs - current.integrated_lufs - gain
    if shortfall > 0.05:
        log.log(
            logging.WARNING if shortfall > LOUDNESS_TOLERANCE_LU else logging.DEBUG,
            "peak ceiling limits gain: %.1f LU below target", shortfall,
        )
    after = Loudness(
        current.integrated_lufs + gain, current.true_peak_dbtp + gain, current.duration_ms
    )
    return Leveled(out.apply_gain(gain), after, used_limit)


def encode_opus(seg: AudioSegment) -> bytes:
    """Mono Ogg Opus, ~24 kbit/s VBR, bit-exact so equal audio gives equal bytes."""
    buf = io.BytesIO()
    try:
        seg.set_channels(1).export(
            buf,
            format="ogg",
            codec="libopus",
            bitrate=OPUS_BITRATE,
            parameters=[
                "-ac", "1",
                "-ar", str(PROCESSING_RATE),
                "-application", OPUS_APPLICATION,
                "-vbr", OPUS_VBR,
                "-map_metadata", "-1",
                "-fflags", "+bitexact",
                "-flags:a", "+bitexact",
            ],
        )  # fmt: skip
    except CouldntEncodeError as exc:
        raise AudioError(f"Opus encoding failed: {str(exc).strip().splitlines()[-1:]}") from exc
    return buf.getvalue()


def master(
    seg: AudioSegment,
    target_lufs: float = TARGET_LUFS,
    *,
    ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
    tolerance_lu: float = LOUDNESS_TOLERANCE_LU,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Mastered:
    """Level, encode and verify on the decoded file; correct and retry if needed."""
    measured = measure_segment(seg, timeout_s=timeout_s)
    aim, headroom = target_lufs + _CODEC_LOUDNESS_LOSS_LU, _CODEC_HEADROOM_DB
    limit_hint: float | None = None
    candidates: list[Mastered] = []
    for attempt in range(1, MAX_MASTER_PASSES + 1):
        leveled = level(
            seg, aim, ceiling_dbtp=ceiling_dbtp - headroom, measured=measured,
            first_limit_dbfs=limit_hint, timeout_s=timeout_s,
        )  # fmt: skip
        data = encode_opus(leveled.segment)
        result = Mastered(data, measure_encoded(data, timeout_s=timeout_s))
        if not result.loudness.measurable:
            return result  # nothing more to steer by
        candidates.append(result)
        error = result.loudness.integrated_lufs - target_lufs
        over = result.loudness.true_peak_dbtp - ceiling_dbtp
        if abs(error) <= tolerance_lu and over <= 0:
            return result
        log.debug("master pass %d: %.2f LUFS, %.2f dBTP; correcting", attempt,
                  result.loudness.integrated_lufs, result.loudness.true_peak_dbtp)
        step = 0.0
        if abs(error) > tolerance_lu:
            aim -= error
            step -= error
        if over > 0:
            headroom += over + 0.1
            step += over + 0.1
        if leveled.limit_dbfs is not None:
            limit_hint = leveled.limit_dbfs - max(0.0, step)
    best = min(candidates, key=lambda m: _badness(m, target_lufs, ceiling_dbtp, tolerance_lu))
    log.warning("loudness %.2f LUFS / peak %.2f dBTP after %d passes (target %.1f LUFS)",
                best.loudness.integrated_lufs, best.loudness.true_peak_dbtp,
                MAX_MASTER_PASSES, target_lufs)
    return best


def _badness(
    m: Mastered, target_lufs: float, ceiling_dbtp: float, tolerance_lu: float
) -> tuple[bool, float, float]:
    """Order candidates: loudness in tolerance first (what listeners notice), then
    the lowest peak overshoot, then the smallest loudness error."""
    error = abs(m.loudness.integrated_lufs - target_lufs)
    return (error > tolerance_lu, max(0.0, m.loudness.true_peak_dbtp - ceiling_dbtp), error)
