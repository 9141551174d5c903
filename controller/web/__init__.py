"""The web app for officials and technicians: server-rendered pages over the same domain.

`install_web(app)` is called by `create_app`: it mounts /static, builds the template
environment, registers the error pages and the security headers, and includes
`build_web_router()`. Conventions for page authors are in controller/web/README.md.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def build_web_router() -> APIRouter:
    """Every page router of the web app (kept out of the OpenAPI schema: it documents the REST API)."""
    from controller.web import auth, users
    from controller.web import fleet, fleet_stream, lexicon_page, nodes_page, zones
    from controller.web import compose  # /compose, /ui/preview, /ui/recordings
    from controller.web import approvals  # /approvals
    from controller.web import history  # /announcements
    from controller.web import programme_page, relays_page  # /programme, /programme/stop, /relays

    router = APIRouter(include_in_schema=False)
    router.include_router(auth.router)
    router.include_router(users.router)
    router.include_router(fleet.router)  # /fleet
    router.include_router(fleet_stream.router)  # /ui/fleet/stream (its lifespan ends streams at shutdown)
    router.include_router(nodes_page.router)  # /nodes/{id}
    router.include_router(zones.router)  # /zones
    router.include_router(lexicon_page.router)  # /lexicon
    router.include_router(compose.router)  # officials: /compose
    router.include_router(approvals.router)  # officials: /approvals
    router.include_router(history.router)  # officials: /announcements
    router.include_router(programme_page.router)  # officials: /programme, /programme/stop
    router.include_router(relays_page.router)  # officials: /relays
    return router


def install_web(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError

    from controller.web.pages import EXCEPTION_HANDLERS, build_templates, validation_handler
    from controller.web.security import SecurityHeaders

    app.state.web_templates = build_templates()
    for exc_type, handler in EXCEPTION_HANDLERS.items():
        app.add_exception_handler(exc_type, handler)
    api_validation = app.exception_handlers.get(RequestValidationError)
    app.add_exception_handler(RequestValidationError, validation_handler(api_validation))
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(build_web_router())


__all__ = ["STATIC_DIR", "build_web_router", "install_web"]
