"""Decide when a WAV file written by someone else is complete.

pyttsx3's ``runAndWait()`` can return before ``save_to_file`` has finished writing.
Python's ``wave`` module (which pyttsx3 uses) first writes a header with placeholder
sizes and patches it on close, so "the RIFF and data sizes in the header match the
file size, and the size has stopped changing" is a reliable sign of completion.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable
from pathlib import Path

_HEADER_READ = 4096


def wav_is_complete(path: Path) -> bool:
    """True if ``path`` is a RIFF/WAVE file whose header sizes match its length."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(_HEADER_READ)
    except OSError:
        return False
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return False
    (riff_size,) = struct.unpack_from("<I", head, 4)
    if riff_size + 8 != size:
        return False
    pos = 12
    while pos + 8 <= len(head):
        chunk_id = head[pos : pos + 4]
        (chunk_size,) = struct.unpack_from("<I", head, pos + 4)
        if chunk_id == b"data":
            # Other chunks (LIST...) may follow the samples, so only require they fit.
            return chunk_size > 0 and pos + 8 + chunk_size <= size
        pos += 8 + chunk_size + (chunk_size & 1)
    return False


def wait_for_complete_wav(
    path: Path,
    deadline: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    interval_s: float = 0.01,
) -> int:
    """Wait until ``path`` is a complete WAV whose size held still for one interval.

    Returns the final size. Raises TimeoutError once ``clock()`` passes ``deadline``.
    """
    last_size = -1
    while True:
        if wav_is_complete(path):
            size = os.path.getsize(path)
            if size == last_size:
                return size
            last_size = size
        else:
            last_size = -1
        if clock() >= deadline:
            raise TimeoutError(f"WAV file {path.name} was not complete before the deadline")
        sleep(interval_s)
