"""Login, logout, the language switch and the home page that sends each role to its work."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, func, select

from controller.accounts import sessions as web_sessions
from controller.accounts import throttle, users
from controller.accounts.models import User, WebSession
from controller.accounts.roles import Perm
from controller.api.deps import CtxDep
from controller.audit import record
from controller.web.deps import CurrentUser, OptionalUser
from controller.web.i18n import pick_lang, translator
from controller.web.pages import LOCAL_TZ, current_lang, redirect, render
from controller.web.security import (
    LANG_COOKIE,
    SESSION_COOKIE,
    clear_session_cookie,
    client_ip,
    cookie_options,
    safe_next,
    set_session_cookie,
)

FIRST_USER_COMMAND = "loa user add --username admin --role admin"

router = APIRouter(include_in_schema=False)


def home_for(user: CurrentUser) -> str:
    """Where a role starts: drafting roles compose, technicians watch the fleet, others read history."""
    if user.can(Perm.ANNOUNCE_DRAFT):
        return "/compose"
    if user.can(Perm.FLEET_COMMAND):
        return "/fleet"
    return "/announcements"


@router.get("/")
def home(user: CurrentUser) -> Response:
    return redirect(home_for(user))


def _no_accounts(ctx: CtxDep) -> bool:
    with Session(ctx.engine) as session:
        return session.exec(select(func.count()).select_from(User)).one() == 0


def _login_page(request: Request, ctx: CtxDep, *, username: str = "", error: str | None = None, status_code: int = 200, notice: str | None = None) -> Response:
    t = translator(current_lang(request))
    return render(
        request,
        "login.html",
        {
            "username": username,
            "error": error,
            "notice": notice,
            "next": safe_next(request.query_params.get("next"), ""),
            "no_accounts": t("login.no_accounts", command=FIRST_USER_COMMAND) if _no_accounts(ctx) else None,
            # Secure cookies over plain HTTP are dropped by the browser: login would loop silently.
            "insecure": t("login.insecure") if ctx.settings.secure_cookies and request.url.scheme != "https" else None,
        },
        status_code=status_code,
    )


@router.get("/login")
def login_form(request: Request, ctx: CtxDep, user: OptionalUser) -> Response:
    if user is not None:
        return redirect(safe_next(request.query_params.get("next"), "/"))
    t = translator(current_lang(request))
    notice = t("login.logged_out") if request.query_params.get("bye") else None
    return _login_page(request, ctx, notice=notice)


@router.post("/login")
def login(
    request: Request,
    ctx: CtxDep,
    _user: OptionalUser,  # checks the CSRF token (session or pre-login cookie)
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    t = translator(current_lang(request))
    typed = username.strip()[:64]
    if not typed or not password:
        return _login_page(request, ctx, username=typed, error=t("login.missing"), status_code=422)
    now = ctx.clock()
    token: str | None = None
    # One short transaction, closed before any page renders: on SQLite every transaction
    # takes the write lock up front, so a nested session would wait for this one.
    with Session(ctx.engine) as session:
        result = users.authenticate(
            session, typed, password, ip=client_ip(request), now=now, limits=throttle.Limits.from_settings(ctx.settings)
        )
        if result.outcome == "ok" and result.user is not None:
            timeouts = web_sessions.Timeouts.from_settings(ctx.settings)
            web_sessions.purge_expired(session, now=now, timeouts=timeouts)
            token, _row = web_sessions.create(
                session,
                result.user,
                now=now,
                timeouts=timeouts,
                lang=current_lang(request),
                replaces=request.cookies.get(SESSION_COOKIE),  # a new id at every login: no session fixation
            )
            session.commit()
    if result.outcome == "locked" and result.retry_at is not None:
        minutes = max(1, math.ceil((result.retry_at - now).total_seconds() / 60))
        at = result.retry_at.astimezone(LOCAL_TZ).strftime("%H:%M")
        return _login_page(request, ctx, username=typed, error=t("login.locked", minutes=minutes, time=at), status_code=429)
    if result.outcome == "disabled":
        return _login_page(request, ctx, username=typed, error=t("login.disabled"), status_code=403)
    if token is None:
        return _login_page(request, ctx, username=typed, error=t("login.bad"), status_code=401)
    response = redirect(safe_next(request.query_params.get("next"), "/"))
    set_session_cookie(response, ctx.settings, token)
    return response


@router.post("/logout")
def logout(request: Request, ctx: CtxDep, user: CurrentUser) -> Response:
    with Session(ctx.engine) as session:
        web_sessions.delete_token(session, request.cookies.get(SESSION_COOKIE, ""))
        record(session, at=ctx.clock(), actor=user.username, action="logout")
        session.commit()
    response = redirect("/login?bye=1")
    clear_session_cookie(response, ctx.settings)
    return response


@router.post("/lang")
def switch_language(
    request: Request,
    ctx: CtxDep,
    user: OptionalUser,
    lang: Annotated[str, Form()] = "vi",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Vietnamese or English, remembered in a cookie and, when logged in, in the session."""
    chosen = pick_lang(lang)
    if user is not None:
        with Session(ctx.engine) as session:
            row = session.get(WebSession, user.session_id)
            if row is not None:
                row.lang = chosen
                session.add(row)
                session.commit()
    response = redirect(safe_next(next))
    response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, **cookie_options(ctx.settings, httponly=False))
    return response


__all__ = ["FIRST_USER_COMMAND", "home_for", "router"]
