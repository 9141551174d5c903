"""Reading, trim, chime, loudness, limiter and Opus encoding (pydub + ffmpeg)."""

from __future__ import annotations

import hashlib
import subprocess
import warnings
from pathlib import Path

import pytest

from audio import processing
from audio.errors import AudioError
from audio.ffmpeg import finish_chained, start_ffmpeg
from audio.loudness import (
    SILENCE_LUFS,
    measure_file,
    measure_pcm,
    parse_ebur128_summaries,
    parse_ebur128_summary,
)
from tests.audio.audio_testkit import ffprobe, loudnorm_measure, write_tone_wav

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


def test_parse_every_meter_in_chain_order() -> None:
    first = SUMMARY.replace("Parsed_ebur128_0", "Parsed_ebur128_3").replace("True peak", "Sample peak")
    second = SUMMARY.split("True peak")[0]  # a peak=none meter
    meters = parse_ebur128_summaries(first + second)
    assert [(m.integrated_lufs, m.peak_dbfs) for m in meters] == [(-16.3, None), (-16.3, -1.2)]
    assert parse_ebur128_summaries("no meter here") == []


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
def test_load_wav_keeps_the_engine_rate(tmp_path: Path) -> None:
    path = tmp_path / "speech.wav"
    write_tone_wav(path, 0.5, rate=22050)
    seg = processing.load_wav(path)
    assert (seg.frame_rate, seg.channels, seg.sample_width) == (22050, 1, 2)
    assert abs(len(seg) - 900) <= 2  # 0.2 s + 0.5 s + 0.2 s, read in-process


@pytest.mark.integration
def test_load_wav_decodes_float_wavs_with_ffmpeg(tmp_path: Path) -> None:
    path = tmp_path / "float.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=0.5:r=24000",
         "-c:a", "pcm_f32le", str(path)],
        check=True, timeout=30,
    )  # fmt: skip
    seg = processing.load_wav(path)
    assert (seg.frame_rate, seg.channels, seg.sample_width) == (RATE, 1, 2)
    assert abs(len(seg) - 500) <= 2


def test_join_resamples_a_chunk_at_another_rate() -> None:
    other = Sine(440, sample_rate=22050).to_audio_segment(300, volume=-10.0)
    joined = processing.join_with_gaps([tone(300), other])
    assert joined.frame_rate == RATE
    assert abs(len(joined) - (600 + processing.CHUNK_GAP_MS)) <= 2


@pytest.mark.integration
@pytest.mark.parametrize("make", [lambda: tone(3000, volume=-20.0), lambda: processing.make_chime()])
def test_estimate_is_close_to_the_meter(make: object) -> None:
    seg = make()  # type: ignore[operator]
    estimate = processing.estimate_loudness(seg)
    assert estimate is not None
    assert estimate == pytest.approx(processing.measure_segment(seg).integrated_lufs, abs=1.0)
    assert processing.estimate_loudness(silence(2000)) is None
    assert processing.estimate_loudness(tone(300)) is None  # shorter than one 400 ms block


@pytest.mark.integration
@pytest.mark.parametrize("rate", [22050, 24000, RATE])
def test_chime_loudness_constant(rate: int) -> None:
    measured = processing.measure_segment(processing.make_chime(rate)[:1200]).integrated_lufs
    assert measured == pytest.approx(processing.CHIME_LUFS, abs=0.1)


@pytest.mark.integration
def test_mastered_chime_keeps_its_place_after_limiting() -> None:
    # The limiter takes several dB off peaky speech; the chime must follow the
    # *limited* speech, not the raw one.
    speech = peaky(6000)
    leveled = processing.level(speech, -16.0, chime=True)
    chime_ms = 1200 + processing.CHIME_GAP_MS
    chime = processing.measure_segment(leveled.segment[:1200]).integrated_lufs
    after = processing.measure_segment(leveled.segment[chime_ms:]).integrated_lufs
    whole = processing.measure_segment(leveled.segment).integrated_lufs
    assert after - chime == pytest.approx(processing.CHIME_BELOW_SPEECH_LU, abs=0.3)
    assert whole == pytest.approx(-16.0, abs=0.2)
    assert whole == pytest.approx(leveled.loudness.integrated_lufs, abs=0.2)


@pytest.mark.integration
def test_chime_sits_two_lu_under_the_speech() -> None:
    speech = tone(4000, freq=500.0, volume=-18.0)
    programme = processing.prepend_chime(speech)
    chime_lufs = processing.measure_segment(programme[:1200]).integrated_lufs
    speech_lufs = processing.measure_segment(speech).integrated_lufs
    # The level comes from an estimate without K-weighting (within ~0.5 dB on speech
    # and on the chime; further off for click-heavy audio, whose clicks K-weighting favours).
    assert speech_lufs - chime_lufs == pytest.approx(processing.CHIME_BELOW_SPEECH_LU, abs=1.0)
    assert len(programme) == len(speech) + 1200 + processing.CHIME_GAP_MS


@pytest.mark.integration
def test_level_reaches_target_on_peaky_audio() -> None:
    seg = peaky(4000)
    before = processing.measure_segment(seg)
    assert before.true_peak_dbtp - before.integrated_lufs > 16  # gain alone would clip
    leveled = processing.level(seg, -16.0, ceiling_dbtp=-1.0)
    assert leveled.segment.frame_rate == RATE
    after = processing.measure_segment(leveled.segment)
    assert after.integrated_lufs == pytest.approx(-16.0, abs=0.15)
    assert after.integrated_lufs == pytest.approx(leveled.loudness.integrated_lufs, abs=0.1)
    assert after.true_peak_dbtp <= -1.0 + 0.3
    assert leveled.limit_depth_db is not None and leveled.limit_depth_db > 3
    assert leveled.hint is not None


@pytest.mark.integration
def test_level_without_limiting_is_pure_gain() -> None:
    seg = tone(3000, volume=-30.0)
    leveled = processing.level(seg, -16.0)
    assert leveled.limit_depth_db is None
    assert leveled.passes == 1
    assert processing.measure_segment(leveled.segment).integrated_lufs == pytest.approx(-16.0, abs=0.15)


@pytest.mark.integration
def test_level_resamples_engine_rate_audio() -> None:
    seg = Sine(440, sample_rate=22050).to_audio_segment(3000, volume=-30.0)
    leveled = processing.level(seg, -16.0)
    assert leveled.segment.frame_rate == RATE
    assert abs(len(leveled.segment) - 3000) <= 2


@pytest.mark.integration
def test_a_wrong_hint_costs_a_second_pass_not_the_peaks() -> None:
    shallow = processing.LimiterHint(depth_db=1.0, reduction_db=8.0, estimate_bias_db=0.0)
    leveled = processing.level(peaky(4000), -16.0, ceiling_dbtp=-1.0, hint=shallow)
    assert leveled.passes == 2
    after = processing.measure_segment(leveled.segment)
    assert after.integrated_lufs == pytest.approx(-16.0, abs=0.15)
    assert after.true_peak_dbtp <= -1.0 + 0.3
    # What it learnt plans the next render in one pass.
    again = processing.level(peaky(4000), -16.0, ceiling_dbtp=-1.0, hint=leveled.hint)
    assert again.passes == 1


@pytest.mark.integration
def test_master_gives_mono_opus_on_target(tmp_path: Path) -> None:
    speech = peaky(3000) + silence(200) + tone(2000, volume=-25.0)
    mastered = processing.master(speech, -16.0, chime=True, verify=True)
    programme_ms = len(speech) + 1200 + processing.CHIME_GAP_MS
    assert mastered.verified
    path = tmp_path / "out.opus"
    path.write_bytes(mastered.data)
    facts = ffprobe(path)
    assert (facts["format_name"], facts["codec_name"], facts["channels"]) == ("ogg", "opus", 1)
    assert facts["sample_rate"] == 48000
    integrated, true_peak = loudnorm_measure(path)
    assert integrated == pytest.approx(-16.0, abs=0.5)
    assert true_peak <= -1.0 + 1.0  # best effort: Opus may overshoot (docs/audio.md)
    assert abs(mastered.loudness.duration_ms - programme_ms) <= 30
    measured = measure_file(path)
    assert measured.integrated_lufs == pytest.approx(mastered.loudness.integrated_lufs, abs=0.05)
    assert measured.duration_ms == mastered.loudness.duration_ms


@pytest.mark.integration
def test_unverified_master_predicts_the_decoded_loudness(tmp_path: Path) -> None:
    mastered = processing.master(peaky(5000), -16.0)
    assert not mastered.verified and mastered.encodes == 1
    path = tmp_path / "out.opus"
    path.write_bytes(mastered.data)
    integrated, _ = loudnorm_measure(path)
    assert integrated == pytest.approx(-16.0, abs=0.5)
    assert mastered.loudness.integrated_lufs == pytest.approx(integrated, abs=0.5)


@pytest.mark.integration
def test_encoding_is_deterministic() -> None:
    seg = tone(1500)
    first, second = processing.encode_opus(seg), processing.encode_opus(seg)
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    assert first[:4] == b"OggS"


@pytest.mark.integration
def test_unused_prestarted_processes_are_reaped() -> None:
    with processing.Mastering(verify=True) as mastering:
        pids = mastering.pids
        assert len(pids) == 3
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()


@pytest.mark.integration
def test_a_failing_step_kills_the_other_processes() -> None:
    with pytest.raises(AudioError, match="digital silence"), processing.Mastering() as mastering:
        pids = mastering.pids
        mastering.master(silence(1000))
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()


@pytest.mark.integration
def test_chained_ffmpeg_streams_into_the_second_process() -> None:
    pcm = tone(2000, freq=997.0, volume=-20.0).raw_data
    encoder = start_ffmpeg(["-f", "s16le", "-ar", str(RATE), "-ac", "1", "-i", "pipe:0",
                            "-c:a", "libopus", "-b:a", "24k", "-f", "ogg", "pipe:1"])
    meter = start_ffmpeg(["-i", "pipe:0", "-af", "ebur128=peak=true", "-f", "null", "-"])
    encoded, metered = finish_chained(encoder, meter, pcm, timeout_s=30)
    assert encoded.stdout[:4] == b"OggS"
    integrated, _ = parse_ebur128_summary(metered.stderr.decode())
    assert integrated == pytest.approx(-23.0, abs=0.5)
    with pytest.raises(AudioError, match="already used"):
        encoder.finish(b"")


@pytest.mark.integration
def test_chained_ffmpeg_reports_the_second_process_failing() -> None:
    encoder = start_ffmpeg(["-f", "s16le", "-ar", str(RATE), "-ac", "1", "-i", "pipe:0",
                            "-c:a", "libopus", "-b:a", "24k", "-f", "ogg", "pipe:1"])
    broken = start_ffmpeg(["-f", "s16le", "-i", "pipe:0", "-af", "nosuchfilter", "-f", "null", "-"])
    with pytest.raises(AudioError, match="ffmpeg failed"):
        finish_chained(encoder, broken, tone(500).raw_data, timeout_s=30)
