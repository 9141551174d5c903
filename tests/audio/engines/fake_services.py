"""Local stand-ins that speak each cloud service's documented protocol.

Each simulator answers like the real service would (as far as its public docs
say), with knobs for the situations the engines must handle:

* ``fail_first``: answer the first N synthesis requests with HTTP 500;
* ``delay_s``: hold the synthesis answer that long (a hung service);
* ``pending``: the result is "not ready" for the first N polls/downloads;
* ``refuse``: reject with the service's own JSON error carrying this message.

A wrong key gets HTTP 401 whose message *echoes the key*, so the tests can prove
the engines scrub it. Text over the service limit is rejected (HTTP 400), so a
splitting bug cannot pass unnoticed. Synthesis request ``i`` is answered with a
tone of ``freq_for(i)`` so tests can check the order of joined audio.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from tests.audio.engines.fake_http import Reply, Seen, freq_for, tone_bytes

KEY = "sk-live-SECRET-0123456789"


@dataclass
class FakeService:
    """Shared bookkeeping; subclasses implement ``route``."""

    limit: int = 0
    audio_format: str = "mp3"
    key: str = KEY
    fail_first: int = 0
    delay_s: float = 0.0
    pending: int = 0
    refuse: str | None = None
    base_url: str = ""
    texts: list[str] = field(default_factory=list)
    polls_left: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, seen: Seen) -> Reply:
        with self._lock:
            return self.route(seen)

    def route(self, seen: Seen) -> Reply:
        raise NotImplementedError

    def bad_key(self, given: str) -> Reply:
        return Reply.json({"message": f"Invalid API key {given}", "error": 401}, 401)

    def synth_gate(self, text: str) -> Reply | None:
        """The checks every synthesis request goes through before it is accepted."""
        if self.fail_first > 0:
            self.fail_first -= 1
            return Reply.json({"message": "Service temporarily overloaded"}, 500)
        if self.delay_s:
            return Reply.json({"message": "too late"}, 500, delay_s=self.delay_s)
        if len(text) > self.limit:
            return Reply.json({"message": f"text longer than {self.limit}"}, 400)
        return None

    def new_job(self, text: str) -> str:
        self.texts.append(text)
        job = str(len(self.texts) - 1)
        self.polls_left[job] = self.pending
        return job

    def audio(self, job: str) -> bytes:
        return tone_bytes(freq_for(int(job)), self.audio_format)

    def file_reply(self, job: str) -> Reply:
        """A result file that answers 404 until its job is done."""
        if job not in self.polls_left:
            return Reply.json({"message": "no such file"}, 404)
        if self.polls_left[job] > 0:
            self.polls_left[job] -= 1
            return Reply(404, b"Not Found", "text/plain")
        return Reply(200, self.audio(job), f"audio/{'mpeg' if self.audio_format == 'mp3' else 'wav'}")


_FILE = re.compile(r"^/files/(\d+)\.\w+$")


class FptService(FakeService):
    def __init__(self, **kw: object) -> None:
        super().__init__(limit=5000, audio_format="mp3", **kw)  # type: ignore[arg-type]

    def route(self, seen: Seen) -> Reply:
        if seen.method == "POST" and seen.path == "/hmi/tts/v5":
            if seen.headers.get("api-key") != self.key:
                return self.bad_key(seen.headers.get("api-key", ""))
            text = seen.body.decode("utf-8")
            gate = self.synth_gate(text)
            if gate is not None:
                return gate
            if self.refuse or len(text) < 3 or seen.headers.get("voice") is None:
                return Reply.json({"async": None, "error": 1, "message": self.refuse or "bad request"})
            job = self.new_job(text)
            return Reply.json({"async": f"{self.base_url}/files/{job}.mp3", "error": 0,
                               "message": "The content will be returned after a few seconds",
                               "request_id": f"req-{job}"})  # fmt: skip
        if seen.method == "GET" and (m := _FILE.match(seen.path)):
            return self.file_reply(m.group(1))
        return Reply.json({"message": "no route"}, 404)


class ViettelService(FakeService):
    def __init__(self, **kw: object) -> None:
        super().__init__(limit=2000, audio_format="wav", **kw)  # type: ignore[arg-type]

    def route(self, seen: Seen) -> Reply:
        if seen.method != "POST" or seen.path != "/tts/speech_synthesis":
            return Reply.json({"message": "no route"}, 404)
        body = seen.json()
        if body.get("token") != self.key:
            return self.bad_key(body.get("token", ""))
        gate = self.synth_gate(body["text"])
        if gate is not None:
            return gate
        if self.refuse:
            # Viettel reports some errors as a 200 with JSON instead of audio.
            return Reply.json({"code": 400, "message": self.refuse})
        job = self.new_job(body["text"])
        return Reply(200, self.audio(job), "audio/wav")


class VbeeService(FakeService):
    fail_job: str | None = None

    def __init__(self, *, fail_job: str | None = None, **kw: object) -> None:
        super().__init__(limit=2000, audio_format="mp3", **kw)  # type: ignore[arg-type]
        self.fail_job = fail_job

    def route(self, seen: Seen) -> Reply:
        if seen.method == "GET" and (m := _FILE.match(seen.path)):
            return Reply(200, self.audio(m.group(1)), "audio/mpeg")
        token = seen.headers.get("authorization", "").removeprefix("Bearer ")
        if token != self.key:
            return Reply.json({"status": 0, "error_message": f"Unauthorized token {token}"}, 401)
        if seen.method == "POST" and seen.path == "/api/v1/tts":
            body = seen.json()
            gate = self.synth_gate(body["input_text"])
            if gate is not None:
                return gate
            if self.refuse or body.get("response_type") != "indirect" or not body.get("callback_url"):
                return Reply.json({"status": 0, "error_code": 400, "error_message": self.refuse or "bad"})
            job = self.new_job(body["input_text"])
            return Reply.json({"status": 1, "result": {"request_id": f"job-{job}", "status": "IN_PROGRESS"}})
        if seen.method == "GET" and seen.path.startswith("/api/v1/tts/job-"):
            job = seen.path.rsplit("-", 1)[1]
            if self.polls_left.get(job, 0) > 0:
                self.polls_left[job] -= 1
                return Reply.json(
                    {"status": 1, "result": {"request_id": f"job-{job}", "status": "IN_PROGRESS"}}
                )
            if self.fail_job:
                return Reply.json(
                    {"status": 1, "result": {"status": "FAILURE", "error_message": self.fail_job}}
                )
            return Reply.json({"status": 1, "result": {"request_id": f"job-{job}", "status": "SUCCESS",
                                                       "audio_link": f"{self.base_url}/files/{job}.mp3"}})  # fmt: skip
        return Reply.json({"message": "no route"}, 404)


class ZaloService(FakeService):
    def __init__(self, **kw: object) -> None:
        super().__init__(limit=2000, audio_format="wav", **kw)  # type: ignore[arg-type]

    def route(self, seen: Seen) -> Reply:
        if seen.method == "POST" and seen.path == "/v1/tts/synthesize":
            if seen.headers.get("apikey") != self.key:
                return self.bad_key(seen.headers.get("apikey", ""))
            form = seen.form()
            gate = self.synth_gate(form["input"])
            if gate is not None:
                return gate
            if self.refuse or form.get("speaker_id") not in {"1", "2", "3", "4"}:
                return Reply.json({"error_code": -4001, "error_message": self.refuse or "bad speaker"})
            job = self.new_job(form["input"])
            return Reply.json({"error_code": 0, "error_message": "Successful.",
                               "data": {"url": f"{self.base_url}/files/{job}.wav"}})  # fmt: skip
        if seen.method == "GET" and (m := _FILE.match(seen.path)):
            return self.file_reply(m.group(1))
        return Reply.json({"message": "no route"}, 404)
