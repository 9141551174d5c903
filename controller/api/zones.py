"""`/api/v1/zones`: communes and hamlets (targets for announcements)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import select

from controller.api.deps import Page, SessionDep
from controller.models import Zone, ZonePublic

router = APIRouter(prefix="/zones", tags=["zones"])


@router.get("", response_model=Page[ZonePublic])
def list_zones(session: SessionDep) -> Page[ZonePublic]:
    zones = session.exec(select(Zone).order_by(Zone.id)).all()
    return Page(items=[ZonePublic.model_validate(z, from_attributes=True) for z in zones])
