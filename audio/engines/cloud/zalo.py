"""Zalo AI text-to-speech: one POST that returns a link to the audio.

The form-encoded POST answers with JSON holding a URL; the file is then fetched
from that URL (without credentials), tolerating a brief 404 while it is written.
Protocol as published in Zalo AI's public documentation; the field names are all
in the constants below so they can be checked against a live key in one place.
"""

from __future__ import annotations

from audio.engines.base import Voice
from audio.engines.cloud.base import CloudEngine, speed_factor
from audio.errors import EngineError

# --- protocol (from the public docs) -------------------------------------------
BASE_URL = "https://api.zalo.ai"
SYNTH_PATH = "/v1/tts/synthesize"
HEADER_KEY = "apikey"
FIELD_TEXT = "input"
FIELD_SPEAKER = "speaker_id"  # 1..4
FIELD_SPEED = "speed"  # 0.8 .. 1.2
FIELD_ENCODE = "encode_type"
ENCODE_WAV = 0
ENCODE_MP3 = 1
FIELD_ERROR_CODE = "error_code"  # 0 means success
FIELD_ERROR_MESSAGE = "error_message"
FIELD_DATA = "data"
FIELD_URL = "url"
MAX_CHARS = 2000
SPEED_MIN, SPEED_MAX = 0.8, 1.2

ZALO_VOICES: tuple[Voice, ...] = (
    Voice("zalo-south-female", "south", "Nữ miền Nam (Zalo AI)", "1"),
    Voice("zalo-north-female", "north", "Nữ miền Bắc (Zalo AI)", "2"),
    Voice("zalo-south-male", "south", "Nam miền Nam (Zalo AI)", "3"),
    Voice("zalo-north-male", "north", "Nam miền Bắc (Zalo AI)", "4"),
)


class ZaloEngine(CloudEngine):
    """Zalo AI TTS; asks for WAV, then downloads it from the returned link."""

    name = "zalo-ai"
    service = "Zalo AI"
    default_base_url = BASE_URL
    default_voices = ZALO_VOICES
    max_chars = MAX_CHARS
    synchronous = True

    def _fetch_audio(self, text: str, engine_voice: str, rate: int, deadline: float) -> bytes:
        form = {
            FIELD_TEXT: text,
            FIELD_SPEAKER: engine_voice,
            FIELD_SPEED: str(speed_factor(rate, SPEED_MIN, SPEED_MAX)),
            FIELD_ENCODE: str(ENCODE_WAV),
        }
        resp = self._send("POST", self._url(SYNTH_PATH), deadline=deadline,
                          what="synthesis request", data=form, headers={HEADER_KEY: self._key})  # fmt: skip
        body = self._json(resp, "synthesis request")
        if body.get(FIELD_ERROR_CODE) != 0:
            message = body.get(FIELD_ERROR_MESSAGE) or f"error code {body.get(FIELD_ERROR_CODE)!r}"
            raise EngineError(self._scrub(f"{self.service} refused the synthesis request: {message}"))
        data = body.get(FIELD_DATA)
        link = data.get(FIELD_URL) if isinstance(data, dict) else None
        if not isinstance(link, str):
            raise EngineError(f"{self.service} answered without an audio '{FIELD_URL}'")
        return self._download(link, deadline=deadline)
