"""The bounded queue between paho's network thread and the fleet ingest worker.

Why a queue at all: applying each node report in its own SQLite transaction made 200
nodes' `started` events take SQLite's write lock 200 times in a row, and an emergency
announcement's POST queued behind them (SQLite's busy handler backs off in sleeps of up
to 100 ms) for up to 1.8 s. The network thread now only parses and validates; one
worker drains the queue in batches, one transaction per batch.

Bounded, because a controller that cannot keep up must not grow without limit. What a
full queue does depends on what is lost:

* telemetry (QoS 0, sent again within a minute) is dropped at once, and counted;
* events, states and timelines are waited for (up to `block_s`): paho acknowledges a
  QoS 1 message only after the handler returns, so the wait slows the broker down
  instead of losing anything. Only after that wait is a report dropped, and every such
  drop is logged as an ERROR naming the node and the kind.

One worker, FIFO: reports of one node are applied in the order they arrived.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger("controller.fleet")

T = TypeVar("T")


class IngestQueue(Generic[T]):
    """FIFO with a size bound, batch takes and a way to wait until everything was applied."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._unfinished = 0
        self._closed = False
        self.dropped = 0
        """Reports refused because the queue stayed full."""

    def put(self, item: T, block_s: float = 0.0) -> bool:
        """Add `item`, waiting up to `block_s` for room; False when it was refused."""
        deadline = time.monotonic() + block_s
        with self._cond:
            while len(self._items) >= self.maxsize and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.dropped += 1
                    return False
                self._cond.wait(left)
            if self._closed:
                self.dropped += 1
                return False
            self._items.append(item)
            self._unfinished += 1
            self._cond.notify_all()
            return True

    def take(self, max_items: int, timeout: float) -> list[T]:
        """Up to `max_items` reports, waiting up to `timeout` for the first; [] when closed and empty."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._items and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self._cond.wait(left)
            batch = [self._items.popleft() for _ in range(min(max_items, len(self._items)))]
            if batch:
                self._cond.notify_all()  # room for a blocked producer
            return batch

    def done(self, count: int) -> None:
        """Mark `count` taken reports as applied (or given up on)."""
        with self._cond:
            self._unfinished -= count
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every report put so far was applied; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._unfinished > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def close(self) -> None:
        """Refuse new reports; `take` returns what is left, then []."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)


class IngestWorker(Generic[T]):
    """One thread applying batches from an `IngestQueue` until stopped (draining it first)."""

    def __init__(self, queue: IngestQueue[T], apply: Callable[[list[T]], None], batch_max: int,
                 name: str = "fleet-ingest") -> None:  # fmt: skip
        self.queue = queue
        self.apply = apply
        self.batch_max = batch_max
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._stopping = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Refuse new reports, apply the queued ones, and end the thread."""
        self._stopping.set()
        self.queue.close()
        if self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("fleet ingest worker did not stop within %.0f s; %d report(s) left", timeout, len(self.queue))

    def _run(self) -> None:
        while True:
            batch = self.queue.take(self.batch_max, timeout=0.5)
            if not batch:
                if self._stopping.is_set():
                    return
                continue
            try:
                self.apply(batch)
            except Exception:  # the worker must outlive any one bad batch
                log.exception("applying %d node report(s) failed", len(batch))
            finally:
                self.queue.done(len(batch))


__all__ = ["IngestQueue", "IngestWorker"]
