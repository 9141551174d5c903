"""Opus encoding: the one ffmpeg run that turns the 48 kHz master into Ogg Opus.

The encoder settings and the codec's measured effect on loudness and peaks live
together here, because the mastering aims are derived from both
(:mod:`audio.mastering`) and benchmarks report them (``loa.bench``).
"""

from __future__ import annotations

from audio.errors import AudioError
from audio.ffmpeg import DEFAULT_TIMEOUT_S, FfmpegJob, start_ffmpeg
from audio.loudness import EBUR128
from audio.segments import PROCESSING_RATE, AudioSegment, resample

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


def checker_args() -> list[str]:
    """Decode Ogg Opus from stdin and meter it (loudness, true peak)."""
    return ["-i", "pipe:0", "-af", EBUR128.format(peak="true"), "-f", "null", "-"]


def encoder_args() -> list[str]:
    """PCM on stdin -> Ogg Opus on stdout, settings above, bit-exact output."""
    return [
        "-f", "s16le", "-ar", str(PROCESSING_RATE), "-ac", "1", "-i", "pipe:0",
        "-c:a", "libopus", "-b:a", OPUS_BITRATE, "-vbr", OPUS_VBR,
        "-application", OPUS_APPLICATION, "-compression_level", str(OPUS_COMPLEXITY),
        "-frame_duration", str(OPUS_FRAME_MS),
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
        "-f", "ogg", "pipe:1",
    ]  # fmt: skip


def pcm48(seg: AudioSegment, timeout_s: float) -> bytes:
    """``seg`` as the raw 48 kHz mono 16-bit PCM the encoder reads."""
    if seg.frame_rate != PROCESSING_RATE:
        seg = resample(seg, PROCESSING_RATE, timeout_s=timeout_s)
    return bytes(seg.set_channels(1).set_sample_width(2).raw_data)


def encode_with(job: FfmpegJob, seg: AudioSegment, timeout_s: float) -> bytes:
    """Feed ``seg`` to an already started encoder ``job``; returns the Ogg Opus bytes."""
    try:
        return job.finish(pcm48(seg, timeout_s), timeout_s=timeout_s).stdout
    except AudioError as exc:
        raise AudioError(f"Opus encoding failed: {exc}") from exc


def encode_opus(seg: AudioSegment, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> bytes:
    """Mono Ogg Opus, ~24 kbit/s VBR, bit-exact so equal audio gives equal bytes."""
    with start_ffmpeg(encoder_args()) as job:
        return encode_with(job, seg, timeout_s)
