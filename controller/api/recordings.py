"""`POST /api/v1/recordings`: upload a recorded announcement (multipart, field `file`).

Why the body is parsed here and not by FastAPI's `UploadFile`: Starlette spools the
whole upload to disk before the handler runs, whatever its size. This parser streams
the request, writes the `file` part to a scratch file and stops reading with 413 as
soon as it passes `LOA_RECORDING_MAX_MB`, so an oversized or endless upload costs no
more than the limit. The file is checked and mastered by `controller.recordings`.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, status
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from controller.accounts.actor import Actor
from controller.api.deps import AnnouncerDep
from controller.models import RecordingPublic
from controller.recordings import max_upload_bytes, scratch_dir, upload_recording
from controller.speech_checks import AnnouncementError

router = APIRouter(prefix="/recordings", tags=["recordings"])

FORM_SLACK_BYTES = 64 * 1024
"""Room for the multipart framing and small fields on top of the file's own limit."""
MAX_FIELD_BYTES = 100

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "chime": {"type": "boolean", "default": False},
                    },
                }
            }
        },
    }
}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RecordingPublic, openapi_extra=_UPLOAD_BODY)
async def upload(request: Request, announcer: AnnouncerDep) -> RecordingPublic:
    """Master an uploaded recording (MP3, WAV, M4A, OGG/Opus, WebM; judged by content)
    like speech and store it; announce it with `"recording": {"sha256": …}`.

    413 `too_large`; 422 `not_audio`, `unreadable`, `too_long`, `silent`, `empty`,
    `not_multipart` (the reason is in `detail`, the machine word in the docs).
    """
    settings = announcer.settings
    limit = max_upload_bytes(settings)
    scratch = scratch_dir(settings)
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="upload-") as tmp:
        path = Path(tmp) / "file"
        fields = await receive_upload(request, path, limit)
        chime = fields.get("chime", "false").strip().lower() in ("1", "true", "on", "yes")
        return await upload_recording(announcer, path, Actor.api(), chime=chime)


async def receive_upload(request: Request, dest: Path, limit: int) -> dict[str, str]:
    """Stream the multipart body; the `file` part goes to `dest`. Returns the other fields.

    Public so a web page handler can take uploads the same way (then call
    `controller.recordings.upload_recording` with its own `Actor`)."""
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise AnnouncementError(422, "send the recording as multipart/form-data with a `file` part", "not_multipart")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_SLACK_BYTES:
        raise _too_large(limit)
    state = _Parts(dest, limit)
    parser = MultipartParser(boundary, state.callbacks())
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + FORM_SLACK_BYTES:
                raise _too_large(limit)
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        raise AnnouncementError(422, "the multipart body is malformed", "not_multipart") from None
    finally:
        state.close()
    if not state.got_file:
        raise AnnouncementError(422, "the multipart body has no `file` part", "not_multipart")
    return state.fields


def _too_large(limit: int) -> AnnouncementError:
    return AnnouncementError(413, f"the file is larger than {limit / 1_048_576:g} MB", "too_large")


class _Parts:
    """MultipartParser callbacks: part headers, the `file` part to disk, small fields in memory."""

    def __init__(self, dest: Path, limit: int) -> None:
        self.dest, self.limit = dest, limit
        self.fields: dict[str, str] = {}
        self.got_file = False
        self._out: Any = None
        self._written = 0
        self._header_field = b""
        self._header_value = b""
        self._name: str | None = None
        self._value = bytearray()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: setattr(self, "_header_field", self._header_field + d[s:e]),
            "on_header_value": lambda d, s, e: setattr(self, "_header_value", self._header_value + d[s:e]),
            "on_header_end": self._header_end,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._name, self._value = None, bytearray()

    def _header_end(self) -> None:
        if self._header_field.lower() == b"content-disposition":
            _, opts = parse_options_header(self._header_value)
            self._name = opts.get(b"name", b"").decode("utf-8", "replace")
            if self._name == "file":
                if self.got_file:
                    raise AnnouncementError(422, "send one `file` part, not several", "not_multipart")
                self.got_file = True
                self._out = self.dest.open("wb")
        self._header_field = self._header_value = b""

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._name == "file" and self._out is not None:
            self._written += end - start
            if self._written > self.limit:
                raise _too_large(self.limit)
            self._out.write(data[start:end])
        elif self._name:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                raise AnnouncementError(422, f"form field {self._name!r} is too long", "not_multipart")

    def _end(self) -> None:
        if self._name == "file":
            self.close()
        elif self._name:
            self.fields[self._name] = self._value.decode("utf-8", "replace")

    def close(self) -> None:
        if self._out is not None:
            with contextlib.suppress(OSError):
                self._out.close()
            self._out = None
