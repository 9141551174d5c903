"""From engine WAVs to the mono Ogg Opus file a speaker node plays: the public face.

The work is split by responsibility, each module small enough to read whole:

* :mod:`audio.segments` -- read, trim and join engine WAVs; quick loudness estimate;
* :mod:`audio.chime` -- the intro ding-dong and its level under the speech;
* :mod:`audio.limiter` -- limiter planning and what a render teaches the next one;
* :mod:`audio.encode` -- Opus settings, the codec's calibrated effect, encoding;
* :mod:`audio.mastering` -- the orchestration (:class:`Mastering`) and the loudness
  policy (its module docstring explains the passes and the numbers).

This module re-exports the names the pipeline, benchmarks and tests use, so callers
keep one import (``from audio import processing``) whatever the split.
"""

from __future__ import annotations

from audio.chime import (
    CHIME_BELOW_SPEECH_LU,
    CHIME_GAP_MS,
    CHIME_LUFS,
    chime_loudness_drop,
    make_chime,
    prepend_chime,
)
from audio.encode import (
    CODEC_LOUDNESS_LOSS_LU,
    CODEC_PEAK_RISE_DB,
    OPUS_APPLICATION,
    OPUS_BITRATE,
    OPUS_COMPLEXITY,
    OPUS_FRAME_MS,
    OPUS_VBR,
    encode_opus,
)
from audio.limiter import LimiterHint
from audio.mastering import (
    LOUDNESS_TOLERANCE_LU,
    TARGET_LUFS,
    TRUE_PEAK_CEILING_DBTP,
    Leveled,
    Mastered,
    Mastering,
    level,
    master,
)
from audio.segments import (
    CHUNK_GAP_MS,
    PAD_MS,
    PROCESSING_RATE,
    SILENCE_THRESHOLD_DBFS,
    AudioSegment,
    db_to_ratio,
    estimate_loudness,
    join_with_gaps,
    load_wav,
    measure_segment,
    ratio_to_db,
    resample,
    trim_silence,
)

__all__ = [
    "CHIME_BELOW_SPEECH_LU",
    "CHIME_GAP_MS",
    "CHIME_LUFS",
    "CHUNK_GAP_MS",
    "CODEC_LOUDNESS_LOSS_LU",
    "CODEC_PEAK_RISE_DB",
    "LOUDNESS_TOLERANCE_LU",
    "OPUS_APPLICATION",
    "OPUS_BITRATE",
    "OPUS_COMPLEXITY",
    "OPUS_FRAME_MS",
    "OPUS_VBR",
    "PAD_MS",
    "PROCESSING_RATE",
    "SILENCE_THRESHOLD_DBFS",
    "TARGET_LUFS",
    "TRUE_PEAK_CEILING_DBTP",
    "AudioSegment",
    "Leveled",
    "LimiterHint",
    "Mastered",
    "Mastering",
    "chime_loudness_drop",
    "db_to_ratio",
    "encode_opus",
    "estimate_loudness",
    "join_with_gaps",
    "level",
    "load_wav",
    "make_chime",
    "master",
    "measure_segment",
    "prepend_chime",
    "ratio_to_db",
    "resample",
    "trim_silence",
]
