"""Limiter planning: how deep to limit and how far to scale before the mastering pass.

The mastering pass (:mod:`audio.mastering`) runs ffmpeg's look-ahead limiter once,
with a depth chosen beforehand; this module holds that choice -- the first plan
from a quick loudness estimate and what the last render of the voice taught
(:class:`LimiterHint`), the deeper re-plan when a pass under-limited, and the hint
the finished pass leaves for next time. Pure arithmetic, so it reads and tests
apart from the processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from audio.loudness import EBUR128, SILENCE_LUFS
from audio.segments import PROCESSING_RATE, AudioSegment, db_to_ratio

# Fast enough to catch the buzzy, peak-dense waveform of espeak's voices (a slow
# limiter just turns the whole voice down), slow enough not to crackle.
LIMITER_FILTER = "alimiter=level_in={level_in:.6f}:limit={limit:.6f}:level=false:attack=2:release=20:latency=true"
# The programme travels to ffmpeg as 32-bit PCM with this much headroom, so it can
# be scaled (in Python) up to 24 dB above full scale before the limiter; the
# limiter's level_in restores the level. That keeps the command line independent of
# the audio, so the process can start before the audio exists.
HEADROOM_DB = 24.0
MAX_DEPTH_DB = 24.0  # never limit deeper than this (it stays inside the headroom)
# The limiter holds peaks this far under the pre-codec ceiling, leaving room for a
# positive make-up gain; the plan aims at PLAN_MAKEUP_DB of make-up.
MAKEUP_ROOM_DB = 0.8
PLAN_MAKEUP_DB = 0.3
# A plan is accepted when the master's peak ends at most this far over the
# pre-codec ceiling; otherwise the mastering pass runs once more, deeper.
PEAK_SLACK_DB = 0.2
# Extra depth on top of what a plan computes (it errs towards limiting more).
DEPTH_MARGIN_DB = 0.5
# Peak-to-loudness reduction gained per dB of limiting depth near espeak-ng's working
# point (0.45-0.7 for its three voices at 6-17 dB); used when nothing better is known.
DEFAULT_SLOPE = 0.55


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
class LimiterPass:
    """One mastering pass: what went in (at its scale) and what came out."""

    scale_db: float
    depth_db: float
    input_lufs: float  # programme loudness after scaling, before limiting
    output: AudioSegment  # 48 kHz, limited
    output_lufs: float
    output_peak_dbfs: float  # 48 kHz sample peak


def limiter_args(ceiling_dbfs: float) -> list[str]:
    """The mastering pass: WAV on stdin -> meter, 48 kHz, limiter, meter -> PCM."""
    chain = ",".join([
        EBUR128.format(peak="none"),
        f"aresample={PROCESSING_RATE}",
        LIMITER_FILTER.format(level_in=db_to_ratio(HEADROOM_DB), limit=db_to_ratio(ceiling_dbfs)),
        EBUR128.format(peak="sample"),
    ])  # fmt: skip
    return ["-f", "wav", "-i", "pipe:0", "-af", chain, "-ac", "1", "-f", "s16le", "pipe:1"]


def scale_for(
    peak_dbfs: float,
    loudness: float,
    depth_for: Callable[[float], float],
    *,
    aim: float,
    limit_dbfs: float,
) -> tuple[float, float]:
    """Scale and depth that should land the limited programme at ``aim``.

    Without limiting, scaling by ``aim - loudness`` would put the peaks at
    ``peak + aim - loudness``; the excess over the limiter's threshold is the
    peak-to-loudness reduction the limiter must provide.
    """
    aim = aim - PLAN_MAKEUP_DB
    needed = peak_dbfs + aim - loudness - limit_dbfs
    if needed <= 0:
        return aim - loudness, 0.0
    depth = min(MAX_DEPTH_DB, max(needed, depth_for(needed)))
    return limit_dbfs + depth - peak_dbfs, depth


def first_depth(needed: float, hint: LimiterHint | None) -> float:
    """Depth for the first pass: from the hint's working point when there is one."""
    if hint is not None and hint.depth_db > 0.5:
        slope = DEFAULT_SLOPE if needed >= hint.reduction_db else 0.8
        return hint.depth_db + (needed - hint.reduction_db) / slope + DEPTH_MARGIN_DB
    return needed / DEFAULT_SLOPE + DEPTH_MARGIN_DB


def plan(
    peak_dbfs: float, estimate: float | None, *, aim: float, limit_dbfs: float, hint: LimiterHint | None
) -> tuple[float, float]:
    """(scale dB, limiter depth dB) for the first pass."""
    if estimate is None:  # too short or quiet to estimate: keep the level
        return 0.0, max(0.0, peak_dbfs - limit_dbfs)
    return scale_for(
        peak_dbfs, estimate, lambda needed: first_depth(needed, hint), aim=aim, limit_dbfs=limit_dbfs
    )


def replan(
    peak_dbfs: float, loudness: float, done: LimiterPass, *, aim: float, limit_dbfs: float
) -> tuple[float, float]:
    """Second pass, from exact loudness and what the first pass's limiter did."""
    reduction = done.depth_db - (done.input_lufs - done.output_lufs)
    chord = reduction / done.depth_db if done.depth_db > 0.5 else DEFAULT_SLOPE
    # Past the working point each dB of depth buys less than the average so far.
    slope = min(1.0, max(0.2, 0.7 * chord))

    def deeper(needed: float) -> float:
        if done.depth_db <= 0.5:
            return needed / DEFAULT_SLOPE + DEPTH_MARGIN_DB
        return done.depth_db + (needed - reduction) / slope + DEPTH_MARGIN_DB

    scale, depth = scale_for(peak_dbfs, loudness, deeper, aim=aim, limit_dbfs=limit_dbfs)
    if depth <= done.depth_db:  # the plan must go deeper than what failed
        depth = min(MAX_DEPTH_DB, done.depth_db + 1.0)
        scale = limit_dbfs + depth - peak_dbfs
    return scale, depth


def learn(hint: LimiterHint | None, raw_estimate: float | None, done: LimiterPass) -> LimiterHint | None:
    """The hint for this voice's next render: this pass's working point, and how
    far the quick estimate was off."""
    if raw_estimate is None or done.input_lufs <= SILENCE_LUFS + 0.05:
        return hint
    bias = done.input_lufs - done.scale_db - raw_estimate
    if done.depth_db <= 0.5:  # nothing learnt about the limiter this time
        if hint is not None:
            return replace(hint, estimate_bias_db=bias)
        return LimiterHint(0.0, 0.0, bias)
    reduction = done.depth_db - (done.input_lufs - done.output_lufs)
    return LimiterHint(done.depth_db, reduction, bias)
