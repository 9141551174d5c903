"""`/api/v1/relays`: schedule a live stream relay (tiếp sóng) on zones, list, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from controller.api.deps import CtxDep, Page
from controller.context import AppContext
from controller.models import Relay, RelayCreate, RelayPublic
from controller.relays import RelayError, cancel_relay, relay_public, schedule_relay

router = APIRouter(prefix="/relays", tags=["relays"])

MAX_ID = 2**63 - 1


def _create(ctx: AppContext, body: RelayCreate) -> RelayPublic:
    relay = schedule_relay(ctx, body)
    with Session(ctx.engine) as session:
        stored = session.get(Relay, relay.id)
        assert stored is not None
        return relay_public(session, stored, with_deliveries=True)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RelayPublic)
async def create(body: RelayCreate, ctx: CtxDep) -> RelayPublic:
    """Relay the stream at `url` on the target zones from `start_at` to `end_at` (≤ 6 h).

    Published `LOA_STAGE_AHEAD_S` before `start_at` (at once when that is sooner). 422
    for a non-http(s) URL, end ≤ start, a window over 6 h, a start in the past (beyond
    `LOA_SCHEDULE_GRACE_S`) or unknown zones.
    """
    try:
        return await run_in_threadpool(_create, ctx, body)
    except RelayError as exc:
        raise HTTPException(exc.status_code, exc.detail) from None


@router.get("", response_model=Page[RelayPublic], response_model_exclude_none=True)
def list_relays(
    ctx: CtxDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Page[RelayPublic]:
    """Latest start first, with per-state delivery counts (`summary`)."""
    with Session(ctx.engine) as session:
        rows = session.exec(
            select(Relay).order_by(col(Relay.start_at).desc(), col(Relay.id).desc()).offset(offset).limit(limit)
        ).all()
        return Page(items=[relay_public(session, r) for r in rows])


@router.get("/{relay_id}", response_model=RelayPublic)
def get_relay(relay_id: Annotated[int, Path(ge=1, le=MAX_ID)], ctx: CtxDep) -> RelayPublic:
    with Session(ctx.engine) as session:
        relay = session.get(Relay, relay_id)
        if relay is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"relay {relay_id} not found")
        return relay_public(session, relay, with_deliveries=True)


def _cancel(ctx: AppContext, relay_id: int) -> RelayPublic:
    with ctx.dispatcher.lock:
        cancel_relay(ctx.engine, ctx.dispatcher.signer, ctx.publisher, ctx.clock(), relay_id)
    with Session(ctx.engine) as session:
        stored = session.get(Relay, relay_id)
        assert stored is not None
        return relay_public(session, stored, with_deliveries=True)


@router.post("/{relay_id}/cancel", response_model=RelayPublic)
async def cancel(relay_id: Annotated[int, Path(ge=1, le=MAX_ID)], ctx: CtxDep) -> RelayPublic:
    """Cancel: not dispatched any more; nodes holding it get a signed `cancel` (it stops if
    on air, reported `cancelled`). Idempotent; 404 for an unknown id."""
    try:
        return await run_in_threadpool(_cancel, ctx, relay_id)
    except RelayError as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
