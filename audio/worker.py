"""Run a speech backend in a long-lived child process, with a timeout per request.

Why a process: pyttsx3's engine is a per-process singleton wrapping C code (espeak-ng)
that can wedge, and it prints to stdout. A child process (``spawn`` start method, so
it inherits no threads or locks from the controller) isolates all of that: its stdout
goes to /dev/null, a request that overruns its timeout gets the child SIGKILLed, and
the next request transparently starts a fresh one. The child stays up between
requests, so the engine's start-up cost is paid once, not per announcement.

The backend is chosen by a picklable factory so tests can run a backend that hangs
or crashes on demand, without any test hook in the production backend.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Protocol

from audio.errors import EngineError, EngineTimeout

log = logging.getLogger(__name__)


class SynthBackend(Protocol):
    """The part of an engine that runs inside the worker process."""

    def synthesize(self, text: str, voice: str, rate: int, out_path: Path, deadline: float) -> None:
        """Write a complete WAV to ``out_path``; give up when ``time.monotonic()``
        passes ``deadline``. Raise any exception to report failure."""
        ...


#: Must be picklable (a module-level class or function): it travels to the child.
BackendFactory = Callable[[], SynthBackend]

# The child gives up this much before the parent would kill it, so a stuck request
# usually ends with the backend's own explanation rather than a bare timeout.
_CHILD_DEADLINE_SHARE = 0.9


class BackendBroken(Exception):
    """Raised by a backend whose internal state can no longer be trusted.

    The worker reports it and exits; the next request starts a fresh process.
    """


@dataclass(frozen=True)
class _Job:
    text: str
    voice: str
    rate: int
    out_path: str
    timeout_s: float


@dataclass(frozen=True)
class _Reply:
    ok: bool
    error: str = ""
    fatal: bool = False  # the worker exits after sending this


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so neither Python prints nor C writes reach our stdout."""
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
    finally:
        os.close(devnull)


def _child_main(conn: Connection, factory: BackendFactory) -> None:
    """Entry point of the worker process: build the backend, then serve jobs."""
    _silence_stdout()
    try:
        backend = factory()
    except Exception as exc:  # report any start-up failure to the parent, then exit
        conn.send(_Reply(False, _describe(exc)))
        return
    conn.send(_Reply(True))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # parent went away
        if job is None:
            return
        deadline = time.monotonic() + job.timeout_s * _CHILD_DEADLINE_SHARE
        try:
            backend.synthesize(job.text, job.voice, job.rate, Path(job.out_path), deadline)
        except BackendBroken as exc:
            conn.send(_Reply(False, _describe(exc), fatal=True))
            return
        except Exception as exc:  # the parent decides what a failure means
            conn.send(_Reply(False, _describe(exc)))
        else:
            conn.send(_Reply(True))


class SynthWorker:
    """Parent-side handle of the worker process; thread-safe, one request at a time.

    The process starts lazily on the first request, so constructing a worker (and the
    engine and pipeline around it) starts nothing.
    """

    def __init__(
        self,
        factory: BackendFactory,
        *,
        start_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        poll_interval_s: float = 0.05,
        name: str = "loa-tts-worker",
    ) -> None:
        self._factory = factory
        self._start_timeout_s = start_timeout_s
        self._clock = clock
        self._poll_interval_s = poll_interval_s
        self._name = name
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None
        self._closed = False

    @property
    def pid(self) -> int | None:
        """PID of the running worker process, None when none is running."""
        proc = self._proc
        try:
            return proc.pid if proc is not None and proc.is_alive() else None
        except ValueError:  # closed by a concurrent _discard()
            return None

    def run(self, text: str, voice: str, rate: int, out_path: Path, *, timeout_s: float) -> None:
        """Have the backend write ``out_path``; raise EngineTimeout/EngineError on failure.

        Requests are serialised: the backend (pyttsx3) is not reentrant.
        """
        with self._lock:
            if self._closed:
                raise EngineError("speech worker is closed")
            conn = self._ensure_started()
            deadline = self._clock() + timeout_s
            try:
                conn.send(_Job(text, voice, rate, str(out_path), timeout_s))
            except OSError as exc:
                self._discard()
                raise EngineError(f"speech worker is gone: {exc}") from exc
            reply = self._wait(conn, deadline, f"synthesis timed out after {timeout_s:g} s")
            if reply.fatal:
                self._discard(exiting=True)
        if not reply.ok:
            raise EngineError(f"speech engine failed: {reply.error}")

    def close(self) -> None:
        """Stop the worker process (politely, then by force); idempotent."""
        with self._lock:
            self._closed = True
            conn, proc = self._conn, self._proc
            if conn is not None and proc is not None and proc.is_alive():
                try:
                    conn.send(None)
                    proc.join(timeout=2.0)
                except OSError:
                    pass
            self._discard()

    # --- internals (called with self._lock held) ---------------------------

    def _ensure_started(self) -> Connection:
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            return self._conn
        self._discard()
        parent_conn, child_conn = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=_child_main, args=(child_conn, self._factory), name=self._name, daemon=True
        )
        proc.start()
        child_conn.close()  # so a dead child shows up as EOF on our end
        self._proc, self._conn = proc, parent_conn
        reply = self._wait(
            parent_conn,
            self._clock() + self._start_timeout_s,
            f"speech worker did not start within {self._start_timeout_s:g} s",
        )
        if not reply.ok:
            self._discard()
            raise EngineError(f"speech worker could not start: {reply.error}")
        log.info("speech worker started (pid %s)", proc.pid)
        return parent_conn

    def _wait(self, conn: Connection, deadline: float, timeout_message: str) -> _Reply:
        """Wait for one reply; on timeout or crash the worker is killed and discarded."""
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                log.warning("%s; killing worker pid %s", timeout_message, self.pid)
                self._discard()
                raise EngineTimeout(timeout_message)
            if conn.poll(min(remaining, self._poll_interval_s)):
                try:
                    reply: _Reply = conn.recv()
                except (EOFError, OSError):
                    exitcode = None
                    if self._proc is not None:
                        self._proc.join(timeout=1.0)  # reap it so the exit code is known
                        exitcode = self._proc.exitcode
                    self._discard()
                    raise EngineError(f"speech worker crashed (exit code {exitcode})") from None
                return reply

    def _discard(self, *, exiting: bool = False) -> None:
        """Forget the current process, killing it if it still runs.

        ``exiting``: the worker announced it is exiting; give it a moment to do so.
        """
        conn, proc = self._conn, self._proc
        self._conn = self._proc = None
        if conn is not None:
            conn.close()
        if proc is not None:
            if exiting:
                proc.join(timeout=1.0)
            if proc.is_alive():
                proc.kill()  # SIGKILL: a wedged C call may never return to handle SIGTERM
            proc.join(timeout=5.0)
            if proc.exitcode is not None:
                proc.close()
