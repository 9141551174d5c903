"""Vbee text-to-speech: a callback service, which we poll instead.

Vbee answers the POST with a request id and later POSTs the result to a
``callback_url``. A commune controller usually sits behind NAT with no public
address, so Loa does not rely on the callback: it sends the configured
``callback_url`` (Vbee requires one) and polls ``GET /api/v1/tts/{request_id}``
until the job reports SUCCESS or FAILURE, or the deadline passes. Protocol as
published in Vbee's public documentation; the field names are all in the
constants below so they can be checked against a live key in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from audio.engines.base import Voice
from audio.engines.cloud.base import CloudEngine, CloudPolicy, speed_factor
from audio.errors import EngineError

# --- protocol (from the public docs) -------------------------------------------
BASE_URL = "https://vbee.vn"
SUBMIT_PATH = "/api/v1/tts"
STATUS_PATH = "/api/v1/tts/{request_id}"
FIELD_APP_ID = "app_id"
FIELD_RESPONSE_TYPE = "response_type"
RESPONSE_INDIRECT = "indirect"
FIELD_CALLBACK_URL = "callback_url"
FIELD_TEXT = "input_text"
FIELD_VOICE = "voice_code"
FIELD_AUDIO_TYPE = "audio_type"
FIELD_BITRATE = "bitrate"
FIELD_SPEED = "speed_rate"  # a string such as "1.0"
FIELD_STATUS = "status"  # top level: 1 accepted
FIELD_RESULT = "result"
FIELD_REQUEST_ID = "request_id"
FIELD_AUDIO_LINK = "audio_link"
FIELD_ERROR_MESSAGE = "error_message"
JOB_SUCCESS = "SUCCESS"
JOB_FAILURE = "FAILURE"
MAX_CHARS = 2000  # conservative; Vbee's plans allow more per request
SPEED_MIN, SPEED_MAX = 0.5, 1.5

VBEE_VOICES: tuple[Voice, ...] = (
    Voice(
        "vbee-hn-ngochuyen", "north", "Ngọc Huyền – nữ miền Bắc (Vbee)", "hn_female_ngochuyen_full_48k-fhg"
    ),
    Voice(
        "vbee-hn-phuthang", "north", "Phú Thắng – nam miền Bắc (Vbee)", "hn_male_phuthang_stor80dt_48k-fhg"
    ),
    Voice(
        "vbee-hue-huonggiang",
        "central",
        "Hương Giang – nữ miền Trung (Vbee)",
        "hue_female_huonggiang_full_48k-fhg",
    ),
    Voice(
        "vbee-hue-duyphuong",
        "central",
        "Duy Phương – nam miền Trung (Vbee)",
        "hue_male_duyphuong_full_48k-fhg",
    ),
    Voice(
        "vbee-sg-thaotrinh", "south", "Thảo Trinh – nữ miền Nam (Vbee)", "sg_female_thaotrinh_full_48k-fhg"
    ),
    Voice("vbee-sg-minhhoang", "south", "Minh Hoàng – nam miền Nam (Vbee)", "sg_male_minhhoang_full_48k-fhg"),
)


class VbeeEngine(CloudEngine):
    """Vbee TTS; submits a job, polls its status, downloads the MP3 link."""

    name = "vbee"
    service = "Vbee"
    default_base_url = BASE_URL
    default_voices = VBEE_VOICES
    max_chars = MAX_CHARS
    synchronous = False

    def __init__(
        self,
        api_key: str,
        *,
        app_id: str,
        callback_url: str,
        base_url: str | None = None,
        voices: Sequence[Voice] | None = None,
        policy: CloudPolicy | None = None,
        work_dir: Path | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``callback_url``: where Vbee may POST results; Loa polls either way, so any
        URL Vbee accepts will do when the controller has no public address."""
        super().__init__(api_key, base_url=base_url, voices=voices, policy=policy,
                         work_dir=work_dir, transport=transport)  # fmt: skip
        if not app_id:
            raise EngineError("no app_id configured for Vbee")
        if not callback_url.startswith(("https://", "http://")):
            raise EngineError(f"Vbee callback_url must be an http(s) URL, got {callback_url!r}")
        self.app_id = app_id
        self.callback_url = callback_url

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}"}

    def _fetch_audio(self, text: str, engine_voice: str, rate: int, deadline: float) -> bytes:
        payload = {
            FIELD_APP_ID: self.app_id,
            FIELD_RESPONSE_TYPE: RESPONSE_INDIRECT,
            FIELD_CALLBACK_URL: self.callback_url,
            FIELD_TEXT: text,
            FIELD_VOICE: engine_voice,
            FIELD_AUDIO_TYPE: "mp3",
            FIELD_BITRATE: 128,
            FIELD_SPEED: f"{speed_factor(rate, SPEED_MIN, SPEED_MAX):.1f}",
        }
        resp = self._send("POST", self._url(SUBMIT_PATH), deadline=deadline,
                          what="synthesis request", json=payload, headers=self._auth())  # fmt: skip
        body = self._json(resp, "synthesis request")
        result = body.get(FIELD_RESULT)
        if body.get(FIELD_STATUS) != 1 or not isinstance(result, dict):
            raise EngineError(self._scrub(f"Vbee refused the synthesis request: {self._explain(body)}"))
        request_id = result.get(FIELD_REQUEST_ID)
        if not isinstance(request_id, str) or not request_id:
            raise EngineError("Vbee accepted the request but sent no request_id")
        link = self._poll(lambda: self._job_link(request_id, deadline), deadline=deadline, what="Vbee job")
        return self._download(link, deadline=deadline)

    def _job_link(self, request_id: str, deadline: float) -> str | None:
        """The audio link once the job succeeded, None while it is still running."""
        url = self._url(STATUS_PATH.format(request_id=request_id))
        resp = self._send("GET", url, deadline=deadline, what="job status", headers=self._auth())
        body = self._json(resp, "job status")
        result = body.get(FIELD_RESULT)
        status = result.get(FIELD_STATUS) if isinstance(result, dict) else None
        if status == JOB_SUCCESS and isinstance(result, dict):
            link = result.get(FIELD_AUDIO_LINK)
            if not isinstance(link, str):
                raise EngineError("Vbee reported success but sent no audio_link")
            return link
        if status == JOB_FAILURE:
            raise EngineError(self._scrub(f"Vbee could not synthesise the text: {self._explain(body)}"))
        return None  # IN_PROGRESS, or a state we do not know yet: keep waiting

    @staticmethod
    def _explain(body: dict[str, Any]) -> str:
        result = body.get(FIELD_RESULT)
        for source in (body, result if isinstance(result, dict) else {}):
            message = source.get(FIELD_ERROR_MESSAGE) or source.get("message")
            if isinstance(message, str) and message:
                return message
        return f"status {body.get(FIELD_STATUS)!r}"
