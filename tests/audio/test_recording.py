"""Uploaded recordings (audio/recording.py) with real ffmpeg: every accepted format ends
as mono Opus at the speech target loudness; every refusal has its code and leaves
nothing behind."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from audio.errors import RecordingError
from audio.mastering import TARGET_LUFS
from audio.recording import RecordingLimits, load_recording, master_recording
from audio.store import AudioStore
from tests.audio.audio_testkit import ffprobe, loudnorm_measure

pytestmark = pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("ffprobe")), reason="needs ffmpeg")

# A voice-like test signal: a 220 Hz tone whose level wobbles at 3 Hz (syllables),
# with a harmonic; stereo 44.1 kHz like a phone recording.
SIGNAL = "aevalsrc=(0.3+0.25*sin(2*PI*3*t))*(sin(2*PI*220*t)+0.4*sin(2*PI*660*t)):s=44100:c=stereo"
CODECS = {
    "wav": ["-c:a", "pcm_s16le"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    "ogg": ["-c:a", "libopus", "-b:a", "32k"],
    "m4a": ["-c:a", "aac", "-b:a", "64k"],
}


def make(path: Path, seconds: float, *, source: str = SIGNAL, fmt: str | None = None) -> Path:
    """Encode `seconds` of `source` (an ffmpeg lavfi graph) into `path` (format by suffix,
    or `fmt` for the codec when the name lies about it)."""
    codec = CODECS[fmt or path.suffix.lstrip(".")]
    muxer = {"m4a": "ipod", "ogg": "ogg", "wav": "wav", "mp3": "mp3"}[fmt or path.suffix.lstrip(".")]
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source, "-t", str(seconds),
         *codec, "-f", muxer, str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def leftovers(*dirs: Path) -> list[Path]:
    return [p for d in dirs if d.exists() for p in d.rglob("*") if p.is_file()]


@pytest.mark.parametrize("fmt", ["wav", "mp3", "ogg", "m4a"])
def test_each_format_becomes_mono_opus_at_the_speech_target(tmp_path: Path, store: AudioStore, fmt: str) -> None:
    src = make(tmp_path / f"thong-bao.{fmt}", 6.0)
    got = master_recording(src, store, scratch_dir=tmp_path / "scratch")
    path = store.path_for(got.sha256)
    facts = ffprobe(path)
    assert (facts["codec_name"], facts["channels"], facts["sample_rate"]) == ("opus", 1, 48000)
    assert path.stat().st_size == got.size
    assert abs(facts["duration_s"] - 6.0) < 0.15 and abs(got.duration_ms - 6000) < 150
    integrated, true_peak = loudnorm_measure(path)
    assert abs(integrated - TARGET_LUFS) < 0.5, integrated
    assert true_peak < 0.0
    assert abs(got.loudness_lufs - TARGET_LUFS) < 0.3
    assert load_recording(store, got.sha256) == got
    assert leftovers(tmp_path / "scratch") == []  # the scratch copy is gone


def test_bytes_and_open_files_are_accepted(tmp_path: Path, store: AudioStore) -> None:
    src = make(tmp_path / "a.wav", 3.0)
    from_bytes = master_recording(src.read_bytes(), store)
    with src.open("rb") as fh:
        from_file = master_recording(fh, store)
    assert from_bytes.sha256 == from_file.sha256  # same audio, same bytes, stored once


def test_format_is_judged_by_content_not_by_name(tmp_path: Path, store: AudioStore) -> None:
    aac_named_mp3 = make(tmp_path / "really-aac.mp3", 3.0, fmt="m4a")
    got = master_recording(aac_named_mp3, store)
    assert got.source_codec == "aac" and got.source_format.startswith("mov,mp4,m4a")
    text = tmp_path / "bai-phat-bieu.mp3"
    text.write_text("Kính thưa bà con, đây không phải là âm thanh.\n" * 50, encoding="utf-8")
    with pytest.raises(RecordingError) as err:
        master_recording(text, store)
    assert err.value.code == "not_audio"


def test_an_image_is_not_audio(tmp_path: Path, store: AudioStore) -> None:
    png = tmp_path / "anh.ogg"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=red:s=32x32",
         "-frames:v", "1", "-f", "image2", "-c:v", "png", str(png)],
        check=True, timeout=60,
    )  # fmt: skip
    with pytest.raises(RecordingError) as err:
        master_recording(png, store)
    assert err.value.code == "not_audio"


def test_too_long_is_refused(tmp_path: Path, store: AudioStore) -> None:
    src = make(tmp_path / "dai.mp3", 4.0)
    with pytest.raises(RecordingError) as err:
        master_recording(src, store, limits=RecordingLimits(max_seconds=3))
    assert err.value.code == "too_long" and "limit is 3 s" in str(err.value)
    assert leftovers(store.root) == []


def test_a_lying_duration_is_caught_on_decoding(tmp_path: Path, store: AudioStore) -> None:
    """An MP3 without a Xing header whose first second is 320 kbit/s and the rest 32:
    ffprobe estimates its length from the first frames' bitrate (~2.6 s of 11 s), so
    only the decoded length tells the truth."""
    parts = []
    for seconds, rate in ((1, "320k"), (10, "32k")):
        part = tmp_path / f"part-{rate}.mp3"
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", f"sine=f=440:d={seconds}",
             "-c:a", "libmp3lame", "-b:a", rate, "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3", str(part)],
            check=True, timeout=60,
        )  # fmt: skip
        parts.append(part.read_bytes())
    joined = tmp_path / "noi.mp3"
    joined.write_bytes(b"".join(parts))
    assert ffprobe(joined)["duration_s"] < 5  # the header lies
    with pytest.raises(RecordingError) as err:
        master_recording(joined, store, limits=RecordingLimits(max_seconds=5))
    assert err.value.code == "too_long"
    assert leftovers(store.root) == []


def test_too_large_is_refused_while_reading(tmp_path: Path, store: AudioStore) -> None:
    class Endless:
        """An upload that never ends: only a limit checked while reading stops it."""

        read_bytes = 0

        def read(self, n: int = -1) -> bytes:
            self.read_bytes += 65536
            return b"\0" * 65536

    source = Endless()
    with pytest.raises(RecordingError) as err:
        master_recording(source, store, scratch_dir=tmp_path / "scratch", limits=RecordingLimits(max_bytes=1_000_000))  # type: ignore[arg-type]
    assert err.value.code == "too_large"
    assert source.read_bytes <= 1_000_000 + 65536
    src = make(tmp_path / "lon.wav", 3.0)  # ~530 KB
    with pytest.raises(RecordingError) as err:
        master_recording(src, store, limits=RecordingLimits(max_bytes=100_000))
    assert err.value.code == "too_large"
    with pytest.raises(RecordingError) as err:
        master_recording(src.read_bytes(), store, limits=RecordingLimits(max_bytes=100_000))
    assert err.value.code == "too_large"
    assert leftovers(tmp_path / "scratch", store.root) == []


@pytest.mark.parametrize(
    "source", ["anullsrc=r=44100:cl=mono", "aevalsrc=0.001*sin(2*PI*440*t):s=44100"], ids=["digital-silence", "hiss-level"]
)
def test_silent_recordings_are_refused(tmp_path: Path, store: AudioStore, source: str) -> None:
    src = make(tmp_path / "im-lang.wav", 3.0, source=source)
    with pytest.raises(RecordingError) as err:
        master_recording(src, store)
    assert err.value.code == "silent"
    assert leftovers(store.root) == []


def test_empty_upload(store: AudioStore) -> None:
    with pytest.raises(RecordingError) as err:
        master_recording(b"", store)
    assert err.value.code == "empty"


def test_chime_goes_in_front_and_the_whole_stays_on_target(tmp_path: Path, store: AudioStore) -> None:
    src = make(tmp_path / "a.ogg", 5.0)
    plain = master_recording(src, store)
    chimed = master_recording(src, store, chime=True)
    assert chimed.chime and not plain.chime and chimed.sha256 != plain.sha256
    assert 1400 <= chimed.duration_ms - plain.duration_ms <= 1800  # the 1.2 s chime and its pause
    integrated, _ = loudnorm_measure(store.path_for(chimed.sha256))
    assert abs(integrated - TARGET_LUFS) < 0.5


def test_speech_renders_are_not_recordings(tmp_path: Path, store: AudioStore) -> None:
    sha = store.put_bytes(b"OggS" + b"\1" * 100)
    assert load_recording(store, sha) is None
    assert load_recording(store, "0" * 64) is None
    assert load_recording(store, "../../etc/passwd") is None
