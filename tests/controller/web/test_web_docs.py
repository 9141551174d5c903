"""Every web page route is documented in docs/api.md, like the REST API's routes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

from controller.web import build_web_router

DOC = (Path(__file__).resolve().parents[3] / "docs" / "api.md").read_text(encoding="utf-8")


def _shape(text: str) -> str:
    return re.sub(r"\{[^{}/`]+\}", "{}", text)


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    """APIRoutes, descending into included routers (FastAPI keeps them as nested branches)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (inner := getattr(route, "original_router", None)) is not None:
            yield from _routes(inner.routes)


def test_every_web_route_is_documented() -> None:
    wanted = {f"{method} {r.path}" for r in _routes(build_web_router().routes) for method in r.methods - {"HEAD"}}
    assert {"GET /", "GET /login", "POST /login", "POST /logout", "GET /users"} <= wanted
    documented = _shape(DOC)
    assert [w for w in sorted(wanted) if f"`{_shape(w)}`" not in documented and f"`{_shape(w)} " not in documented] == []
