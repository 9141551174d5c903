"""From engine WAVs to the mono Ogg Opus file a speaker node plays.

Editing (read, trim, join, chime, gain) is done with pydub, in-process; ffmpeg does
what only it does well: resampling, a look-ahead limiter, the standard loudness
meter (``ebur128``) and libopus. A render costs two ffmpeg runs, both started
before synthesis so their start-up (~70 ms each) overlaps it (:mod:`audio.ffmpeg`):

1. **mastering pass** -- one ffmpeg run meters the speech, resamples it to 48 kHz,
   limits its peaks and meters the result, writing 48 kHz PCM back;
2. **make-up gain** in Python (pydub) to the exact loudness that pass measured,
   then the chime in front, at a level computed from that same measurement;
3. **encode** -- one ffmpeg run, PCM in on a pipe, Ogg Opus out on a pipe.

Loudness policy (docs/audio.md; the tests check it on the decoded Opus with an
independent meter):

* integrated loudness **-16 LUFS** (EBU R128 / ITU-R BS.1770, gated) for the whole
  file, chime included: loud enough for outdoor horn speakers, and what most speech
  platforms use, so announcements sound equally loud whoever made them;
* true peak **-1 dBTP** on the decoded file as the target, best effort: the master's
  48 kHz sample peaks are held ``CODEC_PEAK_RISE_DB`` lower, because Opus at
  24 kbit/s raises them (by ~1 dB typically, by up to 5 dB now and then). Loudness
  wins when the two conflict.

espeak-ng's speech is peaky (18-19 dB from peak to loudness) while -16 LUFS under
-3 dBFS leaves 13 dB, so its peaks are limited by 12-17 dB. How much limiting
lowers loudness depends on the voice, so the depth is planned from a quick
in-process loudness estimate plus what the previous render of the same voice
taught (:class:`LimiterHint`); the mastering pass reports exact figures, the gain
is computed from them, and only when the plan under-limited does the pass run again.

Opus itself lowers integrated loudness by ``CODEC_LOUDNESS_LOSS_LU`` (measured on
espeak-ng speech, chime and test tones), so the master aims that much higher: the
decoded file lands within ~0.15 LU of target without being decoded again. With
``verify=True`` a third ffmpeg run decodes the Opus *while it is being encoded* (on
the other core: ~20 ms of wall time, ~0.15 s of CPU a minute), reports what it
measured, and re-encodes with a corrected gain if the loudness missed by more than
``LOUDNESS_TOLERANCE_LU`` (never seen on speech or chime).
"""

from __future__ import annotations

import functools
import io
import logging
import math
import warnings
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

from audio.errors import AudioError
from audio.ffmpeg import DEFAULT_TIMEOUT_S, FfmpegJob, finish_chained, run_ffmpeg, start_ffmpeg
from audio.loudness import (
    EBUR128,
    SILENCE_LUFS,
    Loudness,
    measure_pcm,
    parse_ebur128_summaries,
    parse_ebur128_summary,
)

with warnings.catch_warnings():
    # pydub 0.25 imports the stdlib audioop, deprecated in 3.11 (audioop-lts on 3.13+).
    warnings.filterwarnings("ignore", message=".*audioop.*", category=DeprecationWarning)
    from pydub import AudioSegment
    from pydub.generators import Sine
    from pydub.silence import detect_leading_silence

log = logging.getLogger(__name__)

TARGET_LUFS = -16.0
TRUE_PEAK_CEILING_DBTP = -1.0
#: How far the decoded loudness may miss the target before ``verify=True`` re-encodes.
LOUDNESS_TOLERANCE_LU = 0.25

PAD_MS = 150  # silence kept around speech so players do not clip the first syllable
SILENCE_THRESHOLD_DBFS = -50.0
CHUNK_GAP_MS = 250  # pause between separately synthesised chunks of a long text
CHIME_GAP_MS = 400  # silence between the chime and the speech
CHIME_BELOW_SPEECH_LU = 2.0  # a call to attention, not a jolt

#: Opus's native rate: the limiter sees (nearly) the true peaks, and the encoder
#: needs no resampling. Editing happens at the engine's own rate before that.
PROCESSING_RATE = 48000

OPUS_BITRATE = "24k"
# Constrained VBR: plain VBR drifted to ~29 kbit/s on chime + speech, and every
# byte goes over paid 3G/4G SIMs; constrained stays within a few % of 24 kbit/s.
OPUS_VBR = "constrained"
# "audio" rather than "voip": voip's high-pass and pre-emphasis raised decoded true
# peaks by ~2 dB (audio: 0.4-1 dB) at the same quality, and would colour the chime.
OPUS_APPLICATION = "audio"
# libopus (1.3) runs its speech/music analysis only at complexity >= 7. Below that,
# in "audio" mode, it codes speech with CELT alone: PESQ-WB fell from 3.7 to 2.3 on
# espeak-ng speech. 8 adds SILK's best pitch search: same PESQ as 10 (3.74) and
# 6 % faster; 7 scored 3.6 and produced more of libopus's rare decoding "pops" on
# espeak's buzzy voice (3 vs 1 in 392 encodes). See docs/audio.md.
OPUS_COMPLEXITY = 8
# 60 ms packets: same quality, ~2 % fewer bytes (less framing), slightly faster.
# Latency does not matter for files.
OPUS_FRAME_MS = 60

#: Integrated loudness Opus (settings above) takes off, measured on decoded files:
#: 0.30-0.50 LU on espeak-ng speech (with or without chime); ~0 on low pure tones.
CODEC_LOUDNESS_LOSS_LU = 0.38
#: Allowance for the decoded true peak rising above the master's 48 kHz sample peak:
#: median 1.1 dB, 90th percentile 2.3 dB on espeak-ng speech at 24 kbit/s, with a
#: tail to 5 dB that no headroom short of crushing the voice covers (re-encoding
#: did not help either: the overshoots mostly recur). The master's peaks are held
#: this much under the ceiling; the decoded peak is best effort.
CODEC_PEAK_RISE_DB = 2.0

# --- limiter ----------------------------------------------------------------------
# Fast enough to catch the buzzy, peak-dense waveform of espeak's voices (a slow
# limiter just turns the whole voice down), slow enough not to crackle.
_LIMITER = "alimiter=level_in={level_in:.6f}:limit={limit:.6f}:level=false:attack=2:release=20:latency=true"
# The programme travels to ffmpeg as 32-bit PCM with this much headroom, so it can
# be scaled (in Python) up to 24 dB above full scale before the limiter; the
# limiter's level_in restores the level. That keeps the command line independent of
# the audio, so the process can start before the audio exists.
_HEADROOM_DB = 24.0
_MAX_DEPTH_DB = 24.0  # never limit deeper than this (it stays inside the headroom)
# The limiter holds peaks this far under the pre-codec ceiling, leaving room for a
# positive make-up gain; the plan aims at _PLAN_MAKEUP_DB of make-up.
_MAKEUP_ROOM_DB = 0.8
_PLAN_MAKEUP_DB = 0.3
# A plan is accepted when the master's peak ends at most this far over the
# pre-codec ceiling; otherwise the mastering pass runs once more, deeper.
_PEAK_SLACK_DB = 0.2
# Extra depth on top of what a plan computes (it errs towards limiting more).
_DEPTH_MARGIN_DB = 0.5
# Peak-to-loudness reduction gained per dB of limiting depth near espeak-ng's working
# point (0.45-0.7 for its three voices at 6-17 dB); used when nothing better is known.
_DEFAULT_SLOPE = 0.55
# The in-process loudness estimate (gated RMS) reads this much above BS.1770 on
# espeak-ng speech (0.0-0.5) and the chime (0.5).
_ESTIMATE_BIAS_DB = -0.3


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


def _gated_blocks(seg: AudioSegment) -> list[float]:
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


def _gated_rms_db(seg: AudioSegment) -> float | None:
    """BS.1770's gating applied to plain RMS (see :func:`estimate_loudness`)."""
    gated = _gated_blocks(seg)
    return 10 * math.log10(sum(gated) / len(gated)) if gated else None


def estimate_loudness(seg: AudioSegment) -> float | None:
    """Quick in-process loudness estimate (LUFS-like), or None if nothing to measure.

    BS.1770's gating on plain RMS: mean power of 400 ms blocks (100 ms apart) above
    -70 dBFS and within 10 dB of their mean. Without K-weighting it reads within
    about 0.5 dB of ebur128 on speech and on the chime: good enough to set the
    chime's level and to plan the limiter, never used as the final figure.
    """
    raw = _gated_rms_db(seg)
    return None if raw is None else raw + _ESTIMATE_BIAS_DB


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


#: ebur128's reading of :func:`make_chime`'s ding-dong (its first 1.2 s), at any
#: rate from 16 to 48 kHz within 0.1 LU (checked by the tests).
CHIME_LUFS = -16.15


@functools.lru_cache(maxsize=4)
def _chime_blocks(sample_rate: int) -> int:
    return len(_gated_blocks(make_chime(sample_rate)))


def prepend_chime(speech: AudioSegment, *, speech_lufs: float | None = None) -> AudioSegment:
    """Put the chime (and its pause) before ``speech``, ``CHIME_BELOW_SPEECH_LU`` quieter.

    ``speech_lufs`` is the speech's loudness when known (the mastering knows it
    exactly); otherwise it is estimated in-process (within about half a dB).
    Mastering adds the chime *after* limiting the speech: limiting lowers the
    speech's loudness by several dB and would leave an unlimited chime too loud.
    """
    chime = make_chime(speech.frame_rate)
    if speech_lufs is None:
        speech_lufs = estimate_loudness(speech)
    if speech_lufs is not None:
        chime = chime.apply_gain(speech_lufs - CHIME_BELOW_SPEECH_LU - CHIME_LUFS)
    return chime + speech.set_channels(1)


def chime_loudness_drop(speech: AudioSegment) -> float:
    """How much quieter (LU) the programme measures than its speech once the chime,
    ``CHIME_BELOW_SPEECH_LU`` under the speech, is in front: gated blocks weighted
    by their power. Mastering raises the speech by this much."""
    speech_blocks = len(_gated_blocks(speech))
    chime_blocks = _chime_blocks(speech.frame_rate)
    if not speech_blocks:
        return 0.0
    weaker = chime_blocks * 10 ** (-CHIME_BELOW_SPEECH_LU / 10)
    return 10 * math.log10((speech_blocks + chime_blocks) / (speech_blocks + weaker))


def measure_segment(seg: AudioSegment, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Loudness:
    """Exact loudness of ``seg`` (one ffmpeg run); the mastering does not need it."""
    seg = seg.set_channels(1).set_sample_width(2)
    return measure_pcm(seg.raw_data, seg.frame_rate, timeout_s=timeout_s)


# --- mastering ----------------------------------------------------------------------


@dataclass(frozen=True)
class LimiterHint:
    """What one render taught about a voice, to plan the next render's limiter."""

    depth_db: float
    """How far the limiter cut the loudest peaks."""
    reduction_db: float
    """How much that lowered peak-to-loudness ratio (less than the depth: limiting
    also lowers loudness)."""
    estimate_bias_db: float
    """ebur128's reading minus :func:`estimate_loudness`'s for this voice."""


@dataclass(frozen=True)
class Leveled:
    """Result of :func:`level`: the 48 kHz master before encoding."""

    segment: AudioSegment
    loudness: Loudness
    """Measured by the mastering pass and shifted by the make-up gain (exact: the gain
    is linear). The peak is the 48 kHz sample peak."""
    limit_depth_db: float | None
    """How far the limiter cut the loudest peaks; None when it had nothing to do."""
    hint: LimiterHint | None
    """For the next render of the same voice (None when nothing was learnt)."""
    passes: int
    """Mastering passes run (1, or 2 when the plan under-limited)."""


@dataclass(frozen=True)
class Mastered:
    """An encoded file and its loudness."""

    data: bytes
    loudness: Loudness
    """Of the decoded file: measured when ``verified``, otherwise the master's exact
    figures adjusted by the codec's calibrated effect (the peak then an upper guess)."""
    verified: bool = False
    leveled: Leveled | None = None
    encodes: int = 1
    """Opus encodes it took (2 when a verified file missed the loudness target)."""


def _limiter_args(ceiling_dbfs: float) -> list[str]:
    """The mastering pass: WAV on stdin -> meter, 48 kHz, limiter, meter -> PCM."""
    chain = ",".join([
        EBUR128.format(peak="none"),
        f"aresample={PROCESSING_RATE}",
        _LIMITER.format(level_in=db_to_ratio(_HEADROOM_DB), limit=db_to_ratio(ceiling_dbfs)),
        EBUR128.format(peak="sample"),
    ])  # fmt: skip
    return ["-f", "wav", "-i", "pipe:0", "-af", chain, "-ac", "1", "-f", "s16le", "pipe:1"]


def _checker_args() -> list[str]:
    """Decode Ogg Opus from stdin and meter it (loudness, true peak)."""
    return ["-i", "pipe:0", "-af", EBUR128.format(peak="true"), "-f", "null", "-"]


def _encoder_args() -> list[str]:
    return [
        "-f", "s16le", "-ar", str(PROCESSING_RATE), "-ac", "1", "-i", "pipe:0",
        "-c:a", "libopus", "-b:a", OPUS_BITRATE, "-vbr", OPUS_VBR,
        "-application", OPUS_APPLICATION, "-compression_level", str(OPUS_COMPLEXITY),
        "-frame_duration", str(OPUS_FRAME_MS),
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
        "-f", "ogg", "pipe:1",
    ]  # fmt: skip


def _pcm48(seg: AudioSegment, timeout_s: float) -> bytes:
    if seg.frame_rate != PROCESSING_RATE:
        seg = resample(seg, PROCESSING_RATE, timeout_s=timeout_s)
    return bytes(seg.set_channels(1).set_sample_width(2).raw_data)


def _encode(job: FfmpegJob, seg: AudioSegment, timeout_s: float) -> bytes:
    try:
        return job.finish(_pcm48(seg, timeout_s), timeout_s=timeout_s).stdout
    except AudioError as exc:
        raise AudioError(f"Opus encoding failed: {exc}") from exc


def encode_opus(seg: AudioSegment, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> bytes:
    """Mono Ogg Opus, ~24 kbit/s VBR, bit-exact so equal audio gives equal bytes."""
    with start_ffmpeg(_encoder_args()) as job:
        return _encode(job, seg, timeout_s)


@dataclass(frozen=True)
class _Pass:
    """One mastering pass: what went in (at its scale) and what came out."""

    scale_db: float
    depth_db: float
    input_lufs: float  # programme loudness after scaling, before limiting
    output: AudioSegment  # 48 kHz, limited
    output_lufs: float
    output_peak_dbfs: float  # 48 kHz sample peak


class Mastering:
    """One render's mastering, with its ffmpeg processes started up front.

    Create it before synthesising (the processes start while the engine speaks),
    call :meth:`master` once, and close it (or use ``with``) whatever happens.
    Thread-safe in the sense that each render has its own instance.
    """

    def __init__(
        self,
        target_lufs: float = TARGET_LUFS,
        *,
        ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
        hint: LimiterHint | None = None,
        verify: bool = False,
        encode: bool = True,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        """``verify`` decodes the Opus while it is encoded (see the module
        docstring); ``encode=False`` is for :func:`level`."""
        self.target_lufs = target_lufs
        self.ceiling_dbtp = ceiling_dbtp
        self.hint = hint
        self.verify = verify
        self.timeout_s = timeout_s
        # Pre-codec aims: Opus takes loudness off and adds peak.
        self._aim_lufs = target_lufs + CODEC_LOUDNESS_LOSS_LU
        self._ceiling_dbfs = ceiling_dbtp - CODEC_PEAK_RISE_DB
        self._limit_dbfs = self._ceiling_dbfs - _MAKEUP_ROOM_DB
        self._aim = self._aim_lufs  # of the speech; set per programme by level()
        self._chime_drop: float | None = None
        self._jobs: list[FfmpegJob] = []
        try:
            self._limiter_job: FfmpegJob | None = self._start(_limiter_args(self._limit_dbfs))
            self._encoder_job: FfmpegJob | None = self._start(_encoder_args()) if encode else None
            self._checker_job: FfmpegJob | None = (
                self._start(_checker_args()) if encode and verify else None
            )
        except BaseException:
            self.close()
            raise

    def _start(self, args: list[str]) -> FfmpegJob:
        job = start_ffmpeg(args)
        self._jobs.append(job)
        return job

    @property
    def pids(self) -> list[int]:
        """Process ids of the started, not yet used ffmpeg processes."""
        return [pid for job in self._jobs if (pid := job.pid) is not None]

    def close(self) -> None:
        """Kill whatever process was not used; idempotent."""
        for job in self._jobs:
            job.cancel()
        self._jobs.clear()

    def __enter__(self) -> Mastering:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- public steps ---------------------------------------------------------------

    def level(self, seg: AudioSegment, *, chime: bool = False) -> Leveled:
        """Limit and gain ``seg`` (any rate) into the 48 kHz pre-codec master,
        with the chime in front when asked (see :func:`prepend_chime`)."""
        seg = seg.set_channels(1).set_sample_width(2)
        # With a chime, the speech aims a little higher so the whole programme lands
        # on the target.
        self._chime_drop = chime_loudness_drop(seg) if chime else None
        self._aim = self._aim_lufs + (self._chime_drop or 0.0)
        peak = seg.max_dBFS
        if peak == -math.inf:
            raise AudioError("nothing to master: the audio is digital silence")
        raw = _gated_rms_db(seg)
        bias = self.hint.estimate_bias_db if self.hint is not None else _ESTIMATE_BIAS_DB
        estimate = None if raw is None else raw + bias
        first = self._run(seg, self._plan(peak, estimate))
        passes = [first]
        if first.input_lufs > SILENCE_LUFS + 0.05:
            loudness = first.input_lufs - first.scale_db
            if self._peak_after_gain(first) > self._ceiling_dbfs + _PEAK_SLACK_DB:
                log.debug("limiter plan under-limited (depth %.1f dB); running again", first.depth_db)
                passes.append(self._run(seg, self._replan(peak, loudness, first)))
        return self._finish(raw, passes)

    def master(self, seg: AudioSegment, *, chime: bool = False) -> Mastered:
        """Level ``seg`` (chime in front if asked) and encode it; with ``verify``,
        measure the decoded file."""
        leveled = self.level(seg, chime=chime)
        if not self.verify:
            data = self._encode_next(leveled.segment)
            loud = leveled.loudness
            loss = CODEC_LOUDNESS_LOSS_LU if loud.measurable else 0.0
            predicted = Loudness(
                loud.integrated_lufs - loss, loud.true_peak_dbtp + CODEC_PEAK_RISE_DB, loud.duration_ms
            )
            return Mastered(data, predicted, verified=False, leveled=leveled)
        first = self._encode_checked(leveled, leveled.segment)
        error = first.loudness.integrated_lufs - self.target_lufs
        if abs(error) <= LOUDNESS_TOLERANCE_LU or not first.loudness.measurable:
            return first
        log.warning(
            "decoded loudness %.2f LUFS; encoding again with %.2f dB",
            first.loudness.integrated_lufs, -error,
        )  # fmt: skip
        second = self._encode_checked(leveled, leveled.segment.apply_gain(-error))
        best = min((first, second), key=lambda m: abs(m.loudness.integrated_lufs - self.target_lufs))
        return replace(best, encodes=2)

    def _encode_checked(self, leveled: Leveled, seg: AudioSegment) -> Mastered:
        """Encode, decoding and metering the output at the same time."""
        encoder, checker = self._encoder_job, self._checker_job
        self._encoder_job = self._checker_job = None
        if encoder is None:
            encoder = self._start(_encoder_args())
        if checker is None:
            checker = self._start(_checker_args())
        try:
            encoded, checked = finish_chained(
                encoder, checker, _pcm48(seg, self.timeout_s), timeout_s=self.timeout_s
            )
        except AudioError as exc:
            raise AudioError(f"Opus encoding failed: {exc}") from exc
        integrated, peak = parse_ebur128_summary(checked.stderr.decode("utf-8", "replace"))
        loud = Loudness(integrated, peak, leveled.loudness.duration_ms)
        return Mastered(encoded.stdout, loud, verified=True, leveled=leveled)

    # --- planning -------------------------------------------------------------------

    def _plan(self, peak_dbfs: float, estimate: float | None) -> tuple[float, float]:
        """(scale dB, limiter depth dB) for the first pass."""
        if estimate is None:  # too short or quiet to estimate: keep the level
            return 0.0, max(0.0, peak_dbfs - self._limit_dbfs)
        return self._scale_for(peak_dbfs, estimate, self._first_depth)

    def _replan(self, peak_dbfs: float, loudness: float, done: _Pass) -> tuple[float, float]:
        """Second pass, from exact loudness and what the first pass's limiter did."""
        reduction = done.depth_db - (done.input_lufs - done.output_lufs)
        chord = reduction / done.depth_db if done.depth_db > 0.5 else _DEFAULT_SLOPE
        # Past the working point each dB of depth buys less than the average so far.
        slope = min(1.0, max(0.2, 0.7 * chord))

        def deeper(needed: float) -> float:
            if done.depth_db <= 0.5:
                return needed / _DEFAULT_SLOPE + _DEPTH_MARGIN_DB
            return done.depth_db + (needed - reduction) / slope + _DEPTH_MARGIN_DB

        scale, depth = self._scale_for(peak_dbfs, loudness, deeper)
        if depth <= done.depth_db:  # the plan must go deeper than what failed
            depth = min(_MAX_DEPTH_DB, done.depth_db + 1.0)
            scale = self._limit_dbfs + depth - peak_dbfs
        return scale, depth

    def _first_depth(self, needed: float) -> float:
        if self.hint is not None and self.hint.depth_db > 0.5:
            slope = _DEFAULT_SLOPE if needed >= self.hint.reduction_db else 0.8
            return self.hint.depth_db + (needed - self.hint.reduction_db) / slope + _DEPTH_MARGIN_DB
        return needed / _DEFAULT_SLOPE + _DEPTH_MARGIN_DB

    def _scale_for(
        self, peak_dbfs: float, loudness: float, depth_for: Callable[[float], float]
    ) -> tuple[float, float]:
        """Scale and depth that should land the limited programme at the aim.

        Without limiting, scaling by ``aim - loudness`` would put the peaks at
        ``peak + aim - loudness``; the excess over the limiter's threshold is the
        peak-to-loudness reduction the limiter must provide.
        """
        aim = self._aim - _PLAN_MAKEUP_DB
        needed = peak_dbfs + aim - loudness - self._limit_dbfs
        if needed <= 0:
            return aim - loudness, 0.0
        depth = min(_MAX_DEPTH_DB, max(needed, depth_for(needed)))
        return self._limit_dbfs + depth - peak_dbfs, depth

    # --- running --------------------------------------------------------------------

    def _run(self, seg: AudioSegment, plan: tuple[float, float]) -> _Pass:
        scale_db, depth_db = plan
        job = self._limiter_job
        self._limiter_job = None
        if job is None:  # second pass: start one now
            job = self._start(_limiter_args(self._limit_dbfs))
        wide = seg.set_sample_width(4).apply_gain(scale_db - _HEADROOM_DB)
        buf = io.BytesIO()
        wide.export(buf, format="wav")
        proc = job.finish(buf.getvalue(), timeout_s=self.timeout_s)
        meters = parse_ebur128_summaries(proc.stderr.decode("utf-8", "replace"))
        if len(meters) != 2 or meters[1].peak_dbfs is None:
            raise AudioError("could not read the mastering pass's loudness from ffmpeg")
        out = AudioSegment(data=proc.stdout, sample_width=2, frame_rate=PROCESSING_RATE, channels=1)
        return _Pass(
            scale_db=scale_db,
            depth_db=depth_db,
            input_lufs=_shift(meters[0].integrated_lufs, _HEADROOM_DB),
            output=out,
            output_lufs=meters[1].integrated_lufs,
            output_peak_dbfs=meters[1].peak_dbfs,
        )

    def _peak_after_gain(self, done: _Pass) -> float:
        return done.output_peak_dbfs + self._aim - done.output_lufs

    def _finish(self, raw_estimate: float | None, passes: list[_Pass]) -> Leveled:
        done = passes[-1]
        if done.output_lufs <= SILENCE_LUFS + 0.05:
            log.warning("audio too short or quiet to measure loudness; leaving its level alone")
            programme = done.output if self._chime_drop is None else prepend_chime(done.output)
            duration_ms = round(len(programme.raw_data) / 2 * 1000 / PROCESSING_RATE)
            loud = Loudness(done.output_lufs, done.output_peak_dbfs, duration_ms)
            return Leveled(programme, loud, None, self.hint, len(passes))
        gain = self._aim - done.output_lufs
        over = done.output_peak_dbfs + gain - (self._ceiling_dbfs + _PEAK_SLACK_DB)
        if over > 0:
            gain -= over
            log.log(
                logging.WARNING if over > LOUDNESS_TOLERANCE_LU else logging.DEBUG,
                "peak ceiling limits gain: %.2f LU below target", over,
            )  # fmt: skip
        speech = done.output.apply_gain(gain) if abs(gain) > 0.005 else done.output
        speech_lufs = done.output_lufs + gain
        programme, integrated = speech, speech_lufs
        if self._chime_drop is not None:
            programme = prepend_chime(speech, speech_lufs=speech_lufs)
            integrated = speech_lufs - self._chime_drop
        duration_ms = round(len(programme.raw_data) / 2 * 1000 / PROCESSING_RATE)
        loud = Loudness(integrated, done.output_peak_dbfs + gain, duration_ms)
        depth = done.depth_db if done.depth_db > 0.05 else None
        return Leveled(programme, loud, depth, self._learn(raw_estimate, done), len(passes))

    def _learn(self, raw_estimate: float | None, done: _Pass) -> LimiterHint | None:
        """The hint for this voice's next render: this pass's working point, and how
        far the quick estimate was off."""
        if raw_estimate is None or done.input_lufs <= SILENCE_LUFS + 0.05:
            return self.hint
        bias = done.input_lufs - done.scale_db - raw_estimate
        if done.depth_db <= 0.5:  # nothing learnt about the limiter this time
            if self.hint is not None:
                return replace(self.hint, estimate_bias_db=bias)
            return LimiterHint(0.0, 0.0, bias)
        reduction = done.depth_db - (done.input_lufs - done.output_lufs)
        return LimiterHint(done.depth_db, reduction, bias)

    def _encode_next(self, seg: AudioSegment) -> bytes:
        job = self._encoder_job
        self._encoder_job = None
        if job is None:
            job = self._start(_encoder_args())
        return _encode(job, seg, self.timeout_s)


def _shift(lufs: float, db: float) -> float:
    return lufs if lufs <= SILENCE_LUFS + 0.05 else lufs + db


def level(
    seg: AudioSegment,
    target_lufs: float,
    *,
    ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
    hint: LimiterHint | None = None,
    chime: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Leveled:
    """Gain ``seg`` to ``target_lufs`` (pre-codec, so the aims include no codec
    allowance) with 48 kHz sample peaks <= ``ceiling_dbtp``; returns 48 kHz audio."""
    with Mastering(
        target_lufs - CODEC_LOUDNESS_LOSS_LU,
        ceiling_dbtp=ceiling_dbtp + CODEC_PEAK_RISE_DB,
        hint=hint,
        encode=False,
        timeout_s=timeout_s,
    ) as mastering:
        return mastering.level(seg, chime=chime)


def master(
    seg: AudioSegment,
    target_lufs: float = TARGET_LUFS,
    *,
    ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
    hint: LimiterHint | None = None,
    chime: bool = False,
    verify: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Mastered:
    """Level and encode ``seg``: the one-call form of :class:`Mastering`."""
    with Mastering(
        target_lufs, ceiling_dbtp=ceiling_dbtp, hint=hint, verify=verify, timeout_s=timeout_s
    ) as mastering:
        return mastering.master(seg, chime=chime)
