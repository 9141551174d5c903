"""A tiny thread pool whose threads are started on demand and really stop.

concurrent.futures.ThreadPoolExecutor would do, except that its threads cannot be
joined with a deadline; an Agent must stop within seconds and leave no threads behind
(a benchmark runs a hundred agents in one process, tests check for leaked threads).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

Job = Callable[[], None]


class WorkerPool:
    def __init__(self, max_workers: int, name: str) -> None:
        self.max_workers = max(1, max_workers)
        self.name = name
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, job: Job) -> bool:
        """Queue a job; False once the pool is stopped."""
        with self._lock:
            if self._closed:
                return False
            if self._idle == 0 and len(self._threads) < self.max_workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            self._jobs.put(job)
            return True

    def stop(self, timeout: float = 2.0) -> None:
        """Drop queued jobs, let running ones finish (they should watch a stop event), join."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
        try:
            while True:
                self._jobs.get_nowait()
        except queue.Empty:
            pass
        for _ in threads:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("worker %s still busy after %.1fs", thread.name, timeout)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
            if job is None:
                return
            try:
                job()
            except Exception:  # noqa: BLE001 - one failed job must not kill the worker
                log.exception("background job failed")


__all__ = ["WorkerPool"]
