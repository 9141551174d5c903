"""A real agent process against bad downloads and garbage on its topics."""

from __future__ import annotations

import hashlib
import http.server
import json
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from protocol import topics
from protocol.commands import AudioRef, Command, CommandKind, PlayOrder
from protocol.signing import Signer, generate_keypair, load_private_key

pytestmark = pytest.mark.integration


def make_opus(path: Path, seconds: float = 1.5) -> bytes:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"sine=frequency=660:duration={seconds}",
         "-ac", "1", "-c:a", "libopus", "-b:a", "24k", "-y", str(path)],
        check=True,
    )
    return path.read_bytes()


class FlakyAudioServer:
    """Serves one file: first truncated, then corrupted, then intact."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.requests: list[str | None] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                n = len(outer.requests)
                rng = self.headers.get("Range")
                outer.requests.append(rng)
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                body = outer.data[start:]
                if n == 1:  # second answer: corrupt one byte in the middle
                    mid = len(body) // 2
                    body = body[:mid] + bytes([body[mid] ^ 0xFF]) + body[mid + 1 :]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body)))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(outer.data) - 1}/{len(outer.data)}")
                self.end_headers()
                if n == 0:  # first answer: the connection drops halfway
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.close()
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/audio.opus"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def controller_link(stack):
    link = stack.controller_link("test-pub", keepalive=30)
    link.start()
    assert link.wait_connected(10)
    yield link
    link.stop()


def play_command(data: bytes, url: str, announcement: int, ttl: float = 60) -> Command:
    now = datetime.now(UTC)
    return Command(
        id=uuid.uuid4().hex,
        kind=CommandKind.PLAY,
        issued_at=now,
        expires_at=now + timedelta(seconds=ttl),
        play=PlayOrder(
            announcement=announcement,
            audio=AudioRef(url=url, sha256=hashlib.sha256(data).hexdigest(), size=len(data), duration_ms=1500),
            play_at=now + timedelta(seconds=1),
        ),
    )


def test_truncated_and_corrupted_downloads_are_rejected_and_fetched_again(stack, tap, controller_link, tmp_path):
    data = make_opus(tmp_path / "tone.opus")
    signer = Signer(load_private_key(stack.dir / "keys" / "controller.key"))
    with FlakyAudioServer(data) as server:
        topic = topics.node_cmd("thon-tay-1")
        controller_link.publish(topic, signer.seal(topic, play_command(data, server.url, 9001))).wait_for_publish(5)
        assert tap.wait_for("thon-tay-1", "finished", 9001, timeout=60), tap.of("thon-tay-1")
        assert len(server.requests) >= 3, server.requests
    plays = stack.plays("thon-tay-1")
    assert [p["sha256"] for p in plays] == [hashlib.sha256(data).hexdigest()]
    cached = list((stack.dir / "nodes" / "thon-tay-1" / "state").rglob(f"{plays[0]['sha256']}*"))
    assert cached and all(hashlib.sha256(p.read_bytes()).hexdigest() == plays[0]["sha256"] for p in cached if p.is_file())


def test_garbage_on_agent_topics_is_ignored_and_agent_keeps_working(stack, tap, controller_link, tmp_path):
    data = make_opus(tmp_path / "tone.opus")
    signer = Signer(load_private_key(stack.dir / "keys" / "controller.key"))
    generate_keypair(tmp_path / "evil.key", tmp_path / "evil.pub")
    forger = Signer(load_private_key(tmp_path / "evil.key"))
    node_topic, zone_topic = topics.node_cmd("thon-dong-1"), topics.zone_cmd("thon-dong")
    with FlakyAudioServer(data) as server:
        server.requests.extend(["warm", "warm"])  # serve intact bytes from the start
        garbage = [
            b"\xff\xfe\x00 not json",
            b"{}",
            b"[1, 2, 3]",
            json.dumps({"v": 1, "kid": "x", "sig": "y", "cmd": "{}"}).encode(),
            b"{" * 200_000,
            forger.seal(node_topic, play_command(data, server.url, 9002)),
            signer.seal(zone_topic, play_command(data, server.url, 9003)),  # signed for another topic
        ]
        for payload in garbage:
            controller_link.publish(node_topic, payload).wait_for_publish(5)
        controller_link.publish(zone_topic, b"\x00\x01\x02").wait_for_publish(5)
        time.sleep(1.0)
        assert stack.agents["thon-dong-1"].poll() is None, "agent died on garbage"
        controller_link.publish(node_topic, signer.seal(node_topic, play_command(data, server.url, 9004))).wait_for_publish(5)
        assert tap.wait_for("thon-dong-1", "finished", 9004, timeout=30)
    assert [p["announcement"] for p in stack.plays("thon-dong-1")] == [9004]
    assert stack.agents["thon-dong-1"].poll() is None
    log = (stack.dir / "logs" / "agent-thon-dong-1.log").read_text()
    assert "Traceback" not in log
