"""Recorded announcements on the controller: uploading, finding an upload, and the rules
for an announcement that plays one instead of synthesised speech.

An upload is mastered at once (`audio.recording`) so the official hears, before
submitting, exactly what will air; the announcement then names it by `sha256`.
Such an announcement keeps `text` as its short title (history, the approval queue,
the programme) and is stored with `source = "recording"` and `voice = "recording"`.

Errors are `AnnouncementError(status, detail, code)` with the audio layer's codes
(`ERROR_CODES`), so the web pages translate them by code.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from audio.errors import AudioError, RecordingError
from audio.recording import RecordingLimits, StoredRecording, load_recording, master_recording
from audio.store import AudioStore
from controller.accounts.actor import Actor
from controller.accounts.roles import Perm
from controller.audit import record
from controller.dispatch import audio_ref
from controller.models import AnnouncementCreate, RecordingPublic
from controller.settings import ControllerSettings
from controller.speech_checks import AnnouncementError

if TYPE_CHECKING:
    from controller.announce import Announcer

log = logging.getLogger(__name__)

RECORDING_VOICE = "recording"
"""Stored in `voice` for announcements that play a recording (no engine speaks them)."""

ERROR_CODES = {
    "empty": "422: the uploaded file is empty",
    "too_large": "413: the upload is larger than LOA_RECORDING_MAX_MB",
    "not_audio": "422: not an audio file in a known format (MP3, WAV, M4A, OGG/Opus, WebM)",
    "unreadable": "422: the file looks like audio but cannot be decoded (truncated?)",
    "too_long": "422: longer than LOA_RECORDING_MAX_SECONDS",
    "silent": "422: nothing audible in it (muted microphone?)",
    "not_multipart": "422: the upload is not multipart/form-data with a `file` part",
    "recording_not_found": "422: `recording.sha256` is not an uploaded recording",
    "recording_with_voice": "422: `voice`/`rate` sent with `recording` (they apply to speech only)",
    "recording_chime_mismatch": "422: `chime` differs from how the recording was mastered",
    "title_too_long": "422: `text` (the title) is longer than LOA_RECORDING_TITLE_MAX_CHARS",
    "audio_unavailable": "503: ffmpeg failed on the controller",
}


def limits(settings: ControllerSettings) -> RecordingLimits:
    return RecordingLimits(
        max_seconds=settings.recording_max_seconds, max_bytes=max_upload_bytes(settings)
    )


def max_upload_bytes(settings: ControllerSettings) -> int:
    return int(settings.recording_max_mb * 1024 * 1024)


def scratch_dir(settings: ControllerSettings) -> Path:
    """Where uploads wait while they are checked (deleted afterwards, whatever happens)."""
    return settings.state_dir / "scratch"


def audio_store(settings: ControllerSettings) -> AudioStore:
    return AudioStore(settings.audio_dir or settings.state_dir / "audio")


async def upload_recording(
    announcer: Announcer, source: bytes | Path | BinaryIO, actor: Actor, *, chime: bool = False
) -> RecordingPublic:
    """Check, master and store an upload (bytes, a scratch file path or an open file);
    audit-logged `recording.uploaded`. Needs `ANNOUNCE_DRAFT`."""
    from controller.approval import require

    require(actor, Perm.ANNOUNCE_DRAFT, "upload recordings")
    settings = announcer.settings
    stored = await run_in_threadpool(_master, settings, source, chime)
    with Session(announcer.engine) as session:
        record(
            session,
            at=announcer.clock(),
            actor=actor.username,
            action="recording.uploaded",
            target=f"audio:{stored.sha256}",
            detail={"duration_ms": stored.duration_ms, "format": stored.source_format, "chime": chime},
        )
        session.commit()
    return public(settings, stored)


def public(settings: ControllerSettings, stored: StoredRecording) -> RecordingPublic:
    url = audio_ref(settings.public_url, stored.sha256, stored.size, stored.duration_ms).url
    return RecordingPublic(
        sha256=stored.sha256, duration_ms=stored.duration_ms, size=stored.size, url=url, chime=stored.chime
    )


def _master(settings: ControllerSettings, source: bytes | Path | BinaryIO, chime: bool) -> StoredRecording:
    try:
        return master_recording(
            source, audio_store(settings), scratch_dir=scratch_dir(settings), limits=limits(settings), chime=chime
        )
    except RecordingError as exc:
        raise AnnouncementError(413 if exc.code == "too_large" else 422, str(exc), exc.code) from None
    except AudioError as exc:
        log.error("mastering an uploaded recording failed: %s", exc)
        raise AnnouncementError(503, f"the recording could not be processed: {exc}", "audio_unavailable") from None


def check_recording_request(req: AnnouncementCreate, settings: ControllerSettings) -> str:
    """The rules for `recording` in a create or submit (before any file is looked up);
    returns the `voice` to store."""
    spoken_only = sorted({"voice", "rate"} & req.model_fields_set)
    if spoken_only:
        raise AnnouncementError(
            422,
            f"{' and '.join(spoken_only)} apply to synthesised speech; leave them out when sending `recording`",
            "recording_with_voice",
        )
    limit = settings.recording_title_max_chars
    if len(req.text) > limit:
        raise AnnouncementError(
            422, f"with `recording`, `text` is the title: {len(req.text)} characters, the limit is {limit}",
            "title_too_long",
        )  # fmt: skip
    return RECORDING_VOICE


def find_recording(settings: ControllerSettings, req: AnnouncementCreate) -> StoredRecording:
    """The upload `req.recording` names; 422 when there is none or the chime disagrees."""
    if req.recording is None:
        raise ValueError("the request names no recording")
    sha = req.recording.sha256
    stored = load_recording(audio_store(settings), sha)
    if stored is None:
        raise AnnouncementError(
            422, f"recording {sha} is not an uploaded recording; upload it with POST /api/v1/recordings",
            "recording_not_found",
        )  # fmt: skip
    if "chime" in req.model_fields_set and req.chime != stored.chime:
        raise AnnouncementError(
            422,
            f"the recording was mastered {'with' if stored.chime else 'without'} the chime; "
            "upload it again with the chime setting you want",
            "recording_chime_mismatch",
        )
    return stored


__all__ = [
    "ERROR_CODES",
    "RECORDING_VOICE",
    "check_recording_request",
    "find_recording",
    "limits",
    "max_upload_bytes",
    "public",
    "scratch_dir",
    "upload_recording",
]
