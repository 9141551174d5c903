"""Recorded announcements: an official's uploaded audio, checked, mastered like speech, stored.

Officials often record on a phone instead of typing (a leader's voice carries more
weight than a synthetic one, and some messages are hard to type). The file arrives
in whatever the phone or browser made — MP3, WAV, M4A/AAC, Ogg or WebM Opus — and
leaves as the same mono Ogg Opus at the same loudness as synthesised speech
(:mod:`audio.mastering`), so a recorded bulletin is neither louder nor quieter than
the typed one before it.

Checks come cheapest first and each has a machine ``code``
(:class:`audio.errors.RecordingError`) for the web layer's Vietnamese message:

1. ``too_large`` while copying the upload into the scratch dir, byte count against the
   limit, before anything is decoded (``empty`` for no bytes at all);
2. ``not_audio`` when ffprobe finds no audio stream or a container outside the list.
   The copy has no file extension, so ffprobe judges by content: a text file renamed
   ``.mp3`` is refused, and an M4A named ``.mp3`` is accepted;
3. ``too_long`` from the container's duration, and again from the decoded length
   (decoding stops one second past the limit, so a lying header costs little);
4. ``unreadable`` when decoding fails half-way (a truncated upload);
5. ``silent`` when nothing in it is loud enough to master (a muted microphone).

The stored file is content-addressed like every render (atomic write, no half
files), with a small sidecar ``recordings/{sha256}.json`` that marks it as an
uploaded recording, so announcements can refer to uploads and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from audio.errors import AudioError, RecordingError
from audio.ffmpeg import DEFAULT_TIMEOUT_S, run_ffmpeg
from audio.mastering import TARGET_LUFS, Mastering
from audio.segments import PROCESSING_RATE, AudioSegment, estimate_loudness, trim_silence
from audio.store import AudioStore, atomic_write, is_sha256

log = logging.getLogger(__name__)

DEFAULT_MAX_SECONDS = 600.0
DEFAULT_MAX_BYTES = 30 * 1024 * 1024
#: Containers ffprobe may report (by content). WebM is what browsers' MediaRecorder makes.
ACCEPTED_FORMATS = frozenset(
    {"mp3", "wav", "ogg", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "flac", "aac"}
)
ACCEPTED_CODECS = frozenset({"mp3", "aac", "opus", "vorbis", "flac", "alac"})
"""Plus every ``pcm_*`` codec (WAV)."""
#: Quieter than this (estimated integrated loudness) counts as silent: mastering would
#: have to raise it by 40 dB and more, which is all hiss.
SILENT_BELOW_LUFS = -55.0
READ_CHUNK = 1 << 16
SIDECAR_DIR = "recordings"


@dataclass(frozen=True)
class RecordingLimits:
    max_seconds: float = DEFAULT_MAX_SECONDS
    """Longest recording accepted (ten minutes: a long bulletin)."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Largest upload accepted, counted while reading."""


@dataclass(frozen=True)
class StoredRecording:
    """A mastered recording in the store: the same facts a speech render reports."""

    sha256: str
    size: int
    """Bytes of the Opus file."""
    duration_ms: int
    loudness_lufs: float
    """Measured on the decoded Opus file."""
    chime: bool
    """Whether the attention chime was put in front."""
    source_format: str
    """The upload's container as ffprobe named it, e.g. ``mp3``."""
    source_codec: str
    fallback_reason: None = None
    """Never set: nothing falls back. Present so creation treats both kinds of audio alike."""


@dataclass(frozen=True)
class _Probe:
    format_name: str
    codec: str
    duration_s: float | None


def master_recording(
    source: bytes | Path | BinaryIO,
    store: AudioStore,
    *,
    scratch_dir: Path | None = None,
    limits: RecordingLimits = RecordingLimits(),
    chime: bool = False,
    target_lufs: float = TARGET_LUFS,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> StoredRecording:
    """Check, decode, master and store ``source`` (bytes, a file path or an open binary
    file); raises :class:`RecordingError` with a ``code`` for a bad upload, plain
    :class:`AudioError` when ffmpeg itself fails."""
    if scratch_dir is not None:
        scratch_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix="recording-") as tmp:
        raw = Path(tmp) / "upload"  # no extension: ffprobe judges by content alone
        size = _receive(source, raw, limits.max_bytes)
        if size == 0:
            raise RecordingError("empty", "the uploaded file is empty")
        probe = _probe(raw, timeout_s)
        if probe.duration_s is not None and probe.duration_s > limits.max_seconds:
            raise _too_long(probe.duration_s, limits)
        seg = _decode(raw, limits.max_seconds, timeout_s)
    if len(seg) > limits.max_seconds * 1000:  # decoding stopped 1 s past the limit: "at least"
        raise _too_long(None, limits)
    seg = _audible(seg)
    with Mastering(target_lufs, verify=True, timeout_s=timeout_s) as mastering:
        mastered = mastering.master(seg, chime=chime)
    sha = store.put_bytes(mastered.data)
    stored = StoredRecording(
        sha256=sha,
        size=len(mastered.data),
        duration_ms=mastered.loudness.duration_ms,
        loudness_lufs=round(mastered.loudness.integrated_lufs, 2),
        chime=chime,
        source_format=probe.format_name,
        source_codec=probe.codec,
    )
    atomic_write(_sidecar(store, sha), json.dumps(asdict(stored), sort_keys=True).encode("utf-8"))
    log.info(
        "recording %s: %s/%s, %d bytes in, %d ms, %d bytes out, %.1f LUFS",
        sha[:12], probe.format_name, probe.codec, size, stored.duration_ms, stored.size, stored.loudness_lufs,
    )  # fmt: skip
    return stored


def load_recording(store: AudioStore, sha256: str) -> StoredRecording | None:
    """The uploaded recording stored as ``sha256``, or None when there is no such upload
    (a speech render, a damaged sidecar, or the file itself gone)."""
    if not is_sha256(sha256) or not store.exists(sha256):
        return None
    try:
        raw = json.loads(_sidecar(store, sha256).read_text(encoding="utf-8"))
        found = StoredRecording(**{k: v for k, v in raw.items() if k != "fallback_reason"})
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        log.warning("ignoring damaged recording sidecar %s: %s", sha256, exc)
        return None
    return found if found.sha256 == sha256 else None


def _sidecar(store: AudioStore, sha256: str) -> Path:
    return store.root / SIDECAR_DIR / f"{sha256}.json"


def _too_long(seconds: float | None, limits: RecordingLimits) -> RecordingError:
    length = f"lasts {seconds:.1f} s" if seconds is not None else "is longer than that"
    return RecordingError("too_long", f"the recording {length}; the limit is {limits.max_seconds:g} s")


def _receive(source: bytes | Path | BinaryIO, dest: Path, max_bytes: int) -> int:
    """Copy ``source`` to ``dest`` chunk by chunk, refusing as soon as it passes ``max_bytes``."""
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) > max_bytes:
            raise _too_large(max_bytes)
        dest.write_bytes(source)
        return len(source)
    with contextlib.ExitStack() as stack:
        reader = stack.enter_context(Path(source).open("rb")) if isinstance(source, Path) else source
        total = 0
        with dest.open("wb") as out:
            while chunk := reader.read(READ_CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise _too_large(max_bytes)
                out.write(chunk)
        return total


def _too_large(max_bytes: int) -> RecordingError:
    return RecordingError("too_large", f"the file is larger than {max_bytes / 1_048_576:g} MB")


def _probe(path: Path, timeout_s: float) -> _Probe:
    """Container and first audio stream, by content; ``not_audio`` when there is none."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        raise AudioError("ffprobe is not installed (Debian package 'ffmpeg')")
    try:
        proc = subprocess.run(
            [ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
             "-select_streams", "a", str(path)],
            capture_output=True, timeout=timeout_s, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise RecordingError("unreadable", "reading the file took too long") from exc
    not_audio = RecordingError("not_audio", "this file is not a recording in a known format (MP3, WAV, M4A, OGG/Opus)")
    if proc.returncode != 0:
        raise not_audio
    try:
        data = json.loads(proc.stdout)
        fmt = str(data["format"]["format_name"])
        streams = data.get("streams") or []
    except (ValueError, KeyError, TypeError):
        raise not_audio from None
    if fmt not in ACCEPTED_FORMATS or not streams:
        raise not_audio
    codec = str(streams[0].get("codec_name", ""))
    if codec not in ACCEPTED_CODECS and not codec.startswith("pcm_"):
        raise not_audio
    duration = data["format"].get("duration")
    try:
        seconds = float(duration) if duration not in (None, "N/A") else None
    except (TypeError, ValueError):
        seconds = None
    return _Probe(fmt, codec, seconds)


def _decode(path: Path, max_seconds: float, timeout_s: float) -> AudioSegment:
    """The first audio stream as 48 kHz mono; stops a second past the limit."""
    try:
        proc = run_ffmpeg(
            ["-i", str(path), "-map", "0:a:0", "-vn", "-t", f"{max_seconds + 1:g}",
             "-ac", "1", "-ar", str(PROCESSING_RATE), "-f", "s16le", "pipe:1"],
            timeout_s=timeout_s,
        )  # fmt: skip
    except AudioError as exc:
        raise RecordingError("unreadable", f"the recording cannot be decoded: {exc}") from exc
    pcm = proc.stdout[: len(proc.stdout) - len(proc.stdout) % 2]
    return AudioSegment(data=pcm, sample_width=2, frame_rate=PROCESSING_RATE, channels=1)


def _audible(seg: AudioSegment) -> AudioSegment:
    """``seg`` with its leading and trailing silence cut; ``silent`` when nothing is left."""
    silent = RecordingError("silent", "the recording is silent; check the microphone and record again")
    loudness = estimate_loudness(seg) if len(seg) else None
    if loudness is None or loudness < SILENT_BELOW_LUFS:
        raise silent
    try:
        return trim_silence(seg)
    except AudioError:
        raise silent from None


__all__ = [
    "ACCEPTED_FORMATS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_SECONDS",
    "RecordingError",
    "RecordingLimits",
    "StoredRecording",
    "load_recording",
    "master_recording",
]
