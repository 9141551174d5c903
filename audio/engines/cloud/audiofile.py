"""Turn what a service sent (MP3 or WAV bytes) into the WAV file the pipeline expects.

Decoding goes through :func:`audio.ffmpeg.run_ffmpeg` rather than pydub's
``from_file`` because pydub runs ffmpeg without a timeout, and a cloud engine must
finish within its request deadline. Joining and writing use pydub, like the rest
of the audio package.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from audio.errors import AudioError
from audio.ffmpeg import run_ffmpeg

if TYPE_CHECKING:
    from pydub import AudioSegment

CHUNK_GAP_MS = 250
"""Pause between separately synthesised pieces of one text (matches the pipeline)."""


def _segment_class() -> type[AudioSegment]:
    with warnings.catch_warnings():
        # pydub 0.25 imports the stdlib audioop, deprecated in 3.11 (audioop-lts on 3.13+).
        warnings.filterwarnings("ignore", message=".*audioop.*", category=DeprecationWarning)
        from pydub import AudioSegment
    return AudioSegment


def decode_audio(data: bytes, sample_rate: int, *, timeout_s: float) -> AudioSegment:
    """Decode any ffmpeg-readable audio to mono 16-bit PCM at ``sample_rate``."""
    if not data:
        raise AudioError("the audio file is empty")
    proc = run_ffmpeg(
        ["-i", "pipe:0", "-vn", "-ac", "1", "-ar", str(sample_rate),
         "-f", "s16le", "-acodec", "pcm_s16le", "pipe:1"],
        stdin=data,
        timeout_s=max(timeout_s, 1.0),
    )  # fmt: skip
    if not proc.stdout:
        raise AudioError("the audio file holds no samples")
    return _segment_class()(data=proc.stdout, sample_width=2, frame_rate=sample_rate, channels=1)


def write_joined_wav(segments: Sequence[AudioSegment], out_path: Path, *, gap_ms: int = CHUNK_GAP_MS) -> None:
    """Join ``segments`` with short pauses into one WAV, written atomically."""
    if not segments:
        raise AudioError("no audio to join")
    joined = segments[0]
    for seg in segments[1:]:
        joined = joined + _segment_class().silent(duration=gap_ms, frame_rate=joined.frame_rate) + seg
    partial = out_path.with_name(out_path.name + ".part")
    try:
        with open(partial, "wb") as f:  # pydub returns, but never closes, a file it opens
            joined.export(f, format="wav")  # plain WAV: pydub writes it without ffmpeg
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)


def join_wav_files(paths: Sequence[Path], out_path: Path, sample_rate: int, *, timeout_s: float) -> None:
    """Join WAV files (possibly of different rates) into one WAV at ``sample_rate``."""
    segments = [decode_audio(p.read_bytes(), sample_rate, timeout_s=timeout_s) for p in paths]
    write_joined_wav(segments, out_path)
