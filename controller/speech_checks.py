"""What creating and previewing an announcement check before any speech is made.

The request's text and voice against the running engine (`check_speech`), the
renderer the controller drives (`Renderer`), the fallback reason as stored
(`fallback_reason`), and the error every step of `controller.announce` raises
(`AnnouncementError`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from controller.engines import VoiceInfo
from controller.models import MAX_FALLBACK_REASON_CHARS, SpeechBase


class Renderer(Protocol):
    """The part of `audio.pipeline.AudioPipeline` the controller uses.

    `render` returns a `RenderedAudio`; its `fallback_reason` (None when the chosen
    engine spoke) is read with `getattr`, so pipelines that never fall back need not
    have it.
    """

    @property
    def voices(self) -> Sequence[Any]: ...

    def render(self, req: Any) -> Any: ...


def fallback_reason(rendered: Any) -> str | None:
    """The render's fallback reason, trimmed to what the column holds."""
    reason = getattr(rendered, "fallback_reason", None)
    if not reason:
        return None
    reason = str(reason)
    return reason if len(reason) <= MAX_FALLBACK_REASON_CHARS else reason[: MAX_FALLBACK_REASON_CHARS - 1] + "…"


DEFAULT_CODES = {403: "forbidden", 404: "not_found", 409: "conflict", 413: "too_large", 422: "invalid", 503: "unavailable"}
"""The machine code of an error raised without a more specific one."""


class AnnouncementError(Exception):
    """A request the controller cannot carry out; `status_code` and `detail` go to the client.

    `code` is a stable machine word (e.g. `not_awaiting_approval`, `too_long`) so the web
    pages can show their own Vietnamese message without parsing the English `detail`.
    """

    def __init__(self, status_code: int, detail: str, code: str | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.code = code or DEFAULT_CODES.get(status_code, "error")


def check_speech(req: SpeechBase, voices: Sequence[VoiceInfo], max_text_chars: int) -> str:
    """Text length and voice (against the running engine); returns the voice to use."""
    limit = max_text_chars
    if len(req.text) > limit:
        raise AnnouncementError(422, f"text is {len(req.text)} characters; the limit is {limit}", "text_too_long")
    if not voices:
        raise AnnouncementError(503, "the speech engine offers no voices", "no_voices")
    if req.voice is None:
        return voices[0].id
    known = [v.id for v in voices]
    if req.voice not in known:
        raise AnnouncementError(422, f"unknown voice {req.voice!r}; choose one of: {', '.join(known)}", "unknown_voice")
    return req.voice


__all__ = ["DEFAULT_CODES", "AnnouncementError", "Renderer", "check_speech", "fallback_reason"]
