"""Audio download over HTTP(S): resumable, bounded, verified before it is kept.

On a 4G SIM every byte is paid for and links drop mid-transfer, so a partial download
is kept in `{state_dir}/partial/{sha256}.part` and continued with `Range: bytes=N-`
(a server that answers 200 instead of 206 gets the whole file written afresh). Nothing
reaches the cache until its bytes hash to the sha256 the signed command named; a
mismatch throws the partial away and starts over. Attempts are bounded and spaced by
jittered exponential backoff, so a whole commune's nodes do not hammer the server in
step after an outage.

Small emergency plays may carry their audio inside the signed command (`AudioRef.data`):
`store_inline` checks those bytes exactly like a finished download (size, sha256) and
moves them into the cache atomically, so the play is ready without any HTTP request.
Unusable inline bytes are logged and the caller downloads the URL as usual.
"""

from __future__ import annotations

import http.client
import logging
import os
import random
import re
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from protocol.commands import AudioRef, InlineAudioError
from speaker_agent import agent_version
from speaker_agent.cache import Cache, sha256_file

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
INLINE_PREFIX = ".inline-"
"""Temporary files of inline audio in the partial directory (left only by a crash mid-write)."""
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")


class FetchError(Exception):
    """The audio could not be obtained; the message is the `failed` event's detail."""


class _Retry(Exception):
    """This attempt failed in a way another attempt may fix."""


class _GiveUp(Exception):
    """Retrying cannot help (404, 403, bad URL)."""


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s): a command's URL must not lead to file:// or ftp://."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise urllib.error.HTTPError(newurl, code, f"redirect to non-HTTP URL {newurl!r}", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class Fetcher:
    def __init__(
        self,
        partial_dir: Path,
        cache: Cache,
        timeout_s: float = 30.0,
        attempts: int = 4,
        backoff_s: float = 1.0,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.partial_dir = Path(partial_dir)
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        self.cache = cache
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._opener = urllib.request.build_opener(_HttpOnlyRedirects())
        self._locks: dict[str, tuple[threading.Lock, int]] = {}  # sha256 -> (lock, users)
        self._locks_guard = threading.Lock()
        self._user_agent = f"loa-agent/{agent_version()}"
        for stray in self.partial_dir.glob(f"{INLINE_PREFIX}*"):
            stray.unlink(missing_ok=True)

    def store_inline(self, ref: AudioRef) -> Path | None:
        """Cache the audio `ref` carries inline; the cached file, or None to download instead.

        None when `ref` has no `data`, or (logged as a warning) when the data is not
        base64, has the wrong size or hash, or cannot be written. The bytes go to a temp
        file in the partial directory, fsynced, then `os.replace`d into the cache: a power
        cut leaves either no file or the whole verified one. The agent calls this on the
        MQTT thread rather than in the download pool: decoding and hashing at most 128 KiB
        is quick, while a pool worker may be busy with a long normal download.
        """
        try:
            raw = ref.inline_bytes()
        except InlineAudioError as exc:
            log.warning("audio %s: %s; downloading %s instead", ref.sha256[:12], exc, ref.url[:200])
            return None
        if raw is None:
            return None
        cached = self.cache.get(ref.sha256)
        if cached is not None:
            return cached
        tmp: Path | None = None
        try:
            fd, name = tempfile.mkstemp(dir=self.partial_dir, prefix=INLINE_PREFIX, suffix=".part")
            tmp = Path(name)
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            path = self.cache.add(ref.sha256, tmp)
        except OSError as exc:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            log.warning("audio %s: cannot keep the inline audio (%s); downloading instead", ref.sha256[:12], exc)
            return None
        log.info("audio %s (%d bytes) arrived inline with the command; no download", ref.sha256[:12], ref.size)
        return path

    def fetch(self, ref: AudioRef, stop: threading.Event | None = None) -> Path:
        """Return the cached, verified file for `ref`, downloading it if needed.

        Raises FetchError when every attempt failed, the server says the file is not
        there, or `stop` was set.
        """
        stop = stop or threading.Event()
        scheme = urllib.parse.urlsplit(ref.url).scheme
        if scheme not in ("http", "https"):
            raise FetchError(f"refusing {scheme or 'scheme-less'} URL {ref.url[:200]!r}: only http(s)")
        lock = self._claim(ref.sha256)
        try:
            with lock:  # two commands, one file: download it once, the other finds it cached
                return self._fetch_locked(ref, stop)
        finally:
            self._release(ref.sha256)

    def _claim(self, sha256: str) -> threading.Lock:
        with self._locks_guard:
            lock, users = self._locks.get(sha256, (threading.Lock(), 0))
            self._locks[sha256] = (lock, users + 1)
            return lock

    def _release(self, sha256: str) -> None:
        with self._locks_guard:
            lock, users = self._locks[sha256]
            if users <= 1:
                del self._locks[sha256]  # keep the map from growing with every announcement
            else:
                self._locks[sha256] = (lock, users - 1)

    def _fetch_locked(self, ref: AudioRef, stop: threading.Event) -> Path:
        part = self.partial_dir / f"{ref.sha256}.part"
        last = "no attempt made"
        for attempt in range(1, self.attempts + 1):
            cached = self.cache.get(ref.sha256)
            if cached is not None:
                return cached
            if stop.is_set():
                raise FetchError("agent stopping")
            try:
                self._download(ref, part, stop)
                actual = sha256_file(part)
                if actual == ref.sha256:
                    log.info("downloaded %s (%d bytes) in %d attempt(s)", ref.sha256[:12], ref.size, attempt)
                    return self.cache.add(ref.sha256, part)
                part.unlink(missing_ok=True)
                raise _Retry(f"sha256 mismatch (got {actual[:12]}...); discarded, fetching from scratch")
            except _GiveUp as exc:
                part.unlink(missing_ok=True)
                raise FetchError(f"download of {ref.url[:200]} failed: {exc}") from None
            except (_Retry, OSError, http.client.HTTPException, ValueError) as exc:
                last = str(exc) or type(exc).__name__
                log.warning("download %s attempt %d/%d failed: %s", ref.sha256[:12], attempt, self.attempts, last)
            if attempt < self.attempts:
                delay = min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
                if stop.wait(delay):
                    raise FetchError("agent stopping")
        raise FetchError(f"download of {ref.url[:200]} failed after {self.attempts} attempts: {last}")

    def _download(self, ref: AudioRef, part: Path, stop: threading.Event) -> None:
        """One HTTP request, appending to (or restarting) the partial file."""
        have = part.stat().st_size if part.exists() else 0
        if have > ref.size:
            part.unlink()
            have = 0
        if have == ref.size:
            return  # complete from an earlier run; the caller verifies it
        headers = {"User-Agent": self._user_agent, "Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        request = urllib.request.Request(ref.url, headers=headers)
        try:
            response = self._opener.open(request, timeout=self.timeout_s)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 416:
                part.unlink(missing_ok=True)
                raise _Retry("server refused the resume range; restarting from scratch") from None
            if 400 <= exc.code < 500 and exc.code not in (408, 425, 429):
                raise _GiveUp(f"HTTP {exc.code} {exc.reason}") from None
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            raise _Retry(f"cannot reach server: {exc.reason}") from None
        with response:
            mode = self._resume_mode(response, have, part)
            if mode == "wb":
                have = 0
            self._check_length(response, have, ref.size, part)
            with open(part, mode) as fh:
                while True:
                    if stop.is_set():
                        raise FetchError("agent stopping")
                    chunk = response.read(min(CHUNK, ref.size + 1 - have))
                    if not chunk:
                        break
                    if have + len(chunk) > ref.size:
                        fh.close()
                        part.unlink(missing_ok=True)
                        raise _Retry(f"server sent more than the {ref.size} bytes announced")
                    fh.write(chunk)
                    have += len(chunk)
                fh.flush()
                os.fsync(fh.fileno())
        if have < ref.size:
            raise _Retry(f"connection ended after {have} of {ref.size} bytes; will resume")

    @staticmethod
    def _resume_mode(response: Any, have: int, part: Path) -> str:
        """"ab" to continue a partial file (206 at the right offset), "wb" to start over."""
        if response.status == 200:
            if have:
                log.info("server ignored the Range request; downloading the whole file again")
            return "wb"
        if response.status == 206 and have:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if match is None or int(match.group(1)) != have:
                part.unlink(missing_ok=True)  # cannot tell what we have: start over next time
                raise _Retry(f"206 with unexpected Content-Range {response.headers.get('Content-Range')!r}")
            return "ab"
        raise _Retry(f"unexpected HTTP status {response.status}")

    @staticmethod
    def _check_length(response: Any, have: int, size: int, part: Path) -> None:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and have + int(declared) > size:
            part.unlink(missing_ok=True)
            raise _Retry(f"server offers {have + int(declared)} bytes, the command says {size}")


__all__ = ["FetchError", "Fetcher"]
