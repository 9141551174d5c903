"""Child processes that cannot outlive their parent.

The demo, the tests and the benchmark start Mosquitto, the controller and agents as
children; Ctrl-C, a failed test or a SIGKILLed parent must leave nothing running.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _child_setup() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
    # Mosquitto stops accepting clients near 1,015 with the default soft limit of 1,024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass


def spawn(argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start argv with output appended to log_path; it gets SIGTERM if we die."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            preexec_fn=_child_setup,
        )


def stop(proc: subprocess.Popen | None, *, kill: bool = False, timeout: float = 10.0) -> int | None:
    """SIGTERM (or SIGKILL) and wait; escalate to SIGKILL after timeout."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
