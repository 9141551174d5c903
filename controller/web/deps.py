"""Who is logged in, and may they do this: the dependencies every web page uses.

- `CurrentUser`: the logged-in `WebUser`; without a live session a page redirects to
  `/login?next=…` and a `/ui/…` JSON endpoint answers 401. Unsafe methods (POST, PUT,
  PATCH, DELETE) are CSRF-checked here, so no handler can forget it.
- `require(Perm.X)`: the same, plus a 403 page (or JSON) for roles without `Perm.X`.
  Use as `user: Annotated[WebUser, require(Perm.X)]` or `dependencies=[require(Perm.X)]`.
- `OptionalUser`: the user or None, CSRF-checked against the session or the pre-login
  token (the login form and the language switch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from controller.accounts import sessions as web_sessions
from controller.accounts.actor import Actor
from controller.accounts.roles import Perm, Role, allowed
from controller.api.deps import CtxDep
from controller.context import AppContext
from controller.web.security import ANON_CSRF_COOKIE, SESSION_COOKIE, check_csrf


class LoginRequired(Exception):
    """No live session: pages redirect to the login form, JSON endpoints answer 401."""


class Forbidden(Exception):
    """The user's role lacks the permission: a 403 page (or JSON) in the user's language."""


@dataclass(frozen=True)
class WebUser:
    id: int
    username: str
    display_name: str
    role: Role
    session_id: str
    """sha256 of the session token (the row's id), never the token itself."""
    csrf_token: str
    lang: str

    @property
    def actor(self) -> Actor:
        """What domain functions take as `actor` (`created_by`, audit entries)."""
        return Actor(self.username, self.role)

    def can(self, perm: Perm) -> bool:
        return allowed(self.role, perm)


def _load(ctx: AppContext, token: str | None) -> WebUser | None:
    timeouts = web_sessions.Timeouts.from_settings(ctx.settings)
    with Session(ctx.engine) as session:
        found = web_sessions.load(session, token, now=ctx.clock(), timeouts=timeouts)
        if found is None:
            return None
        row, user = found
        try:
            role = Role(user.role)
        except ValueError:
            return None  # a role this release does not know holds nothing
        return WebUser(
            id=user.id or 0,
            username=user.username,
            display_name=user.display_name,
            role=role,
            session_id=row.id,
            csrf_token=row.csrf_token,
            lang=row.lang,
        )


async def _session_user(request: Request, ctx: CtxDep) -> WebUser | None:
    """The session's user, unchecked (FastAPI resolves it once per request)."""
    user = await run_in_threadpool(_load, ctx, request.cookies.get(SESSION_COOKIE))
    request.state.web_user = user  # for render(): the page frame shows who is logged in
    return user


async def optional_user(
    request: Request, ctx: CtxDep, user: Annotated[WebUser | None, Depends(_session_user)]
) -> WebUser | None:
    """The logged-in user or None; unsafe methods must carry the session's CSRF token, or
    without a session the pre-login one (login form, language switch)."""
    expected = user.csrf_token if user is not None else request.cookies.get(ANON_CSRF_COOKIE)
    await check_csrf(request, ctx.settings, expected)
    return user


OptionalUser = Annotated[WebUser | None, Depends(optional_user)]


async def current_user(
    request: Request, ctx: CtxDep, user: Annotated[WebUser | None, Depends(_session_user)]
) -> WebUser:
    """Logged out is checked before CSRF: a form sent after the session expired gets the
    "log in again" answer (which shows what was typed), not a bare CSRF refusal."""
    if user is None:
        raise LoginRequired()
    await check_csrf(request, ctx.settings, user.csrf_token)
    return user


CurrentUser = Annotated[WebUser, Depends(current_user)]


def require(perm: Perm) -> Any:
    """A dependency (`Depends(...)`) that yields the user when their role holds `perm`."""

    async def dependency(user: CurrentUser) -> WebUser:
        if not user.can(perm):
            raise Forbidden(perm)
        return user

    dependency.__name__ = f"require_{perm.name.lower()}"
    return Depends(dependency)


__all__ = ["CurrentUser", "Forbidden", "LoginRequired", "OptionalUser", "WebUser", "current_user", "optional_user", "require"]
