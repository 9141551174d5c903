"""The intro chime: generated in code (no asset ships) and set under the speech.

Its own module because its level is policy (``CHIME_BELOW_SPEECH_LU`` under the
speech) that both :func:`prepend_chime` and the mastering's loudness aim rely on.
"""

from __future__ import annotations

import functools
import math
import warnings

from audio.segments import PROCESSING_RATE, AudioSegment, estimate_loudness, gated_blocks

with warnings.catch_warnings():
    # pydub 0.25 imports the stdlib audioop, deprecated in 3.11 (audioop-lts on 3.13+).
    warnings.filterwarnings("ignore", message=".*audioop.*", category=DeprecationWarning)
    from pydub.generators import Sine

CHIME_GAP_MS = 400  # silence between the chime and the speech
CHIME_BELOW_SPEECH_LU = 2.0  # a call to attention, not a jolt


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
    return len(gated_blocks(make_chime(sample_rate)))


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
    speech_blocks = len(gated_blocks(speech))
    chime_blocks = _chime_blocks(speech.frame_rate)
    if not speech_blocks:
        return 0.0
    weaker = chime_blocks * 10 ** (-CHIME_BELOW_SPEECH_LU / 10)
    return 10 * math.log10((speech_blocks + chime_blocks) / (speech_blocks + weaker))
