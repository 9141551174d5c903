"""Live changes for the web dashboard: a hub any thread publishes to, asyncio subscribers read.

Why a hub of its own: the changes happen on threads (the fleet ingest worker, API
handlers in the thread pool) while the dashboard's server-sent-events endpoint runs on
the asyncio loop. A publisher must never wait for a browser: each subscriber has a
small bounded buffer, and when a slow (or vanished) subscriber lets it fill, the oldest
change is dropped and counted. A dashboard that missed changes reloads its view; a
node report that waits for a browser would be a fleet that lags behind reality.

Kinds published today: `node` (`id`, `online`, `last_seen` ISO, `telemetry`,
`agent_version`) and `delivery` (`announcement_id`, `node_id`, `state`), both by the
ingest worker after each committed batch.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_BUFFER = 256
"""Changes one subscriber may lag behind before the oldest are dropped."""


@dataclass(frozen=True)
class LiveEvent:
    """One change: what kind of thing changed, and its new public view."""

    kind: str
    data: dict[str, Any]


class Subscription:
    """An async iterator of `LiveEvent`s for one subscriber; close it (or use `async with`)."""

    def __init__(self, hub: LiveHub, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self._hub = hub
        self._loop = loop
        self._items: deque[LiveEvent] = deque()
        self._size = size
        self._lock = threading.Lock()
        self._wake = asyncio.Event()
        self._wake_pending = False
        self._closed = False
        self.dropped = 0
        """Changes dropped because this subscriber fell behind (oldest first)."""

    # -- publisher side (any thread) ------------------------------------------------------

    def _offer(self, event: LiveEvent) -> bool:
        """Buffer `event`; False when the subscriber is gone (its loop closed)."""
        with self._lock:
            if self._closed:
                return False
            if len(self._items) >= self._size:
                self._items.popleft()
                self.dropped += 1
            self._items.append(event)
            if self._wake_pending:
                return True
            self._wake_pending = True
        try:
            self._loop.call_soon_threadsafe(self._set_wake)
        except RuntimeError:  # the subscriber's loop is closed: it will never read again
            return False
        return True

    def _set_wake(self) -> None:
        with self._lock:
            self._wake_pending = False
        self._wake.set()

    # -- subscriber side (its asyncio loop) -----------------------------------------------

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> LiveEvent:
        while True:
            with self._lock:
                if self._items:
                    return self._items.popleft()
                if self._closed:
                    raise StopAsyncIteration
                self._wake.clear()
            await self._wake.wait()

    async def get(self, timeout: float | None = None) -> LiveEvent | None:
        """The next change, or None after `timeout` seconds (an SSE endpoint's keep-alive tick)."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except (TimeoutError, StopAsyncIteration):
            return None

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._hub._remove(self)
        try:  # wake a reader parked in __anext__ so it sees the end
            self._loop.call_soon_threadsafe(self._wake.set)
        except RuntimeError:  # loop already closed: nobody is waiting
            pass

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.close()


class LiveHub:
    """Fan-out of changes to every current subscriber (see the module docstring)."""

    def __init__(self, buffer: int = DEFAULT_BUFFER) -> None:
        if buffer < 1:
            raise ValueError("buffer must be at least 1")
        self._buffer = buffer
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Hand a change to every subscriber; never blocks, callable from any thread."""
        event = LiveEvent(kind, data)
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            if not sub._offer(event):
                self._remove(sub)

    def subscribe(self) -> Subscription:
        """A new subscription on the running asyncio loop (call it from a coroutine)."""
        sub = Subscription(self, asyncio.get_running_loop(), self._buffer)
        with self._lock:
            self._subs.append(sub)
        return sub

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)


__all__ = ["DEFAULT_BUFFER", "LiveEvent", "LiveHub", "Subscription"]
