"""Content-addressed audio store plus the render-cache index.

Files are named by the sha256 of their bytes (``{root}/{sha256}.opus``) because the
speaker agents verify that hash before they keep a file: the name *is* the checksum,
so a URL can never point at different bytes tomorrow, and identical audio is stored
once. Every write goes to a temp file in the same directory, is fsynced, then
``os.replace``d into place, so readers (the HTTP server, a crash-restarted
controller) never see a half-written file.

The render cache maps a hash of "what was asked for" (spoken text, voice, rate,
chime, pipeline version...) to the stored file, as small JSON files under
``{root}/keys/``, written the same atomic way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

_HEX64 = re.compile(r"[0-9a-f]{64}")
_FILE_MODE = 0o644  # mkstemp makes 0600; a separate web server may need to read these


def is_sha256(value: object) -> bool:
    """True for exactly 64 lowercase hex digits (the only names the store accepts)."""
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def _require_sha256(value: object, what: str = "sha256") -> str:
    if isinstance(value, str) and _HEX64.fullmatch(value) is not None:
        return value
    raise ValueError(f"invalid {what}: expected 64 lowercase hex digits, got {value!r}")


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; not every platform lets us open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the path holds either nothing or all of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fchmod(tmp.fileno(), _FILE_MODE)
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)


@dataclass(frozen=True)
class CachedRender:
    """What the render cache remembers about one rendered announcement."""

    sha256: str
    """Name of the stored file."""
    size: int
    """Bytes on disk, so a cache hit needs no stat of the audio file."""
    duration_ms: int
    """Decoded duration of the stored file."""
    loudness_lufs: float
    """Integrated loudness measured on the decoded file."""


class AudioStore:
    """Files by sha256 under one directory; safe to share between threads and processes."""

    suffix = ".opus"

    def __init__(self, root: Path) -> None:
        # No mkdir here: constructing a store (e.g. in settings) must not touch the disk.
        self.root = Path(root)
        self.keys_dir = self.root / "keys"

    def path_for(self, sha256: str) -> Path:
        """Where the file with this hash lives; refuses anything but a real sha256."""
        return self.root / f"{_require_sha256(sha256)}{self.suffix}"

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def size(self, sha256: str) -> int:
        """Size in bytes; raises FileNotFoundError when the file is not stored."""
        return self.path_for(sha256).stat().st_size

    def open(self, sha256: str) -> BinaryIO:
        """Open the stored file for reading (binary); the caller closes it."""
        return self.path_for(sha256).open("rb")

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` under its sha256 and return the hash.

        Storing the same bytes twice is a cheap no-op: the name guarantees the content.
        """
        sha = hashlib.sha256(data).hexdigest()
        path = self.path_for(sha)
        if path.is_file() and path.stat().st_size == len(data):
            return sha
        atomic_write(path, data)
        log.debug("stored %s (%d bytes)", sha, len(data))
        return sha

    # --- render cache index -------------------------------------------------

    def _key_path(self, key: str) -> Path:
        return self.keys_dir / f"{_require_sha256(key, 'cache key')}.json"

    def get_key(self, key: str) -> CachedRender | None:
        """The cached render for ``key`` or None; a damaged entry counts as a miss."""
        path = self._key_path(key)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            entry = CachedRender(
                sha256=_require_sha256(raw["sha256"]),
                size=int(raw["size"]),
                duration_ms=int(raw["duration_ms"]),
                loudness_lufs=float(raw["loudness_lufs"]),
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring damaged render-cache entry %s: %s", path.name, exc)
            return None
        return entry

    def put_key(self, key: str, entry: CachedRender) -> None:
        """Remember ``entry`` for ``key`` (atomically, last writer wins)."""
        _require_sha256(entry.sha256)
        data = json.dumps(asdict(entry), sort_keys=True).encode("utf-8")
        atomic_write(self._key_path(key), data)
