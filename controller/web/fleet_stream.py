"""The dashboard's live feed: `GET /ui/fleet/stream`, server-sent events over the live hub.

Why server-sent events: the browser's `EventSource` reconnects by itself, works through
the same session cookie as the pages, and one direction (server → page) is all the
dashboard needs. Each stream is one `LiveHub` subscription on the event loop — no
thread, no task of its own — and sends:

- `node`: a node's row as `fleet_format.row_view` formats it (in the user's language);
- `alerts`: the open offline alerts, whenever they differ from what the page was sent;
- `resync`: the subscriber fell behind and changes were dropped — the page reloads;
- a comment line every `HEARTBEAT_S`, so proxies and the browser see the line is alive.

A stream ends when the client goes away (Starlette cancels it on `http.disconnect`),
after `MAX_STREAM_S` (the browser reconnects at once; this bounds how long a stream
can hold up a server that is stopping), and when the app shuts down: the router's
lifespan closes every open subscription, which wakes each stream to finish.

Note on uvicorn: on SIGTERM it first waits for open responses to finish and only then
runs the lifespan shutdown, so under uvicorn it is `MAX_STREAM_S` — or uvicorn's
`timeout_graceful_shutdown`, which cancels the stream (its `finally` still closes the
subscription) — that bounds the wait, not the lifespan hook.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import StreamingResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from controller.accounts.roles import Perm
from controller.alerts import open_alerts
from controller.api.deps import CtxDep
from controller.context import AppContext
from controller.live import Subscription
from controller.web.deps import WebUser, require
from controller.web.fleet import alert_items
from controller.web.fleet_format import row_view
from controller.web.i18n import translator

HEARTBEAT_S = 15.0
"""Seconds between keep-alive comments when nothing changes."""
ALERTS_EVERY_S = 5.0
"""At most this often the open alerts are re-read (on a change or a heartbeat)."""
MAX_STREAM_S = 600.0
"""A stream ends after this long; `EventSource` reconnects (after `RETRY_MS`)."""
RETRY_MS = 2000


class OpenStreams:
    """The subscriptions of the streams now open, so shutdown can end them all."""

    def __init__(self) -> None:
        self.subs: set[Subscription] = set()
        self.closing = False

    def close_all(self) -> None:
        self.closing = True
        for sub in list(self.subs):
            sub.close()


def open_streams(app: Any) -> OpenStreams:
    streams = getattr(app.state, "fleet_streams", None)
    if streams is None:
        streams = app.state.fleet_streams = OpenStreams()
    return streams


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Merged into the app's lifespan (FastAPI does this for included routers): at shutdown,
    before the app's own parts close, every open stream is told to finish."""
    streams = open_streams(app)
    streams.closing = False
    try:
        yield
    finally:
        streams.close_all()


router = APIRouter(include_in_schema=False, lifespan=lifespan)

Viewer = Annotated[WebUser, require(Perm.FLEET_VIEW)]


def sse(event: str, data: Any) -> str:
    """One event in the wire format (JSON never holds a raw newline, so one `data:` line)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def _alerts(ctx: AppContext) -> list[dict[str, str]]:
    with Session(ctx.engine) as session:
        return alert_items(open_alerts(session))


async def events(request: Request, ctx: AppContext, me: WebUser) -> AsyncIterator[str]:
    streams = open_streams(request.app)
    if streams.closing:
        return
    t = translator(me.lang)
    loop = asyncio.get_running_loop()
    sub = ctx.hub.subscribe()
    streams.subs.add(sub)
    try:
        yield f"retry: {RETRY_MS}\n: {me.username} connected\n\n"
        sent_alerts = await run_in_threadpool(_alerts, ctx)
        yield sse("alerts", sent_alerts)
        end = loop.time() + MAX_STREAM_S
        alerts_due = loop.time() + ALERTS_EVERY_S
        dropped = sub.dropped
        while not streams.closing:
            left = end - loop.time()
            if left <= 0:
                break
            event = await sub.get(timeout=min(HEARTBEAT_S, left))
            if event is None and streams.closing:
                break
            if sub.dropped != dropped:
                yield sse("resync", {"dropped": sub.dropped - dropped})
                break  # the page reloads; a fresh stream starts from the new page
            if event is None:
                yield ": keep-alive\n\n"
            elif event.kind == "node":
                yield sse("node", row_view(event.data, ctx.clock(), t, me.lang))
            if event is None or event.kind == "node":
                if loop.time() >= alerts_due:
                    alerts_due = loop.time() + ALERTS_EVERY_S
                    now_alerts = await run_in_threadpool(_alerts, ctx)
                    if now_alerts != sent_alerts:
                        sent_alerts = now_alerts
                        yield sse("alerts", now_alerts)
    finally:
        sub.close()
        streams.subs.discard(sub)


@router.get("/ui/fleet/stream")
async def fleet_stream(request: Request, ctx: CtxDep, me: Viewer) -> StreamingResponse:
    return StreamingResponse(
        events(request, ctx, me),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


__all__ = ["ALERTS_EVERY_S", "HEARTBEAT_S", "MAX_STREAM_S", "OpenStreams", "events", "open_streams", "router", "sse"]
