"""The dashboard's event stream: node changes arrive, alerts follow, and nothing outlives the stream.

TestClient (and httpx's ASGI transport) collect a whole response before returning it, and
an event stream never ends by itself; so these tests call the ASGI app directly on the
test app's own event loop (the TestClient's portal), read what it sends as it sends it,
and disconnect like a browser closing the tab. Every wait is bounded by a timeout.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from controller.accounts.roles import Role
from controller.alerts import check_alerts
from controller.app import create_app
from controller.settings import ControllerSettings
from controller.web import fleet_stream
from controller.web.security import SESSION_COOKIE
from protocol.reports import NodeState, NodeStatus
from protocol.topics import node_state
from tests.controller.conftest import AUTH, Env
from tests.controller.factories import FakeClock, FakePipeline, FakePublisher, seed_province
from tests.controller.web.conftest import Web, WebClient

TIMEOUT = 10.0


@dataclass
class Stream:
    """What one open stream has sent so far, readable event by event."""

    chunks: Any
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""
    pos: int = 0

    async def _more(self) -> None:
        with anyio.fail_after(TIMEOUT):
            self.text += (await self.chunks.receive()).decode()

    async def wait_for(self, needle: str) -> str:
        """Read until `needle` appears after what was consumed; returns the text up to it."""
        while needle not in self.text[self.pos:]:
            await self._more()
        end = self.text.index(needle, self.pos) + len(needle)
        seen, self.pos = self.text[self.pos:end], end
        return seen

    async def event(self, kind: str, match: Callable[[Any], bool] = lambda _d: True) -> Any:
        """The next `kind` event whose data satisfies `match`."""
        while True:
            await self.wait_for(f"event: {kind}\n")
            data = json.loads((await self.wait_for("\n\n")).removeprefix("data: ").strip())
            if match(data):
                return data


def _scope(client: WebClient, path: str = "/ui/fleet/stream") -> dict[str, Any]:
    cookie = f"{SESSION_COOKIE}={client.session_token}".encode()
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "https",
        "server": ("testserver", 443), "client": ("127.0.0.1", 50000), "path": path, "raw_path": path.encode(),
        "query_string": b"", "root_path": "", "state": {},
        "headers": [(b"host", b"testserver"), (b"cookie", cookie), (b"accept", b"text/event-stream")],
    }  # fmt: skip


@asynccontextmanager
async def open_stream(app: Any, client: WebClient) -> AsyncIterator[Stream]:
    """The stream as `client`; leaving the block disconnects and waits for the app to finish."""
    send_chunk, chunks = anyio.create_memory_object_stream[bytes](1000)
    stream = Stream(chunks)
    gone = anyio.Event()
    started = anyio.Event()

    async def receive() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            stream.status = message["status"]
            stream.headers = {k.decode(): v.decode() for k, v in message["headers"]}
            started.set()
        elif message.get("body"):
            await send_chunk.send(message["body"])

    done = anyio.Event()

    async def call() -> None:
        await app(_scope(client), receive, send)
        done.set()

    async with send_chunk, chunks, anyio.create_task_group() as tasks:
        tasks.start_soon(call)
        with anyio.fail_after(TIMEOUT):
            await started.wait()
        yield stream
        gone.set()
        with anyio.fail_after(TIMEOUT):  # the app must end the response once the client is gone
            await done.wait()


def _run(env: Env, scenario: Callable[[], Awaitable[None]]) -> None:
    portal = env.client.portal
    assert portal is not None
    portal.call(scenario)


def _state(env: Env, node_id: str, status: NodeStatus) -> Callable[[], None]:
    at = env.clock() if status is NodeStatus.ONLINE else None
    return lambda: env.ctx.fleet.on_state(node_state(node_id), NodeState(state=status, at=at).to_json())


def test_node_going_offline_reaches_the_stream_and_the_subscription_ends_with_it(web: Web) -> None:
    env = web.env
    app = env.client.app

    async def scenario() -> None:
        async with open_stream(app, web.viewer) as stream:
            assert stream.status == 200 and stream.headers["content-type"].startswith("text/event-stream")
            assert "retry: " in await stream.wait_for("connected\n\n")
            assert await stream.event("alerts") == []
            assert env.ctx.hub.subscribers == 1
            await anyio.to_thread.run_sync(_state(env, "dong-1", NodeStatus.ONLINE))
            up = await stream.event("node", lambda d: d["id"] == "dong-1")
            assert up["online"] is True and up["fields"]["status"] == "Trực tuyến"
            await anyio.to_thread.run_sync(_state(env, "dong-1", NodeStatus.OFFLINE))
            down = await stream.event("node", lambda d: d["id"] == "dong-1")
            assert down["online"] is False and down["status"] == "offline"
            assert down["fields"]["status"] == "Mất kết nối" and down["fields"]["last_seen"] == "01/07/2025 15:00"
        assert env.ctx.hub.subscribers == 0
        assert fleet_stream.open_streams(app).subs == set()

    _run(env, scenario)


def test_alerts_and_heartbeats_are_sent(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fleet_stream, "HEARTBEAT_S", 0.05)
    monkeypatch.setattr(fleet_stream, "ALERTS_EVERY_S", 0.0)
    env = web.env
    settings = env.ctx.settings

    def open_alert() -> None:
        _state(env, "tay-1", NodeStatus.ONLINE)()
        _state(env, "tay-1", NodeStatus.OFFLINE)()
        env.clock.advance(settings.alert_offline_after_s + 1)
        with Session(env.ctx.engine) as session:
            check_alerts(session, env.clock(), settings.alert_offline_after_s)

    async def scenario() -> None:
        async with open_stream(env.client.app, web.technician) as stream:
            assert await stream.event("alerts") == []
            await stream.wait_for(": keep-alive\n\n")
            await anyio.to_thread.run_sync(open_alert)
            alerts = await stream.event("alerts", bool)
            assert alerts == [{"node_id": "tay-1", "node_name": "Cụm loa đầu thôn", "since": "01/07/2025 15:00"}]

    _run(env, scenario)


def test_a_subscriber_that_fell_behind_is_told_to_reload(web: Web) -> None:
    env = web.env

    async def scenario() -> None:
        async with open_stream(env.client.app, web.viewer) as stream:
            await stream.event("alerts")
            (sub,) = fleet_stream.open_streams(env.client.app).subs
            sub.dropped += 1  # as LiveHub does when the buffer overflows
            env.ctx.hub.publish("node", {"id": "dong-1", "online": True})
            assert await stream.event("resync") == {"dropped": 1}
        assert env.ctx.hub.subscribers == 0

    _run(env, scenario)


def test_shutdown_ends_open_streams(settings: ControllerSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Leaving the app (lifespan shutdown) ends a stream nobody disconnected."""
    monkeypatch.setattr(fleet_stream, "MAX_STREAM_S", 3 * TIMEOUT)  # a broken shutdown still ends, later
    publisher, clock = FakePublisher(), FakeClock()
    app = create_app(settings, pipeline=FakePipeline(settings.state_dir / "audio"), publisher=publisher, clock=clock)
    connected, finished = threading.Event(), threading.Event()
    client = TestClient(app, headers=AUTH)
    client.__enter__()
    try:
        with Session(app.state.ctx.engine) as session:
            seed_province(session)
        web = Web(Env(client, app.state.ctx, publisher, FakePipeline(settings.state_dir / "a2"), clock, {}))
        web.add_user("bich", Role.VIEWER)
        viewer = web.login("bich")

        async def reader() -> str:
            received: list[bytes] = []

            async def receive() -> dict[str, Any]:
                await anyio.sleep_forever()
                return {}

            async def send(message: dict[str, Any]) -> None:
                if message.get("body"):
                    received.append(message["body"])
                    connected.set()

            await app(_scope(viewer), receive, send)
            finished.set()
            return b"".join(received).decode()

        assert client.portal is not None
        future = client.portal.start_task_soon(reader)
        assert connected.wait(TIMEOUT)
    finally:
        closer = threading.Thread(target=client.__exit__, args=(None, None, None), name="app-shutdown")
        closer.start()
        closer.join(TIMEOUT)
    assert not closer.is_alive(), "the app did not shut down: an open event stream held it"
    assert finished.is_set() and "connected" in future.result(0)
