"""Trim, chime, loudness, limiter and Opus encoding (pydub + ffmpeg)."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import pytest

from audio import processing
from audio.errors import AudioError
from audio.loudness import SILENCE_LUFS, measure_file, measure_pcm, parse_ebur128_summary
from tests.audio.audio_testkit import ffprobe, loudnorm_measure

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*audioop.*", category=DeprecationWarning)
    from pydub import AudioSegment
    from pydub.generators import Sine

RATE = processing.PROCESSING_RATE

SUMMARY = """
[Parsed_ebur128_0 @ 0x55] Summary:

  Integrated loudness:
    I:         -16.3 LUFS
    Threshold: -26.5 LUFS

  Loudness range:
    LRA:         4.1 LU
    Threshold: -36.6 LUFS
    LRA low:   -18.6 LUFS
    LRA high:  -14.5 LUFS

  True peak:
    Peak:       -1.2 dBFS
"""


def tone(ms: int, freq: float = 440.0, volume: float = -10.0) -> AudioSegment:
    return Sine(freq, sample_rate=RATE).to_audio_segment(ms, volume=volume)


def peaky(ms: int) -> AudioSegment:
    """A quiet tone with sharp 0 dBFS clicks every 300 ms, like plosives in speech:
    gain alone cannot reach -16 LUFS without peaks above -1 dBTP."""
    click = Sine(3000, sample_rate=RATE).to_audio_segment(3, volume=-0.5).fade_out(2)
    seg = tone(ms, freq=300.0, volume=-24.0)
    for pos in range(100, ms - 10, 300):
        seg = seg.overlay(click, position=pos)
    return seg


def silence(ms: int) -> AudioSegment:
    return AudioSegment.silent(duration=ms, frame_rate=RATE)


def test_parse_summary() -> None:
    assert parse_ebur128_summary("noise " + SUMMARY) == (-16.3, -1.2)
    silent = SUMMARY.replace("-16.3 LUFS", "-70.0 LUFS").replace("-1.2 dBFS", "-inf dBFS")
    assert parse_ebur128_summary(silent) == (-70.0, float("-inf"))
    with pytest.raises(AudioError, match="could not read loudness"):
        parse_ebur128_summary("ffmpeg said nothing useful")


def test_trim_keeps_a_short_pad() -> None:
    trimmed = processing.trim_silence(silence(1000) + tone(500) + silence(1200))
    assert abs(len(trimmed) - (500 + 2 * processing.PAD_MS)) <= 20


def test_trim_refuses_pure_silence() -> None:
    with pytest.raises(AudioError, match="only silence"):
        processing.trim_silence(silence(800))


def test_join_inserts_gaps() -> None:
    joined = processing.join_with_gaps([tone(300), tone(300), tone(300)])
    assert len(joined) == 900 + 2 * processing.CHUNK_GAP_MS
    with pytest.raises(AudioError):
        processing.join_with_gaps([])


def test_chime_is_a_short_mono_ding_dong_then_a_pause() -> None:
    chime = processing.make_chime()
    assert chime.channels == 1 and chime.frame_rate == RATE
    assert len(chime) == 1200 + processing.CHIME_GAP_MS
    assert chime[:1200].dBFS > -30  # audible
    assert chime[1200:].dBFS == float("-inf")  # then silence
    assert chime[:1200].max_dBFS < -1.0  # never clips


@pytest.mark.integration
def test_measure_a_known_sine() -> None:
    # A 997 Hz sine at -20 dBFS reads -23.0 LUFS by definition of BS.1770.
    loud = measure_pcm(tone(3000, freq=997.0, volume=-20.0).raw_data, RATE)
    assert loud.integrated_lufs == pytest.approx(-23.0, abs=0.2)
    assert loud.true_peak_dbtp == pytest.approx(-20.0, abs=0.2)
    assert loud.duration_ms == 3000
    assert measure_pcm(silence(1000).raw_data, RATE).integrated_lufs == SILENCE_LUFS


@pytest.mark.integration
def test_load_wav_rejects_garbage(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(AudioError, match="unreadable WAV"):
        processing.load_wav(bad)


@pytest.mark.integration
def test_level_reaches_target_on_peaky_audio() -> None:
    seg = peaky(4000)
    before = processing.measure_segment(seg)
    assert before.true_peak_dbtp - before.integrated_lufs > 16  # gain alone would clip
    leveled = processing.level(seg, -16.0, ceiling_dbtp=-1.0)
    after = processing.measure_segment(leveled.segment)
    assert after.integrated_lufs == pytest.approx(-16.0, abs=0.3)
    assert after.true_peak_dbtp <= -1.0 + 0.05
    assert leveled.limit_dbfs is not None


@pytest.mark.integration
def test_level_without_limiting_is_pure_gain() -> None:
    seg = tone(3000, volume=-30.0)
    leveled = processing.level(seg, -16.0)
    assert leveled.limit_dbfs is None
    assert processing.measure_segment(leveled.segment).integrated_lufs == pytest.approx(-16.0, abs=0.2)


@pytest.mark.integration
def test_master_gives_mono_opus_on_target(tmp_path: Path) -> None:
    programme = processing.prepend_chime(peaky(3000) + silence(200) + tone(2000, volume=-25.0))
    mastered = processing.master(programme, -16.0)
    path = tmp_path / "out.opus"
    path.write_bytes(mastered.data)
    facts = ffprobe(path)
    assert (facts["format_name"], facts["codec_name"], facts["channels"]) == ("ogg", "opus", 1)
    assert facts["sample_rate"] == 48000
    integrated, true_peak = loudnorm_measure(path)
    assert integrated == pytest.approx(-16.0, abs=0.5)
    assert true_peak <= -1.0 + 0.3  # loudnorm's meter differs slightly from ebur128's
    assert abs(mastered.loudness.duration_ms - len(programme)) <= 30
    assert measure_file(path).integrated_lufs == mastered.loudness.integrated_lufs


@pytest.mark.integration
def test_encoding_is_deterministic() -> None:
    seg = tone(1500)
    first, second = processing.encode_opus(seg), processing.encode_opus(seg)
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    assert first[:4] == b"OggS"
