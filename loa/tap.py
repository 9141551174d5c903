"""An MQTT client that records every node event through the real protocol (tests, benchmarks)."""

from __future__ import annotations

import threading
import time

from loa.stack import Stack
from protocol import topics
from protocol.base import decode
from protocol.reports import NodeEvent


class EventTap:
    def __init__(self, stack: Stack) -> None:
        self.events: list[NodeEvent] = []
        self._cond = threading.Condition()
        self.link = stack.controller_link("test-tap", keepalive=5)
        self.link.subscribe(topics.ALL_EVENTS, self._on_event)

    def _on_event(self, topic: str, payload: bytes) -> None:
        event = decode(NodeEvent, payload)
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def start(self) -> None:
        self.link.start()
        if not self.link.wait_connected(10):
            raise RuntimeError("event tap could not connect")

    def stop(self) -> None:
        self.link.stop()

    def of(self, node: str, announcement: int | None = None) -> list[str]:
        with self._cond:
            return [
                e.event.value
                for e in self.events
                if e.node == node and (announcement is None or e.announcement == announcement)
            ]

    def events_for(self, announcement: int) -> list[NodeEvent]:
        with self._cond:
            return [e for e in self.events if e.announcement == announcement]

    def wait_for(self, node: str, event: str, announcement: int | None = None, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while event not in self.of(node, announcement):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True
