"""Dependencies shared by the routers, as `Annotated` aliases (`SessionDep`, `AnnouncerDep`...).

Everything comes from `request.app.state.ctx`, set by the lifespan: nothing here is
global, so several apps (tests) can run side by side in one process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlmodel import Session

from controller.announce import Announcer
from controller.context import AppContext

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]


def get_ctx(request: Request) -> AppContext:
    ctx = getattr(request.app.state, "ctx", None)
    if ctx is None:  # only if the app is used without its lifespan
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "controller is not started")
    return ctx


CtxDep = Annotated[AppContext, Depends(get_ctx)]


def get_session(ctx: CtxDep) -> Iterator[Session]:
    with Session(ctx.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_announcer(ctx: CtxDep) -> Announcer:
    return ctx.announcer


AnnouncerDep = Annotated[Announcer, Depends(get_announcer)]

_bearer = HTTPBearer(auto_error=False, description="API token from LOA_API_TOKENS")


def require_token(
    ctx: CtxDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """401 unless `Authorization: Bearer <token>` carries a configured token."""
    if not ctx.token_ok(credentials.credentials if credentials is not None else None):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


__all__ = ["AnnouncerDep", "CtxDep", "Page", "SessionDep", "get_ctx", "get_session", "require_token"]
