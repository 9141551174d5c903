"""Exceptions shared by the audio modules.

They live apart from :mod:`audio.pipeline` so engines and the worker can raise them
without importing pydub; the pipeline re-exports :class:`AudioError`.
"""

from __future__ import annotations


class AudioError(Exception):
    """Anything that stops an announcement from becoming audio; the message is for humans."""


class EngineError(AudioError):
    """A speech engine failed (crashed, refused the text, produced no usable WAV)."""


class EngineTimeout(EngineError):
    """A speech engine did not answer within the request timeout; it has been killed."""


class RecordingError(AudioError):
    """An uploaded recording that cannot become an announcement.

    ``code`` is a stable machine word the web layer translates (the message is English
    for logs and the API): ``empty``, ``too_large``, ``not_audio``, ``unreadable``,
    ``too_long`` or ``silent``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
