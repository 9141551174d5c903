"""Content-addressed audio cache: `{state_dir}/cache/{sha256}.opus`, bounded in size.

Files are named by the hash of their bytes, so the same announcement repeated (or sent
to two zones) downloads once, and a file is trusted only if it still hashes to its name:
at start every file is re-hashed and one that does not match (a torn write, a bad SD
card sector) is deleted. When the cache outgrows its bound, the least recently used
files go first, but never one that a staged or playing command still needs (pinned).
Recency is kept in the file's mtime (touched on use) because atime is unreliable
(`noatime`/`relatime` mounts), and so it survives a restart.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = ".opus"
_NAME_RE = re.compile(r"^([0-9a-f]{64})\.opus$")


def sha256_file(path: Path, chunk: int = 1 << 16) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class CacheStats:
    bytes: int
    files: int


@dataclass
class _Entry:
    size: int
    used: float


class Cache:
    def __init__(self, directory: Path, max_bytes: int, verify: bool = True) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._pins: Counter[str] = Counter()
        self._last_use = 0.0
        self.directory.mkdir(parents=True, exist_ok=True)
        self._scan(verify)
        self.evict()

    def _scan(self, verify: bool) -> None:
        for path in self.directory.iterdir():
            match = _NAME_RE.match(path.name)
            if not path.is_file() or match is None:
                log.info("removing stray file %s from the audio cache", path)
                _remove(path)
                continue
            sha = match.group(1)
            if verify and sha256_file(path) != sha:
                log.warning("cached %s does not hash to its name; deleting it", path.name)
                _remove(path)
                continue
            st = path.stat()
            self._entries[sha] = _Entry(st.st_size, st.st_mtime)
            self._last_use = max(self._last_use, st.st_mtime)

    def path_for(self, sha256: str) -> Path:
        return self.directory / f"{sha256}{SUFFIX}"

    def get(self, sha256: str) -> Path | None:
        """Path of a cached file (marking it used), or None if it is not here."""
        with self._lock:
            entry = self._entries.get(sha256)
            if entry is None:
                return None
            path = self.path_for(sha256)
            if not path.exists():  # removed behind our back
                del self._entries[sha256]
                return None
            entry.used = self._touch(path)
            return path

    def add(self, sha256: str, source: Path) -> Path:
        """Move a verified file (same filesystem) into the cache and evict if over the bound."""
        path = self.path_for(sha256)
        with self._lock:
            os.replace(source, path)
            self._entries[sha256] = _Entry(path.stat().st_size, self._touch(path))
        self.evict()
        return path

    def _touch(self, path: Path) -> float:
        # Strictly increasing, so two uses within one clock tick still have an order.
        now = max(time.time(), self._last_use + 1e-6)
        self._last_use = now
        try:
            os.utime(path, (now, now))
        except OSError:
            pass
        return now

    def pin(self, sha256: str) -> None:
        """Keep a file from eviction while a command needs it (counted: pin once per use)."""
        with self._lock:
            self._pins[sha256] += 1

    def unpin(self, sha256: str) -> None:
        with self._lock:
            if self._pins[sha256] <= 1:
                del self._pins[sha256]
            else:
                self._pins[sha256] -= 1

    def pinned(self) -> set[str]:
        with self._lock:
            return set(self._pins)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(sum(e.size for e in self._entries.values()), len(self._entries))

    def evict(self) -> list[str]:
        """Delete least recently used unpinned files until the cache fits; return their hashes."""
        removed: list[str] = []
        with self._lock:
            total = sum(e.size for e in self._entries.values())
            if total <= self.max_bytes:
                return removed
            for sha, entry in sorted(self._entries.items(), key=lambda kv: kv[1].used):
                if total <= self.max_bytes:
                    break
                if sha in self._pins:
                    continue
                _remove(self.path_for(sha))
                del self._entries[sha]
                total -= entry.size
                removed.append(sha)
        if removed:
            log.info("evicted %d file(s) from the audio cache", len(removed))
        return removed


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot remove %s: %s", path, exc)


__all__ = ["Cache", "CacheStats", "sha256_file"]
