"""Test helpers for the speaker agent: signed commands, a Range-capable HTTP server, waiting."""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from protocol.commands import AudioRef, CancelOrder, Command, CommandKind, PlayOrder, Priority, StopOrder
from protocol.signing import Signer, generate_keypair, load_private_key
from speaker_agent.play_thread import STARTED_REPORT_S


def make_keys(directory: Path, name: str = "controller") -> tuple[Signer, Path]:
    """A fresh Ed25519 key pair in `directory`: (signer, public key file)."""
    generate_keypair(directory / f"{name}.key", directory / f"{name}.pub")
    return Signer(load_private_key(directory / f"{name}.key")), directory / f"{name}.pub"


def audio_ref(data: bytes, url: str = "http://127.0.0.1:9/a.opus", duration_ms: int = 1000) -> AudioRef:
    return AudioRef(url=url, sha256=hashlib.sha256(data).hexdigest(), size=len(data), duration_ms=duration_ms)


def play_command(
    audio: AudioRef,
    *,
    now: datetime | None = None,
    play_in_s: float = 0.0,
    ttl_s: float = 60.0,
    issued_offset_s: float = 0.0,
    announcement: int = 1,
    priority: Priority = Priority.NORMAL,
    nodes: list[str] | None = None,
    cmd_id: str | None = None,
    occurrence: str | None = None,
) -> Command:
    now = now or datetime.now(UTC)
    issued = now + timedelta(seconds=issued_offset_s)
    return Command(
        id=cmd_id or uuid.uuid4().hex,
        kind=CommandKind.PLAY,
        issued_at=issued,
        expires_at=now + timedelta(seconds=ttl_s),
        play=PlayOrder(
            announcement=announcement, audio=audio, play_at=now + timedelta(seconds=play_in_s), priority=priority,
            occurrence=occurrence,
        ),
        nodes=nodes,
    )


def cancel_command(
    *, announcement: int | None = None, occurrences: list[str] | None = None, now: datetime | None = None,
    ttl_s: float = 60.0, cmd_id: str | None = None,
) -> Command:
    now = now or datetime.now(UTC)
    return Command(
        id=cmd_id or uuid.uuid4().hex, kind=CommandKind.CANCEL, issued_at=now, expires_at=now + timedelta(seconds=ttl_s),
        cancel=CancelOrder(announcement=announcement, occurrences=occurrences),
    )


def stop_command(reason: str | None = None, *, now: datetime | None = None, ttl_s: float = 60.0) -> Command:
    now = now or datetime.now(UTC)
    return Command(
        id=uuid.uuid4().hex, kind=CommandKind.STOP, issued_at=now, expires_at=now + timedelta(seconds=ttl_s),
        stop=StopOrder(reason=reason),
    )


def wait_until(predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


class AudioServer:
    """Serves files by path with Range support; `faults` (a list, consumed in order) breaks answers.

    Fault names: "truncate" (send half the body, then close), "corrupt" (flip one byte),
    "ignore-range" (answer 200 with the whole file), "404".
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.faults: list[str] = []
        self.requests: list[tuple[str, str | None]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                rng = self.headers.get("Range")
                outer.requests.append((self.path, rng))
                fault = outer.faults.pop(0) if outer.faults else None
                data = outer.files.get(self.path)
                if data is None or fault == "404":
                    self.send_error(404, "Not Found")
                    return
                start = 0
                match = re.match(r"bytes=(\d+)-$", rng or "")
                if match and fault != "ignore-range":
                    start = int(match.group(1))
                if start >= len(data) and start:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = data[start:]
                if fault == "corrupt":
                    mid = len(body) // 2
                    body = body[:mid] + bytes([body[mid] ^ 0xFF]) + body[mid + 1 :]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "audio/ogg")
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if fault == "truncate":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="test-audio-server", daemon=True
        )

    def add(self, name: str, data: bytes) -> str:
        self.files[f"/{name}"] = data
        return self.url(name)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def __enter__(self) -> "AudioServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


class FakeLink:
    """Stands in for protocol.link.MqttLink in unit tests: records publishes, delivers by hand."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.handlers: dict[str, Callable[[str, bytes], None]] = {}
        self.published: list[tuple[str, bytes, int, bool]] = []
        self.final: tuple[str, bytes, bool] | None = None
        self._lock = threading.Lock()

    def subscribe(self, topic_filter: str, handler: Callable[[str, bytes], None], qos: int = 1) -> None:
        self.handlers[topic_filter] = handler

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        with self._lock:
            self.published.append((topic, payload, qos, retain))

    def start(self) -> None:
        self.connected.set()

    def wait_connected(self, timeout: float) -> bool:
        return self.connected.wait(timeout)

    def stop(self, final: tuple[str, bytes, bool] | None = None) -> None:
        self.final = final
        self.connected.clear()

    def reconnect(self, hooks: list[Callable[[], None]]) -> None:
        """What the real link does on every (re)connect: mark connected, run the hooks."""
        self.connected.set()
        for hook in hooks:
            hook()

    def deliver(self, topic: str, payload: bytes) -> None:
        self.handlers[topic](topic, payload)

    def on(self, topic: str) -> list[bytes]:
        with self._lock:
            return [p for t, p, _, _ in self.published if t == topic]


def wait_reported_start(clock, timeline, cmd: str, predicate: Callable[[], object], timeout: float = 5.0) -> bool:
    """`started` is reported STARTED_REPORT_S after the start by the node's clock (so that
    nothing but the clock read sits between the wake-up and the player): once `cmd` is on
    air, move the manual clock that far, then wait for `predicate`."""
    if not wait_until(lambda: (now := timeline.now_playing()) is not None and now.cmd == cmd, timeout):
        return False
    clock.advance(STARTED_REPORT_S)
    return wait_until(predicate, timeout)
