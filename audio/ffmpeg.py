"""One place that runs ffmpeg, so every call gets a timeout and a readable error.

pydub shells out to ffmpeg without a timeout; our own calls (measuring, limiting,
encoding) go through this module so a wedged ffmpeg cannot block a render forever.

Starting ffmpeg costs about 70 ms of CPU before it reads a byte (it links some 200
shared libraries), which is as much as limiting a minute of speech. A render
therefore *starts* the processes it will need as soon as it knows it needs them
(:func:`start_ffmpeg`) and feeds them later: the start-up then overlaps speech
synthesis instead of sitting on the critical path. Their arguments must not depend
on the audio, which is why the mastering steps take their per-render settings in
the data (a WAV header, a pre-scaled signal) rather than on the command line.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from types import TracebackType

from audio.errors import AudioError

DEFAULT_TIMEOUT_S = 120.0


def ffmpeg_binary() -> str:
    """Locate ffmpeg at call time (not import time) so a missing binary fails clearly."""
    path = shutil.which("ffmpeg")
    if path is None:
        raise AudioError("ffmpeg is not installed (Debian package 'ffmpeg')")
    return path


class FfmpegJob:
    """An ffmpeg process started now, whose input is supplied later by :meth:`finish`.

    Input comes on stdin, output goes to stdout, stderr is collected (ebur128 prints
    its summary there). Not thread-safe: one job belongs to one render. Use it as a
    context manager, or call :meth:`cancel`, so an unused job never outlives its
    render.
    """

    def __init__(self, args: Sequence[str]) -> None:
        self.args = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-nostats", *args]
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                self.args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise AudioError(f"cannot run ffmpeg: {exc}") from exc

    @property
    def pid(self) -> int | None:
        """The process id while the job is unused (for health checks and tests)."""
        return self._proc.pid if self._proc is not None else None

    def _take(self) -> subprocess.Popen[bytes]:
        """Hand the process over to one user (finish or a chain)."""
        proc = self._proc
        if proc is None:
            raise AudioError("ffmpeg job was already used")
        self._proc = None
        return proc

    def finish(
        self, stdin: bytes, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> subprocess.CompletedProcess[bytes]:
        """Send ``stdin``, wait for ffmpeg to exit; raise AudioError on failure.

        Writing and reading happen together (``communicate``), so neither side
        blocks on a full pipe whatever the sizes.
        """
        proc = self._take()
        try:
            out, err = proc.communicate(stdin, timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            _kill(proc)
            raise AudioError(f"ffmpeg did not finish within {timeout_s:.0f} s") from exc
        except BaseException:
            _kill(proc)
            raise
        if proc.returncode != 0:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise AudioError(f"ffmpeg failed (exit {proc.returncode}): {' | '.join(tail)}")
        return subprocess.CompletedProcess(self.args, proc.returncode, out, err)

    def cancel(self) -> None:
        """Kill the process if it is still unused; idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _kill(proc)

    def __enter__(self) -> FfmpegJob:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL, reap, and close the pipes (no zombie, no ResourceWarning)."""
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(OSError, ValueError, subprocess.TimeoutExpired):
        proc.communicate(timeout=5.0)
    _close_pipes(proc)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5.0)


def finish_chained(
    first: FfmpegJob,
    second: FfmpegJob,
    stdin: bytes,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> tuple[subprocess.CompletedProcess[bytes], subprocess.CompletedProcess[bytes]]:
    """Run ``first`` on ``stdin`` and stream its output into ``second`` as it comes.

    Both processes work at once (on two cores: the second, e.g. a decoder checking
    an encoder's output, finishes moments after the first). Returns both results;
    ``first``'s stdout is collected whole. Raises AudioError if either fails.
    """
    one, two = first._take(), second._take()
    chunks: list[bytes] = []
    errors: dict[str, bytes] = {}
    failures: list[BaseException] = []

    def feed() -> None:
        assert one.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            one.stdin.write(stdin)
        with contextlib.suppress(OSError):
            one.stdin.close()

    def relay() -> None:
        assert one.stdout is not None and two.stdin is not None
        downstream_open = True
        try:
            while block := one.stdout.read1(1 << 16):
                chunks.append(block)
                if downstream_open:
                    try:
                        two.stdin.write(block)
                    except (BrokenPipeError, OSError):
                        downstream_open = False  # the checker died; its exit code tells
        except BaseException as exc:  # reported by the caller
            failures.append(exc)
        finally:
            with contextlib.suppress(OSError):
                two.stdin.close()

    def drain(name: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        errors[name] = proc.stderr.read()
        if proc.stdout is not None and proc is two:
            proc.stdout.read()

    threads = [
        threading.Thread(target=feed, name="ffmpeg-feed", daemon=True),
        threading.Thread(target=relay, name="ffmpeg-relay", daemon=True),
        threading.Thread(target=drain, args=("one", one), name="ffmpeg-err1", daemon=True),
        threading.Thread(target=drain, args=("two", two), name="ffmpeg-err2", daemon=True),
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout_s
    try:
        for proc in (one, two):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                raise subprocess.TimeoutExpired(first.args, timeout_s)
    except BaseException as exc:
        for proc in (one, two):
            with contextlib.suppress(OSError):
                proc.kill()
        for proc in (one, two):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5.0)
        for thread in threads:
            thread.join(timeout=5.0)
        _close_pipes(one)
        _close_pipes(two)
        if isinstance(exc, subprocess.TimeoutExpired):
            raise AudioError(f"ffmpeg did not finish within {timeout_s:.0f} s") from exc
        raise
    _close_pipes(one)
    _close_pipes(two)
    if failures:
        raise AudioError(f"reading ffmpeg's output failed: {failures[0]}")
    results = []
    for name, job, proc, out in (("one", first, one, b"".join(chunks)), ("two", second, two, b"")):
        err = errors.get(name, b"")
        if proc.returncode != 0:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise AudioError(f"ffmpeg failed (exit {proc.returncode}): {' | '.join(tail)}")
        results.append(subprocess.CompletedProcess(job.args, proc.returncode, out, err))
    return results[0], results[1]


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def start_ffmpeg(args: Sequence[str]) -> FfmpegJob:
    """Start ffmpeg with ``args`` now (reading stdin, writing stdout); feed it later."""
    return FfmpegJob(args)


def run_ffmpeg(
    args: Sequence[str], *, stdin: bytes | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with ``args``; raise AudioError with the tail of stderr on failure."""
    with start_ffmpeg(args) as job:
        return job.finish(stdin if stdin is not None else b"", timeout_s=timeout_s)
