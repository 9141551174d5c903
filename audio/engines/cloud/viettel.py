"""Viettel AI text-to-speech: a synchronous service.

One JSON POST answers with the audio itself (``audio/*``) or, on failure, with a
JSON error. Protocol as published in Viettel AI's public documentation; the field
names are all in the constants below so they can be checked against a live key in
one place. The key travels in the JSON body (``token``), which is one reason error
text is scrubbed before it is shown anywhere.
"""

from __future__ import annotations

from audio.engines.base import Voice
from audio.engines.cloud.base import CloudEngine, speed_factor
from audio.errors import EngineError

# --- protocol (from the public docs) -------------------------------------------
BASE_URL = "https://viettelai.vn"
SYNTH_PATH = "/tts/speech_synthesis"
FIELD_TEXT = "text"
FIELD_VOICE = "voice"
FIELD_SPEED = "speed"  # multiplier, 1.0 normal
FIELD_RETURN_OPTION = "tts_return_option"
FIELD_TOKEN = "token"
FIELD_WITHOUT_FILTER = "without_filter"
RETURN_WAV = 2
RETURN_MP3 = 3
MAX_CHARS = 2000
SPEED_MIN, SPEED_MAX = 0.7, 1.3

VIETTEL_VOICES: tuple[Voice, ...] = (
    Voice("viettel-hn-quynhanh", "north", "Quỳnh Anh – nữ miền Bắc (Viettel AI)", "hn-quynhanh"),
    Voice("viettel-hn-phuongtrang", "north", "Phương Trang – nữ miền Bắc (Viettel AI)", "hn-phuongtrang"),
    Voice("viettel-hn-thanhtung", "north", "Thanh Tùng – nam miền Bắc (Viettel AI)", "hn-thanhtung"),
    Voice("viettel-hue-maingoc", "central", "Mai Ngọc – nữ miền Trung (Viettel AI)", "hue-maingoc"),
    Voice("viettel-hue-baoquoc", "central", "Bảo Quốc – nam miền Trung (Viettel AI)", "hue-baoquoc"),
    Voice("viettel-hcm-diemmy", "south", "Diễm My – nữ miền Nam (Viettel AI)", "hcm-diemmy"),
    Voice("viettel-hcm-phuongly", "south", "Phương Ly – nữ miền Nam (Viettel AI)", "hcm-phuongly"),
    Voice("viettel-hcm-minhquan", "south", "Minh Quân – nam miền Nam (Viettel AI)", "hcm-minhquan"),
)


class ViettelEngine(CloudEngine):
    """Viettel AI TTS; asks for WAV (no second lossy encode before our Opus)."""

    name = "viettel-ai"
    service = "Viettel AI"
    default_base_url = BASE_URL
    default_voices = VIETTEL_VOICES
    max_chars = MAX_CHARS
    synchronous = True

    def _fetch_audio(self, text: str, engine_voice: str, rate: int, deadline: float) -> bytes:
        payload = {
            FIELD_TEXT: text,
            FIELD_VOICE: engine_voice,
            FIELD_SPEED: speed_factor(rate, SPEED_MIN, SPEED_MAX),
            FIELD_RETURN_OPTION: RETURN_WAV,
            FIELD_TOKEN: self._key,
            FIELD_WITHOUT_FILTER: False,
        }
        resp = self._send(
            "POST", self._url(SYNTH_PATH), deadline=deadline, what="synthesis request", json=payload
        )
        content_type = resp.headers.get("content-type", "").lower()
        if content_type.startswith(("audio/", "application/octet-stream")):
            return resp.content
        # A 2xx that is not audio is the service's way of reporting an error.
        raise EngineError(
            self._scrub(f"{self.service} refused the synthesis request: {self._service_message(resp)}")
        )
