"""A local live stream for relay tests: an endless, real-time paced MP3 over HTTP.

`LiveStream` serves `/live.mp3` on 127.0.0.1 from a thread: a 1 s CBR MP3 tone (made
once by ffmpeg) repeated forever, written at its own bit rate, close-delimited like an
Icecast mount. `drop_first_after_s` makes the server cut the first connection after
that many seconds (a dropped stream); `/missing.mp3` answers 404.
"""

from __future__ import annotations

import http.server
import subprocess
import threading
import time
from pathlib import Path

BITRATE = 64_000
BYTES_PER_S = BITRATE // 8
TICK_S = 0.05


def make_tone(path: Path, seconds: int = 1) -> bytes:
    """A mono 440 Hz CBR MP3 without ID3/Xing headers, so copies concatenate cleanly."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "64k", "-write_xing", "0", "-id3v2_version", "0",
         "-f", "mp3", str(path)],
        check=True, timeout=30,
    )  # fmt: skip
    return path.read_bytes()


class LiveStream:
    def __init__(self, tone: bytes, *, drop_first_after_s: float | None = None) -> None:
        self.tone = tone
        self.drop_first_after_s = drop_first_after_s
        self.connections = 0
        self.lock = threading.Lock()
        self.closing = threading.Event()
        stream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path != "/live.mp3":
                    self.send_error(404)
                    return
                with stream.lock:
                    stream.connections += 1
                    first = stream.connections == 1
                self.send_response(200)
                self.send_header("Content-Type", "audio/mpeg")
                self.send_header("icy-name", "Loa test stream")
                self.end_headers()
                limit = stream.drop_first_after_s if first else None
                began = time.monotonic()
                sent = 0
                data = stream.tone
                pos = 0
                try:
                    while not stream.closing.is_set():
                        elapsed = time.monotonic() - began
                        if limit is not None and elapsed >= limit:
                            return  # cut the connection mid-stream
                        due = int((elapsed + 0.25) * BYTES_PER_S)  # a quarter second ahead, like a server buffer
                        while sent < due:
                            n = min(due - sent, len(data) - pos)
                            self.wfile.write(data[pos:pos + n])
                            sent += n
                            pos = (pos + n) % len(data)
                        self.wfile.flush()
                        time.sleep(TICK_S)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    return

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/live.mp3"
        self.missing_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/missing.mp3"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="test-live-stream", daemon=True)

    def __enter__(self) -> "LiveStream":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


def duration_s(path: Path) -> float:
    """Playing time of a recorded file, by decoding it and counting samples (0 for an
    empty or unreadable file).

    Not the container's claimed duration: a segment cut by a dropped connection can end
    in an Ogg page whose granule position is far ahead of the audio actually in it, and
    ffprobe then reports seconds that were never recorded (7.2 s for 1.3 s of audio).
    """
    out = subprocess.run(
        ["ffmpeg", "-v", "quiet", "-nostdin", "-i", str(path), "-ac", "1", "-ar", "8000", "-f", "s16le", "-"],
        capture_output=True, timeout=30,
    )  # fmt: skip
    return len(out.stdout) / (2 * 8000)
