"""`/api/v1/zones`: communes and hamlets (targets for announcements), their programme, stop."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from controller.api.deps import CtxDep, Page, SessionDep
from controller.models import Slug, Zone, ZonePublic
from controller.programme import Programme, ProgrammeError, zone_programme
from controller.revisions import NotFound, stop_zones
from protocol.signing import Signer

router = APIRouter(prefix="/zones", tags=["zones"])


@router.get("", response_model=Page[ZonePublic])
def list_zones(session: SessionDep) -> Page[ZonePublic]:
    zones = session.exec(select(Zone).order_by(Zone.id)).all()
    return Page(items=[ZonePublic.model_validate(z, from_attributes=True) for z in zones])


class StopRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zones: list[Slug] = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=200)


class StopSent(BaseModel):
    zone: str
    topic: str
    command_id: str


class StopAnswer(BaseModel):
    commands: list[StopSent]


@router.post("/stop", response_model=StopAnswer)
async def stop(body: StopRequest, ctx: CtxDep) -> StopAnswer:
    """Stop what these zones play right now (a signed `stop` per zone topic); staged plays stay.

    422 for unknown zones, 503 when publishing fails.
    """
    signer: Signer = ctx.announcer.signer
    try:
        sent = await run_in_threadpool(
            stop_zones, ctx.engine, signer, ctx.publisher, ctx.clock(), body.zones, body.reason
        )
    except NotFound as exc:
        raise HTTPException(422, str(exc)) from None
    except RuntimeError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    zones = list(dict.fromkeys(body.zones))
    return StopAnswer(
        commands=[StopSent(zone=z, topic=c.topic, command_id=c.command.id) for z, c in zip(zones, sent, strict=True)]
    )


@router.get("/{zone}/programme", response_model=Programme)
def programme(
    zone: Annotated[str, Path(max_length=63)],
    session: SessionDep,
    start: Annotated[date, Query(alias="from", description="First day (Asia/Ho_Chi_Minh), YYYY-MM-DD.")],
    days: Annotated[int, Query(ge=1, le=7)] = 1,
) -> Programme:
    """Every play heard in the zone (announcements targeting it, its ancestors or its
    descendants) over `days` local days, in priority order (`schedules.priority.order_plays`)."""
    try:
        return zone_programme(session, zone, start, days)
    except ProgrammeError as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
