"""Browser-facing protections: security headers, CSRF tokens, the Origin check, cookies.

Why each:
- CSP without inline script (all JS is in /static), so an escaped-but-missed `<script>`
  in user text still cannot run; `frame-ancestors 'none'` + X-Frame-Options against
  clickjacking of the "broadcast" button;
- a per-session CSRF token on every unsafe request (form field `csrf_token` or header
  `X-CSRF-Token`, compared in constant time), plus the Origin/Referer check when the
  browser sends one: SameSite=Lax alone does not cover older phone browsers;
- before login there is no session, so the login form uses a double-submit token: a
  random cookie (`loa_csrf`, SameSite=Strict) that the form must echo.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from controller.settings import ControllerSettings

SESSION_COOKIE = "loa_session"
ANON_CSRF_COOKIE = "loa_csrf"
LANG_COOKIE = "loa_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_NO_CSP_PREFIXES = ("/docs", "/redoc")  # FastAPI's API explorer pages load their own scripts


class CsrfError(Exception):
    """An unsafe request without the right token or from another origin; answered with 403."""


class SecurityHeaders:
    """Pure ASGI middleware (no BaseHTTPMiddleware: audio responses stream through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                if headers.get("content-type", "").startswith("text/html") and not path.startswith(_NO_CSP_PREFIXES):
                    headers.setdefault("Content-Security-Policy", CSP)
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def tokens_equal(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


def check_origin(request: Request, settings: ControllerSettings) -> None:
    """Refuse an unsafe request whose Origin (or, lacking it, Referer) is another site."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return  # non-browser clients and old browsers: the token alone decides
    netloc = urlsplit(source).netloc if source != "null" else ""
    allowed = {request.headers.get("host", ""), urlsplit(settings.public_url).netloc}
    if not netloc or netloc not in allowed:
        raise CsrfError("cross-origin request")


async def presented_token(request: Request) -> str | None:
    """The CSRF token the request carries: the header, else the form field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached by Starlette: the handler's Form(...) fields still work
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def check_csrf(request: Request, settings: ControllerSettings, expected: str | None) -> None:
    """Raise CsrfError unless an unsafe request carries `expected` and comes from this site."""
    if request.method in SAFE_METHODS:
        return
    check_origin(request, settings)
    if not tokens_equal(await presented_token(request), expected):
        raise CsrfError("missing or wrong CSRF token")


def anon_csrf_token(request: Request) -> tuple[str, bool]:
    """The pre-login CSRF token from its cookie, or a new one; (token, is_new)."""
    current = request.cookies.get(ANON_CSRF_COOKIE)
    if current and 20 <= len(current) <= 100:
        return current, False
    return secrets.token_urlsafe(32), True


def cookie_options(settings: ControllerSettings, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"httponly": True, "samesite": "lax", "secure": settings.secure_cookies, "path": "/"}
    options.update(overrides)
    return options


def set_session_cookie(response: Response, settings: ControllerSettings, token: str) -> None:
    """SameSite=Lax, not Strict: a link to /approvals/12 sent by Zalo or e-mail must open the
    page logged in; cross-site POSTs still carry no cookie, and the CSRF token covers the rest."""
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.session_max_s, **cookie_options(settings))


def clear_session_cookie(response: Response, settings: ControllerSettings) -> None:
    response.delete_cookie(SESSION_COOKIE, **cookie_options(settings))


def set_anon_csrf_cookie(response: Response, settings: ControllerSettings, token: str) -> None:
    response.set_cookie(ANON_CSRF_COOKIE, token, max_age=24 * 3600, **cookie_options(settings, samesite="strict"))


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after login; anything else (other sites, `//host`) goes home."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or len(target) > 500:
        return default
    if any(ch in target for ch in "\r\n\t") or urlsplit(target).netloc:
        return default
    return target


def client_ip(request: Request) -> str:
    """The client address uvicorn reports (it applies X-Forwarded-For from trusted proxies only)."""
    return request.client.host if request.client else "unknown"


__all__ = [
    "ANON_CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "CsrfError",
    "LANG_COOKIE",
    "SESSION_COOKIE",
    "SecurityHeaders",
    "anon_csrf_token",
    "check_csrf",
    "check_origin",
    "clear_session_cookie",
    "client_ip",
    "cookie_options",
    "safe_next",
    "set_anon_csrf_cookie",
    "set_session_cookie",
    "tokens_equal",
]
