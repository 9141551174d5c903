"""`/healthz`: is the database reachable and the MQTT link up? For systemd, probes, humans."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from controller.api.deps import CtxDep
from controller.db import check_db

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(ctx: CtxDep) -> JSONResponse:
    """200 when everything is fine, 503 (same body) when the database or MQTT is down."""
    db_ok = await run_in_threadpool(check_db, ctx.engine)
    mqtt = ctx.mqtt_connected()
    healthy = db_ok and mqtt is not False
    body = {"status": "ok" if healthy else "degraded", "db": db_ok, "mqtt": mqtt}
    return JSONResponse(body, status_code=200 if healthy else 503)
