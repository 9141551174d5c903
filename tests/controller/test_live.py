"""The live change hub: threads publish, asyncio subscribers read, slow ones lose the oldest."""

from __future__ import annotations

import asyncio
import threading

import pytest

from controller.live import LiveEvent, LiveHub


def test_publish_from_a_thread_reaches_an_async_subscriber() -> None:
    hub = LiveHub()

    async def main() -> list[LiveEvent]:
        async with hub.subscribe() as sub:
            assert hub.subscribers == 1
            thread = threading.Thread(
                target=lambda: [hub.publish("node", {"id": f"dong-{i}"}) for i in range(3)], name="publisher"
            )
            thread.start()
            got = [await asyncio.wait_for(anext(sub), 5) for _ in range(3)]
            thread.join()
        assert hub.subscribers == 0
        return got

    got = asyncio.run(main())
    assert got == [LiveEvent("node", {"id": f"dong-{i}"}) for i in range(3)]


def test_slow_subscriber_drops_oldest_and_never_blocks_publishers() -> None:
    hub = LiveHub(buffer=3)

    async def main() -> tuple[list[int], int, list[int]]:
        slow = hub.subscribe()
        fast = hub.subscribe()
        for i in range(10):  # the loop is busy here: nobody reads while these arrive
            hub.publish("delivery", {"n": i})
        slow_got = [(await slow.get(1)).data["n"] for _ in range(3)]  # type: ignore[union-attr]
        assert await slow.get(0.05) is None  # nothing more: the 7 oldest were dropped
        fast_got = [(await fast.get(1)).data["n"] for _ in range(3)]  # type: ignore[union-attr]
        slow.close()
        fast.close()
        return slow_got, slow.dropped, fast_got

    slow_got, dropped, fast_got = asyncio.run(main())
    assert slow_got == [7, 8, 9] and dropped == 7
    assert fast_got == [7, 8, 9]


def test_closed_subscription_ends_iteration_and_dead_loops_are_forgotten() -> None:
    hub = LiveHub()

    async def reader() -> list[LiveEvent]:
        sub = hub.subscribe()
        hub.publish("node", {"id": "a"})
        out = []
        async for item in sub:
            out.append(item)
            sub.close()
        return out

    assert asyncio.run(reader()) == [LiveEvent("node", {"id": "a"})]

    async def leave_open() -> None:
        hub.subscribe()  # never closed: its loop ends with asyncio.run

    asyncio.run(leave_open())
    assert hub.subscribers == 1
    hub.publish("node", {"id": "b"})  # the closed loop refuses the wake-up: the subscriber is dropped
    hub.publish("node", {"id": "c"})
    assert hub.subscribers == 0


def test_buffer_must_hold_something() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LiveHub(buffer=0)
