"""A real HTTP server on loopback for the cloud-engine tests, and audio helpers.

The server is stdlib ``http.server`` in a thread on ``127.0.0.1:0``; each test gives
it a handler (a service simulator) that maps a recorded request to a reply. A reply
may be delayed to simulate a slow service; the delay waits on an event that
``stop()`` sets, so no handler thread outlives its test.
"""

from __future__ import annotations

import functools
import json
import math
import subprocess
import threading
import wave
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names lower-cased."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8")).items()}


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay_s: float = 0.0

    @classmethod
    def json(cls, obj: object, status: int = 200, *, delay_s: float = 0.0) -> Reply:
        return cls(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), delay_s=delay_s)


Handler = Callable[[Seen], Reply]


@dataclass
class LocalServer:
    handler: Handler
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._release = threading.Event()
        self._lock = threading.Lock()
        outer = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                            self.rfile.read(length))  # fmt: skip
                with outer._lock:
                    outer.requests.append(seen)
                reply = outer.handler(seen)
                if reply.delay_s and outer._release.wait(reply.delay_s):
                    return  # the test is over
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass

        class _Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that gave up (timeout tests) is expected

        self._server = _Server(("127.0.0.1", 0), _RequestHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def seen(self, method: str, prefix: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# --- audio -------------------------------------------------------------------


def freq_for(index: int) -> float:
    """The tone a simulator answers its ``index``-th synthesis request with."""
    return 300.0 + 200.0 * index


@functools.lru_cache(maxsize=32)
def tone_bytes(freq: float, fmt: str, duration_s: float = 0.3) -> bytes:
    """A real MP3 or WAV file made by ffmpeg, as a service would send it."""
    codec = {"mp3": ["-c:a", "libmp3lame", "-b:a", "64k"], "wav": ["-c:a", "pcm_s16le"]}[fmt]
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi",
         "-i", f"sine=frequency={freq}:sample_rate=22050:duration={duration_s}",
         "-ac", "1", *codec, "-f", fmt, "pipe:1"],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip


def wav_info(path: Path) -> tuple[int, int, int]:
    """(sample rate, channels, frames)."""
    with wave.open(str(path)) as w:
        return w.getframerate(), w.getnchannels(), w.getnframes()


def tone_frequencies(path: Path, *, window_ms: int = 10, threshold: int = 1500) -> list[float]:
    """Frequencies of the tones in a WAV, in order (tones are separated by silence)."""
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        samples = array("h", w.readframes(w.getnframes()))
    win = rate * window_ms // 1000
    loud = [max(map(abs, samples[i : i + win]), default=0) > threshold for i in range(0, len(samples), win)]
    runs: list[tuple[int, int]] = []
    for n, is_loud in enumerate(loud):
        if not is_loud:
            continue
        if runs and n - runs[-1][1] <= 5:  # allow short dips (MP3 edges)
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    freqs = []
    for first, last in runs:
        seg = samples[first * win : (last + 1) * win]
        freqs.append(_frequency(seg, rate, threshold // 3))
    return freqs


def _frequency(samples: array, rate: int, hysteresis: int) -> float:
    """Frequency from sign changes between the first and the last one, counted only
    when the signal swings past +/- ``hysteresis`` (lossy codecs add noise that
    would make extra crossings near zero)."""
    state, flips, first, last = 0, 0, 0, 0
    for i, s in enumerate(samples):
        sign = 1 if s > hysteresis else -1 if s < -hysteresis else 0
        if sign and sign != state:
            if state:
                flips += 1
                last = i
            else:
                first = i
            state = sign
    return flips / 2 / ((last - first) / rate) if last > first else 0.0


def assert_tones(path: Path, expected: list[float], tolerance: float = 10.0) -> None:
    found = tone_frequencies(path)
    assert len(found) == len(expected), f"tones {found} != {expected}"
    for got, want in zip(found, expected, strict=True):
        assert math.isclose(got, want, abs_tol=tolerance), f"tones {found} != {expected}"
