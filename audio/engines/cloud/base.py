"""What every Vietnamese cloud TTS adapter shares: HTTP, deadlines, retries, splitting.

Cloud services fail in ways a local engine does not: slow answers, 5xx during
their deployments, jobs that take a while to be ready, and per-request text
limits. Each adapter (one module per service) only describes its protocol by
implementing :meth:`CloudEngine._fetch_audio`; this base gives all of them the
same behaviour, so officials see the same kind of error whichever service fails:

* one **deadline** per ``synthesize`` call covers every request, poll and decode;
  when it passes the call raises :class:`~audio.errors.EngineTimeout`;
* **bounded retries** with exponential backoff on timeouts, connection errors,
  5xx and 429 (the service said "later"); never on other 4xx, which will not
  improve by asking again (and every retry of a paid request may be billed);
* **splitting** at sentence boundaries to the service's limit, in addition to the
  pipeline's own splitting, so the adapter is safe to call directly; the pieces
  are synthesised in order and joined;
* **errors that never contain the API key**: services sometimes echo the request
  in their error text, so every message is scrubbed before it leaves;
* downloads of result files are sent **without** credentials: they are plain URLs
  the service handed out and may live on another host (a CDN).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx

from audio.engines.base import Voice
from audio.engines.cloud.audiofile import decode_audio, write_joined_wav
from audio.errors import AudioError, EngineError, EngineTimeout
from audio.normalize import split_sentences

log = logging.getLogger(__name__)

T = TypeVar("T")

MIN_RATE = 80
MAX_RATE = 300
REFERENCE_RATE = 150
"""Words per minute that maps to each service's normal speed (the pipeline default)."""

_MESSAGE_KEYS = ("message", "error_message", "msg", "vi_message", "detail", "error")
_MAX_MESSAGE = 300


@dataclass(frozen=True)
class CloudPolicy:
    """Timing of requests, retries and polling; tests shrink these."""

    request_timeout_s: float = 20.0
    """Cap on one HTTP attempt (also never past the call's deadline)."""
    connect_timeout_s: float = 5.0
    """Cap on establishing a connection."""
    max_attempts: int = 3
    """Tries per request when the failure is worth retrying (>= 1)."""
    backoff_s: float = 0.5
    """First pause between attempts; doubles each time."""
    backoff_max_s: float = 4.0
    """Longest pause between attempts."""
    poll_interval_s: float = 1.0
    """First pause between polls for a job's result; grows by half each time."""
    poll_max_interval_s: float = 5.0
    """Longest pause between polls."""


def speed_factor(rate: int, low: float, high: float) -> float:
    """Words per minute to a service's speed multiplier (1.0 at ``REFERENCE_RATE``)."""
    return round(min(max(rate / REFERENCE_RATE, low), high), 2)


def pack_sentences(text: str, max_chars: int, min_chars: int = 1) -> list[str]:
    """Split ``text`` at sentence boundaries into as few pieces as fit ``max_chars``.

    Fewer pieces mean fewer (paid) requests and more natural intonation; a piece
    shorter than ``min_chars`` (a service minimum) is padded with dots, which
    services read as a pause.
    """
    chunks: list[str] = []
    for sentence in split_sentences(text, max_chars):
        if chunks and len(chunks[-1]) + 1 + len(sentence) <= max_chars:
            chunks[-1] = f"{chunks[-1]} {sentence}"
        else:
            chunks.append(sentence)
    return [c.ljust(min_chars, ".") for c in chunks]


class CloudEngine:
    """Base of the cloud adapters; subclasses set the class attributes and ``_fetch_audio``."""

    name: ClassVar[str]
    service: ClassVar[str]
    """Human name used in messages, e.g. ``"FPT.AI"``."""
    default_base_url: ClassVar[str]
    default_voices: ClassVar[tuple[Voice, ...]]
    sample_rate: ClassVar[int] = 22050
    """Rate the downloaded audio is decoded to (speech needs no more)."""
    max_chars: ClassVar[int]
    min_chars: ClassVar[int] = 1
    synchronous: ClassVar[bool]

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        voices: Sequence[Voice] | None = None,
        policy: CloudPolicy | None = None,
        work_dir: Path | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``voices`` replaces the built-in list (services add and retire voices);
        ``transport`` is for tests that want no sockets at all."""
        if not api_key or not api_key.strip():
            raise EngineError(f"no API key configured for {self.service}")
        self._key = api_key
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.voices: tuple[Voice, ...] = tuple(voices) if voices is not None else self.default_voices
        self._by_id = {v.id: v for v in self.voices}
        self.policy = policy or CloudPolicy()
        if self.policy.max_attempts < 1:
            raise EngineError("max_attempts must be at least 1")
        self._transport = transport
        self._client: httpx.Client | None = None
        self._given_work_dir = work_dir
        self._work_dir: Path | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()

    # --- the SpeechEngine interface ------------------------------------------

    def synthesize(self, text: str, voice: str, rate: int, *, timeout_s: float) -> Path:
        """Speak ``text`` through the service; returns a mono WAV at ``sample_rate``."""
        deadline = time.monotonic() + timeout_s
        if self._closing.is_set():
            raise EngineError(f"{self.service} engine is closed")
        spec = self._by_id.get(voice)
        if spec is None:
            raise EngineError(f"unknown voice {voice!r}; {self.service} offers {sorted(self._by_id)}")
        if not MIN_RATE <= rate <= MAX_RATE:
            raise EngineError(f"rate must be {MIN_RATE}..{MAX_RATE} words per minute, got {rate}")
        chunks = pack_sentences(text, self.max_chars, self.min_chars)
        if not chunks:
            raise EngineError("nothing to say")
        if len(chunks) > 1:
            log.info("%s: text of %d chars sent as %d requests", self.service, len(text), len(chunks))
        segments = []
        for chunk in chunks:
            data = self._fetch_audio(chunk, spec.engine_voice, rate, deadline)
            try:
                segments.append(decode_audio(data, self.sample_rate, timeout_s=self._remaining(deadline)))
            except AudioError as exc:
                raise EngineError(
                    self._scrub(f"{self.service} sent audio that cannot be decoded: {exc}")
                ) from None
        out_path = self._scratch_dir() / f"{uuid.uuid4().hex}.wav"
        write_joined_wav(segments, out_path)
        return out_path

    def close(self) -> None:
        """Close the HTTP client, stop any waiting poll, remove our scratch directory."""
        self._closing.set()
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._work_dir is not None and self._given_work_dir is None:
                with contextlib.suppress(OSError):
                    shutil.rmtree(self._work_dir)
            self._work_dir = None

    # --- for subclasses --------------------------------------------------------

    def _fetch_audio(self, text: str, engine_voice: str, rate: int, deadline: float) -> bytes:
        """Return the audio file (MP3/WAV bytes) for one piece of text within ``deadline``."""
        raise NotImplementedError

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _send(
        self,
        method: str,
        url: str,
        *,
        deadline: float,
        what: str,
        pass_status: Collection[int] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """One logical request with retries; returns a 2xx response (or one in ``pass_status``).

        Raises EngineTimeout when the deadline passes or every attempt timed out,
        EngineError for a 4xx or when the attempts are used up.
        """
        policy = self.policy
        for attempt in range(1, policy.max_attempts + 1):
            remaining = self._remaining(deadline)
            timeout = httpx.Timeout(min(policy.request_timeout_s, remaining),
                                    connect=min(policy.connect_timeout_s, remaining))  # fmt: skip
            timed_out = False
            try:
                resp = self._http().request(method, url, timeout=timeout, **kwargs)
            except httpx.TimeoutException:
                failure, timed_out = "no answer in time", True
            except httpx.TransportError as exc:
                failure = f"connection failed ({type(exc).__name__})"
            except RuntimeError:  # httpx: "the client has been closed"
                if self._closing.is_set():
                    raise EngineError(f"{self.service} engine was closed during the request") from None
                raise
            else:
                status = resp.status_code
                if 200 <= status < 300 or status in pass_status:
                    return resp
                failure = f"HTTP {status}: {self._service_message(resp)}"
                if 400 <= status < 500 and status != 429:
                    raise EngineError(self._scrub(f"{self.service} refused the {what}: {failure}"))
            log.warning("%s %s attempt %d/%d failed: %s",
                        self.service, what, attempt, policy.max_attempts, self._scrub(failure))  # fmt: skip
            if attempt == policy.max_attempts:
                message = f"{self.service} {what} failed after {attempt} attempts: {failure}"
                raise (EngineTimeout if timed_out else EngineError)(self._scrub(message))
            pause = min(policy.backoff_s * 2 ** (attempt - 1), policy.backoff_max_s)
            self._pause(pause, deadline, what)
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _poll(self, check: Callable[[], T | None], *, deadline: float, what: str) -> T:
        """Call ``check`` until it returns a value, pausing longer each time, until the deadline."""
        interval = self.policy.poll_interval_s
        while True:
            result = check()
            if result is not None:
                return result
            self._pause(interval, deadline, what)
            interval = min(interval * 1.5, self.policy.poll_max_interval_s)

    def _download(self, url: str, *, deadline: float, what: str = "audio file") -> bytes:
        """Fetch a result file that may answer 404 until the service has finished it."""
        if not url.startswith(("https://", "http://")):
            raise EngineError(self._scrub(f"{self.service} gave an invalid {what} link: {url[:100]!r}"))

        def ready() -> bytes | None:
            resp = self._send("GET", url, deadline=deadline, what=what, pass_status=(404,))
            return None if resp.status_code == 404 else resp.content

        return self._poll(ready, deadline=deadline, what=f"{what} to be ready")

    def _json(self, resp: httpx.Response, what: str) -> dict[str, Any]:
        """The response's JSON object, or an EngineError that says what came instead."""
        try:
            body = resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            snippet = resp.text[:100] if resp.content else "an empty body"
            raise EngineError(self._scrub(f"{self.service} answered the {what} with non-JSON: {snippet!r}"))
        return body

    def _service_message(self, resp: httpx.Response) -> str:
        """The service's own explanation from an error response, short and scrubbed."""
        try:
            body = resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if isinstance(body, dict):
            for key in _MESSAGE_KEYS:
                value = body.get(key)
                if isinstance(value, str) and value.strip():
                    return self._scrub(value)
        text = resp.text.strip() if resp.content else ""
        return self._scrub(text or resp.reason_phrase or "no details")

    def _scrub(self, message: str) -> str:
        """Remove the API key from ``message`` and keep it short."""
        message = message.replace(self._key, "***")
        return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"

    # --- internals --------------------------------------------------------------

    def _remaining(self, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise EngineTimeout(f"{self.service} did not deliver within the time limit")
        return remaining

    def _pause(self, seconds: float, deadline: float, what: str) -> None:
        """Sleep, unless that would pass the deadline (then time out now) or we are closing."""
        if time.monotonic() + seconds >= deadline:
            raise EngineTimeout(f"{self.service}: gave up waiting for the {what} at the time limit")
        if self._closing.wait(seconds):
            raise EngineError(f"{self.service} engine was closed while waiting")

    def _http(self) -> httpx.Client:
        """Created on first use, so constructing an engine opens nothing."""
        with self._lock:
            if self._closing.is_set():
                raise EngineError(f"{self.service} engine is closed")
            if self._client is None:
                self._client = httpx.Client(
                    transport=self._transport,
                    follow_redirects=True,
                    headers={"User-Agent": "loa-tts/1"},
                )
            return self._client

    def _scratch_dir(self) -> Path:
        with self._lock:
            if self._work_dir is None:
                if self._given_work_dir is not None:
                    self._given_work_dir.mkdir(parents=True, exist_ok=True)
                    self._work_dir = self._given_work_dir
                else:
                    self._work_dir = Path(tempfile.mkdtemp(prefix=f"loa-{self.name}-"))
            return self._work_dir
