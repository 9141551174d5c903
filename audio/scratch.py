"""A scratch directory for an engine's WAV files, made on first use and removed on close.

Made lazily so that constructing an engine costs nothing (the controller builds it at
start-up even when it never speaks); removed only if we created it, never a directory
the operator gave us.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from pathlib import Path


class ScratchDir:
    def __init__(self, given: Path | None, prefix: str) -> None:
        self._given = given
        self._prefix = prefix
        self._path: Path | None = None
        self._lock = threading.Lock()

    def get(self) -> Path:
        with self._lock:
            if self._path is None:
                if self._given is not None:
                    self._given.mkdir(parents=True, exist_ok=True)
                    self._path = self._given
                else:
                    self._path = Path(tempfile.mkdtemp(prefix=self._prefix))
            return self._path

    def close(self) -> None:
        with self._lock:
            if self._path is not None and self._given is None:
                with contextlib.suppress(OSError):
                    shutil.rmtree(self._path)
            self._path = None
