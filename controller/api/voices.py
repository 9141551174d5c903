"""`/api/v1/voices`: the voices the running engine offers, for the web form's picker."""

from __future__ import annotations

from fastapi import APIRouter

from controller.api.deps import CtxDep, Page
from controller.models import VoicePublic

router = APIRouter(prefix="/voices", tags=["voices"])


@router.get("", response_model=Page[VoicePublic])
def list_voices(ctx: CtxDep) -> Page[VoicePublic]:
    """Every voice an announcement may name; the first is the default. With the espeak-ng
    fallback on, its voices are listed too (engine `espeak-ng`)."""
    return Page(items=[VoicePublic(id=v.id, label=v.label, region=v.region, engine=v.engine) for v in ctx.voices])
