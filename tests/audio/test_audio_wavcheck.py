"""Detecting a complete WAV (pyttsx3 may return before the file is written)."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import pytest

from audio.wavcheck import wait_for_complete_wav, wav_is_complete


def write_wav(path: Path, frames: int = 2205) -> bytes:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(b"\x01\x00" * frames)
    return path.read_bytes()


def test_complete_wav(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    write_wav(path)
    assert wav_is_complete(path)


def test_header_with_placeholder_sizes_is_incomplete(tmp_path: Path) -> None:
    """What Python's wave module has on disk before close() patches the header."""
    full = write_wav(tmp_path / "a.wav")
    partial = bytearray(full)
    struct.pack_into("<I", partial, 4, 36)  # RIFF size as if there were no data
    struct.pack_into("<I", partial, 40, 0)  # data size 0
    (tmp_path / "b.wav").write_bytes(bytes(partial))
    assert not wav_is_complete(tmp_path / "b.wav")


def test_truncated_and_foreign_files_are_incomplete(tmp_path: Path) -> None:
    full = write_wav(tmp_path / "a.wav")
    (tmp_path / "cut.wav").write_bytes(full[:-100])
    (tmp_path / "tiny.wav").write_bytes(full[:20])
    (tmp_path / "ogg.wav").write_bytes(b"OggS" + full[4:])
    for name in ("cut.wav", "tiny.wav", "ogg.wav", "missing.wav"):
        assert not wav_is_complete(tmp_path / name), name


def test_chunks_after_data_are_allowed(tmp_path: Path) -> None:
    full = bytearray(write_wav(tmp_path / "a.wav"))
    extra = b"LIST" + struct.pack("<I", 4) + b"INFO"
    full += extra
    struct.pack_into("<I", full, 4, len(full) - 8)
    (tmp_path / "b.wav").write_bytes(bytes(full))
    assert wav_is_complete(tmp_path / "b.wav")


def test_wait_returns_once_the_file_is_complete_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "late.wav"
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            write_wav(path)  # the writer finishes while we wait

    size = wait_for_complete_wav(path, deadline=100.0, clock=lambda: 0.0, sleep=sleep)
    assert size == path.stat().st_size
    assert len(sleeps) == 4  # seen complete once, then confirmed stable


def test_wait_gives_up_at_the_deadline(tmp_path: Path) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(TimeoutError):
        wait_for_complete_wav(tmp_path / "never.wav", deadline=0.5, clock=lambda: now[0], sleep=sleep)
    assert now[0] == pytest.approx(0.5, abs=0.02)
