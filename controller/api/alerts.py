"""`/api/v1/alerts`: offline alerts for the technicians (see controller/alerts.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from controller.alerts import alert_history
from controller.api.deps import Page, SessionDep
from controller.models import AlertPublic

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get("", response_model=Page[AlertPublic])
def list_alerts(
    session: SessionDep,
    open: Annotated[bool | None, Query(description="true: only open alerts; false: only closed ones")] = None,
    node: Annotated[str | None, Query(max_length=63, description="only this node's alerts")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[AlertPublic]:
    return Page(items=alert_history(session, node_id=node, is_open=open, limit=limit))
