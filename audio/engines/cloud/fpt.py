"""FPT.AI text-to-speech v5: an asynchronous service.

The POST answers at once with a link where the MP3 will appear; the link answers
404 until the file is ready, so we poll it (with growing pauses) until the
deadline. Protocol as published in FPT.AI's public documentation; the field names
are all in the constants below so they can be checked against a live key in one
place.
"""

from __future__ import annotations

from audio.engines.base import Voice
from audio.engines.cloud.base import REFERENCE_RATE, CloudEngine
from audio.errors import EngineError

# --- protocol (from the public docs) -------------------------------------------
BASE_URL = "https://api.fpt.ai"
SYNTH_PATH = "/hmi/tts/v5"
HEADER_KEY = "api-key"
HEADER_VOICE = "voice"
HEADER_SPEED = "speed"  # integer -3 (slowest) .. +3 (fastest), 0 normal
FIELD_ASYNC_URL = "async"
FIELD_ERROR = "error"  # 0 means accepted
FIELD_MESSAGE = "message"
FIELD_REQUEST_ID = "request_id"
MAX_CHARS = 5000
MIN_CHARS = 3
SPEED_MIN, SPEED_MAX = -3, 3
WPM_PER_SPEED_STEP = 40  # rough: one speed step per 40 words per minute

FPT_VOICES: tuple[Voice, ...] = (
    Voice("fpt-banmai", "north", "Ban Mai – nữ miền Bắc (FPT.AI)", "banmai"),
    Voice("fpt-thuminh", "north", "Thu Minh – nữ miền Bắc (FPT.AI)", "thuminh"),
    Voice("fpt-leminh", "north", "Lê Minh – nam miền Bắc (FPT.AI)", "leminh"),
    Voice("fpt-myan", "central", "Mỹ An – nữ miền Trung (FPT.AI)", "myan"),
    Voice("fpt-ngoclam", "central", "Ngọc Lam – nữ miền Trung (FPT.AI)", "ngoclam"),
    Voice("fpt-giahuy", "central", "Gia Huy – nam miền Trung (FPT.AI)", "giahuy"),
    Voice("fpt-lannhi", "south", "Lan Nhi – nữ miền Nam (FPT.AI)", "lannhi"),
    Voice("fpt-linhsan", "south", "Linh San – nữ miền Nam (FPT.AI)", "linhsan"),
    Voice("fpt-minhquang", "south", "Minh Quang – nam miền Nam (FPT.AI)", "minhquang"),
)


def fpt_speed(rate: int) -> int:
    """Words per minute to FPT's integer speed steps (0 at the reference rate)."""
    step = round((rate - REFERENCE_RATE) / WPM_PER_SPEED_STEP)
    return min(max(step, SPEED_MIN), SPEED_MAX)


class FptEngine(CloudEngine):
    """FPT.AI TTS v5; submits the text, then waits for the MP3 at the returned link."""

    name = "fpt-ai"
    service = "FPT.AI"
    default_base_url = BASE_URL
    default_voices = FPT_VOICES
    max_chars = MAX_CHARS
    min_chars = MIN_CHARS
    synchronous = False

    def _fetch_audio(self, text: str, engine_voice: str, rate: int, deadline: float) -> bytes:
        resp = self._send(
            "POST",
            self._url(SYNTH_PATH),
            deadline=deadline,
            what="synthesis request",
            headers={
                HEADER_KEY: self._key,
                HEADER_VOICE: engine_voice,
                HEADER_SPEED: str(fpt_speed(rate)),
                "Content-Type": "text/plain; charset=utf-8",
            },
            content=text.encode("utf-8"),
        )
        body = self._json(resp, "synthesis request")
        if body.get(FIELD_ERROR) != 0:
            message = body.get(FIELD_MESSAGE) or f"error {body.get(FIELD_ERROR)!r}"
            raise EngineError(self._scrub(f"{self.service} refused the synthesis request: {message}"))
        link = body.get(FIELD_ASYNC_URL)
        if not isinstance(link, str):
            raise EngineError(f"{self.service} accepted the request but sent no '{FIELD_ASYNC_URL}' link")
        return self._download(link, deadline=deadline)
