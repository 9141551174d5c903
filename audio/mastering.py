"""Mastering: from edited speech to the mono Ogg Opus file a speaker node plays.

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

import io
import logging
import math
from dataclasses import dataclass, replace
from types import TracebackType

from audio import limiter
from audio.chime import chime_loudness_drop, prepend_chime
from audio.encode import (
    CODEC_LOUDNESS_LOSS_LU,
    CODEC_PEAK_RISE_DB,
    checker_args,
    encode_with,
    encoder_args,
    pcm48,
)
from audio.errors import AudioError
from audio.ffmpeg import DEFAULT_TIMEOUT_S, FfmpegJob, finish_chained, start_ffmpeg
from audio.limiter import HEADROOM_DB, MAKEUP_ROOM_DB, PEAK_SLACK_DB, LimiterHint, LimiterPass, limiter_args
from audio.loudness import SILENCE_LUFS, Loudness, parse_ebur128_summaries, parse_ebur128_summary
from audio.segments import ESTIMATE_BIAS_DB, PROCESSING_RATE, AudioSegment, gated_rms_db

# Still the name it had before the split from audio.processing, so logging
# configuration keyed on it keeps working.
log = logging.getLogger("audio.processing")

TARGET_LUFS = -16.0
TRUE_PEAK_CEILING_DBTP = -1.0
#: How far the decoded loudness may miss the target before ``verify=True`` re-encodes.
LOUDNESS_TOLERANCE_LU = 0.25


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
        self._limit_dbfs = self._ceiling_dbfs - MAKEUP_ROOM_DB
        self._aim = self._aim_lufs  # of the speech; set per programme by level()
        self._chime_drop: float | None = None
        self._jobs: list[FfmpegJob] = []
        try:
            self._limiter_job: FfmpegJob | None = self._start(limiter_args(self._limit_dbfs))
            self._encoder_job: FfmpegJob | None = self._start(encoder_args()) if encode else None
            self._checker_job: FfmpegJob | None = (
                self._start(checker_args()) if encode and verify else None
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
        raw = gated_rms_db(seg)
        bias = self.hint.estimate_bias_db if self.hint is not None else ESTIMATE_BIAS_DB
        estimate = None if raw is None else raw + bias
        first = self._run(
            seg, limiter.plan(peak, estimate, aim=self._aim, limit_dbfs=self._limit_dbfs, hint=self.hint)
        )
        passes = [first]
        if first.input_lufs > SILENCE_LUFS + 0.05:
            loudness = first.input_lufs - first.scale_db
            if self._peak_after_gain(first) > self._ceiling_dbfs + PEAK_SLACK_DB:
                log.debug("limiter plan under-limited (depth %.1f dB); running again", first.depth_db)
                replan = limiter.replan(peak, loudness, first, aim=self._aim, limit_dbfs=self._limit_dbfs)
                passes.append(self._run(seg, replan))
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
            encoder = self._start(encoder_args())
        if checker is None:
            checker = self._start(checker_args())
        try:
            encoded, checked = finish_chained(
                encoder, checker, pcm48(seg, self.timeout_s), timeout_s=self.timeout_s
            )
        except AudioError as exc:
            raise AudioError(f"Opus encoding failed: {exc}") from exc
        integrated, peak = parse_ebur128_summary(checked.stderr.decode("utf-8", "replace"))
        loud = Loudness(integrated, peak, leveled.loudness.duration_ms)
        return Mastered(encoded.stdout, loud, verified=True, leveled=leveled)

    # --- running --------------------------------------------------------------------

    def _run(self, seg: AudioSegment, plan: tuple[float, float]) -> LimiterPass:
        scale_db, depth_db = plan
        job = self._limiter_job
        self._limiter_job = None
        if job is None:  # second pass: start one now
            job = self._start(limiter_args(self._limit_dbfs))
        wide = seg.set_sample_width(4).apply_gain(scale_db - HEADROOM_DB)
        buf = io.BytesIO()
        wide.export(buf, format="wav")
        proc = job.finish(buf.getvalue(), timeout_s=self.timeout_s)
        meters = parse_ebur128_summaries(proc.stderr.decode("utf-8", "replace"))
        if len(meters) != 2 or meters[1].peak_dbfs is None:
            raise AudioError("could not read the mastering pass's loudness from ffmpeg")
        out = AudioSegment(data=proc.stdout, sample_width=2, frame_rate=PROCESSING_RATE, channels=1)
        return LimiterPass(
            scale_db=scale_db,
            depth_db=depth_db,
            input_lufs=_shift(meters[0].integrated_lufs, HEADROOM_DB),
            output=out,
            output_lufs=meters[1].integrated_lufs,
            output_peak_dbfs=meters[1].peak_dbfs,
        )

    def _peak_after_gain(self, done: LimiterPass) -> float:
        return done.output_peak_dbfs + self._aim - done.output_lufs

    def _finish(self, raw_estimate: float | None, passes: list[LimiterPass]) -> Leveled:
        done = passes[-1]
        if done.output_lufs <= SILENCE_LUFS + 0.05:
            log.warning("audio too short or quiet to measure loudness; leaving its level alone")
            programme = done.output if self._chime_drop is None else prepend_chime(done.output)
            duration_ms = round(len(programme.raw_data) / 2 * 1000 / PROCESSING_RATE)
            loud = Loudness(done.output_lufs, done.output_peak_dbfs, duration_ms)
            return Leveled(programme, loud, None, self.hint, len(passes))
        gain = self._aim - done.output_lufs
        over = done.output_peak_dbfs + gain - (self._ceiling_dbfs + PEAK_SLACK_DB)
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
        return Leveled(programme, loud, depth, limiter.learn(self.hint, raw_estimate, done), len(passes))

    def _encode_next(self, seg: AudioSegment) -> bytes:
        job = self._encoder_job
        self._encoder_job = None
        if job is None:
            job = self._start(encoder_args())
        return encode_with(job, seg, self.timeout_s)


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
