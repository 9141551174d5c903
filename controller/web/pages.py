"""Rendering pages: the template environment, `render()`, flash messages and error pages.

Why one `render()`: every page needs the same frame context (who is logged in, what the
nav may show them, the CSRF token, the language, pending flash messages); handlers pass
only their own values. The Jinja environment is built by `install_web` (in create_app),
never at import time, with autoescaping on for every template.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from controller.accounts import sessions as web_sessions
from controller.accounts.models import WebSession
from controller.accounts.roles import Perm
from controller.web.deps import Forbidden, LoginRequired, WebUser
from controller.web.i18n import LANG_NAMES, LANGS, pick_lang, translator
from controller.web.security import LANG_COOKIE, CsrfError, anon_csrf_token, set_anon_csrf_cookie

TEMPLATES_DIR = Path(__file__).parent / "templates"
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
"""Times on pages are Vietnam's (UTC+7, no daylight saving), which every commune shares."""

NAV: tuple[tuple[str, str, Perm], ...] = (
    ("/compose", "nav.compose", Perm.ANNOUNCE_DRAFT),
    ("/announcements", "nav.announcements", Perm.HISTORY_VIEW),
    ("/approvals", "nav.approvals", Perm.ANNOUNCE_APPROVE),
    ("/programme", "nav.programme", Perm.HISTORY_VIEW),
    ("/relays", "nav.relays", Perm.HISTORY_VIEW),
    ("/fleet", "nav.fleet", Perm.FLEET_VIEW),
    ("/zones", "nav.zones", Perm.ZONES_MANAGE),
    ("/lexicon", "nav.lexicon", Perm.LEXICON_MANAGE),
    ("/users", "nav.users", Perm.USERS_MANAGE),
)
"""(path, message key, permission): the menu shows an entry only to roles holding its permission."""

_API_PREFIXES = ("/api/", "/audio/", "/docs", "/redoc", "/openapi.json", "/healthz", "/static/")

log = logging.getLogger(__name__)


def local_time(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """Template filter `|local_time`: an aware UTC time as Vietnam's wall-clock time (empty for None)."""
    return value.astimezone(LOCAL_TZ).strftime(fmt) if value is not None else ""


def build_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local_time"] = local_time
    return Jinja2Templates(env=env)


def is_json_path(path: str) -> bool:
    """`/ui/…` endpoints (JS helpers of the pages) and the REST API answer in JSON, never HTML."""
    return path.startswith("/ui/") or path.startswith(_API_PREFIXES)


def current_lang(request: Request) -> str:
    user: WebUser | None = getattr(request.state, "web_user", None)
    return user.lang if user is not None else pick_lang(request.cookies.get(LANG_COOKIE))


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200) -> HTMLResponse:
    """The template inside the page frame; `context` holds the page's own values."""
    user: WebUser | None = getattr(request.state, "web_user", None)
    lang = current_lang(request)
    new_anon_token: str | None = None
    if user is not None:
        csrf = user.csrf_token
        flashes = _pop_flashes(request, user)
    else:
        csrf, is_new = anon_csrf_token(request)
        new_anon_token = csrf if is_new else None
        flashes = []
    values: dict[str, Any] = {
        "t": translator(lang),
        "lang": lang,
        "langs": LANGS,
        "lang_names": LANG_NAMES,
        "other_lang": "en" if lang == "vi" else "vi",
        "user": user,
        "csrf_token": csrf,
        "nav": [(href, key) for href, key, perm in NAV if user is not None and user.can(perm)],
        "flashes": flashes,
        "current_path": request.url.path,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    values.update(context or {})
    templates: Jinja2Templates = request.app.state.web_templates
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    if new_anon_token is not None:
        set_anon_csrf_cookie(response, request.app.state.ctx.settings, new_anon_token)
    return response


def _pop_flashes(request: Request, user: WebUser) -> list[tuple[str, str]]:
    with Session(request.app.state.ctx.engine) as session:
        row = session.get(WebSession, user.session_id)
        return web_sessions.pop_flashes(session, row) if row is not None else []


def flash(request: Request, kind: str, key: str, **params: Any) -> None:
    """Show a message once on the next page (after a redirect). `kind`: info, success, error.

    The text is resolved now, in the user's language, from catalogue key `key`.
    """
    user: WebUser | None = getattr(request.state, "web_user", None)
    if user is None:
        return
    text = translator(user.lang)(key, **params)
    with Session(request.app.state.ctx.engine) as session:
        row = session.get(WebSession, user.session_id)
        if row is not None:
            web_sessions.push_flash(row, kind, text)
            session.add(row)
            session.commit()


def redirect(url: str) -> RedirectResponse:
    """303 See Other: after a POST the browser GETs the next page (post/redirect/get)."""
    return RedirectResponse(url, status_code=303)


def error_page(
    request: Request, status_code: int, key: str, *, kept: list[tuple[str, str]] | None = None, login_next: str | None = None
) -> Response:
    """An error in the user's language: a page, or `{"detail": …}` for JSON paths.

    `kept`: what the refused form carried, shown back for copying (nothing typed is lost);
    `login_next`: offer a login link that returns there.
    """
    t = translator(current_lang(request))
    if is_json_path(request.url.path):
        return JSONResponse({"detail": t(f"{key}.title")}, status_code=status_code)
    context = {"title": t(f"{key}.title"), "body": t(f"{key}.body"), "kept": kept or [], "login_next": login_next}
    return render(request, "error.html", context, status_code=status_code)


MAX_KEPT_FIELDS = 30
_NOT_KEPT = ("csrf_token", "password")


async def kept_fields(request: Request) -> list[tuple[str, str]]:
    """The text fields of a refused form (never tokens or passwords), to show back."""
    if request.method in ("GET", "HEAD") or not request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        return []
    try:
        form = await request.form()
    except Exception:  # a malformed body: nothing to show back, the page still answers
        return []
    kept = [
        (name, value)
        for name, value in form.multi_items()
        if isinstance(value, str) and value.strip() and not any(word in name for word in _NOT_KEPT)
    ]
    return kept[:MAX_KEPT_FIELDS]


def _back_to(request: Request) -> str:
    """The local page the refused form came from (its Referer), else home."""
    from urllib.parse import urlsplit

    from controller.web.security import safe_next

    referer = urlsplit(request.headers.get("referer", ""))
    return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""), "/")


async def _login_required(request: Request, _exc: Exception) -> Response:
    if is_json_path(request.url.path):
        return JSONResponse({"detail": "not logged in"}, status_code=401)
    if request.method not in ("GET", "HEAD"):  # a form sent after the session ended: keep what was typed
        return error_page(request, 401, "error.expired", kept=await kept_fields(request), login_next=_back_to(request))
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    from urllib.parse import urlencode

    return redirect("/login?" + urlencode({"next": target}))


async def _forbidden(request: Request, _exc: Exception) -> Response:
    return error_page(request, 403, "error.403")


async def _csrf_failed(request: Request, _exc: Exception) -> Response:
    return error_page(request, 403, "error.csrf", kept=await kept_fields(request))


async def _http_error(request: Request, exc: Exception) -> Response:
    """HTML error pages for browser paths; the API keeps FastAPI's JSON answers."""
    if not isinstance(exc, StarletteHTTPException) or is_json_path(request.url.path):
        return await http_exception_handler(request, exc)  # type: ignore[arg-type]
    if exc.status_code == 404:
        return error_page(request, 404, "error.404")
    if exc.status_code == 403:
        return error_page(request, 403, "error.403")
    if exc.status_code >= 500:
        return error_page(request, exc.status_code, "error.500")
    return await http_exception_handler(request, exc)


async def _server_error(request: Request, exc: Exception) -> Response:
    """Last resort for a bug: a calm page for people, the usual bare 500 for machines."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if is_json_path(request.url.path):
        return PlainTextResponse("Internal Server Error", status_code=500)
    t = translator(current_lang(request))
    html = f"<!doctype html><html lang='vi'><meta charset='utf-8'><title>{t('error.500.title')}</title><p>{t('error.500.body')}</p>"
    return HTMLResponse(html, status_code=500)


def validation_handler(api_handler: Any) -> Any:
    """A page for a malformed browser request (a tampered form, a letter where a number
    belongs); the REST API keeps its JSON 422 from `api_handler`. Page authors should still
    take form fields as strings and explain problems per field (README: form pattern)."""

    async def handler(request: Request, exc: Exception) -> Response:
        if is_json_path(request.url.path) and api_handler is not None:
            return await api_handler(request, exc)
        if is_json_path(request.url.path):
            return JSONResponse({"detail": "invalid request"}, status_code=422)
        return error_page(request, 422, "error.other")

    return handler


EXCEPTION_HANDLERS: dict[Any, Any] = {
    LoginRequired: _login_required,
    Forbidden: _forbidden,
    CsrfError: _csrf_failed,
    StarletteHTTPException: _http_error,
    Exception: _server_error,
}

__all__ = ["LOCAL_TZ", "NAV", "build_templates", "local_time", "validation_handler", "current_lang", "error_page", "flash", "is_json_path", "redirect", "render"]
