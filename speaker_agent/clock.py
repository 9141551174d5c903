"""The node's sense of time, injectable so timing can be tested without sleeping.

Plays start from the node's own (NTP-disciplined) wall clock, so `now()` is wall-clock
UTC. Waiting goes through the clock too: the real clock waits on a threading.Event
(woken early when the timeline changes), a manual clock lets a test move time forward
by hand and have every waiter notice.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """Block until `event` is set (return True) or `timeout` clock-seconds pass (False)."""
        ...


class SystemClock:
    """Wall clock for timestamps; Event.wait (monotonic, sub-millisecond) for waiting."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        if timeout is not None and timeout <= 0:
            return event.is_set()
        return event.wait(timeout)


class ManualClock:
    """A clock that only moves when told to; for tests and simulations.

    Waiters poll their event every couple of real milliseconds (an Event cannot notify a
    Condition), and wake at once when `advance` or `set` moves time past their deadline.
    """

    def __init__(self, start: datetime | None = None, poll_s: float = 0.002) -> None:
        self._now = (start or datetime(2025, 1, 1, 6, 0, tzinfo=UTC)).astimezone(UTC)
        self._cond = threading.Condition()
        self._poll_s = poll_s
        self.waiting = 0
        """How many threads are blocked in wait() right now (lets a test know who is idle)."""

    def now(self) -> datetime:
        with self._cond:
            return self._now

    def advance(self, seconds: float | timedelta) -> datetime:
        delta = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        with self._cond:
            self._now += delta
            self._cond.notify_all()
            return self._now

    def set(self, when: datetime) -> None:
        with self._cond:
            self._now = when.astimezone(UTC)
            self._cond.notify_all()

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        with self._cond:
            deadline = None if timeout is None else self._now + timedelta(seconds=max(timeout, 0))
            self.waiting += 1
            try:
                while True:
                    if event.is_set():
                        return True
                    if deadline is not None and self._now >= deadline:
                        return False
                    self._cond.wait(self._poll_s)
            finally:
                self.waiting -= 1


__all__ = ["Clock", "ManualClock", "SystemClock"]
