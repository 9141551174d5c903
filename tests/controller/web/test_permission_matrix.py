"""Every web route against every role, read from the routes themselves.

Why walk the app instead of listing routes by hand: a page added later with the wrong
guard (or none) fails here without anyone remembering to write its permission test.
The permission a route needs is read off its `require(Perm.X)` dependency and checked
against the role table in controller/accounts/roles.py: a role without it gets 403,
a role with it gets anything but 403 (and never a 500 — the test client re-raises
server errors), and a visitor who is not logged in is sent to the login page (or gets
401 on the /ui JSON endpoints).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from controller.accounts.roles import Perm, Role, allowed
from controller.web import build_web_router
from tests.controller.factories import NODES, ZONES
from tests.controller.web.conftest import Web

PUBLIC = {"/login", "/logout", "/lang"}
"""Routes anyone may reach (logout and the language switch check the CSRF token instead)."""
NOT_WEB = ("/api/", "/static", "/audio/", "/health", "/docs", "/redoc", "/openapi.json")
STREAMS = {"/ui/fleet/stream"}
"""Answered with a stream that stays open: only the refusals are checked here."""

NODE_ID = NODES[0][0]
ZONE_ID = ZONES[-1][0]
PARAMS = {"node_id": NODE_ID, "zone_id": ZONE_ID, "id": "1", "ann_id": "1", "entry_id": "1", "username": "viewer"}


def _perms(dependant: object) -> Iterator[Perm]:
    for dep in getattr(dependant, "dependencies", ()):
        name = getattr(getattr(dep, "call", None), "__name__", "")
        if name.startswith("require_"):
            yield Perm[name.removeprefix("require_").upper()]
        yield from _perms(dep)


def _fill(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return PARAMS.get(name, NODE_ID if "node" in name else "1")

    return re.sub(r"\{([^}]+)\}", value, path)


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """APIRoutes, descending into included routers (FastAPI keeps them as nested branches)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (inner := getattr(route, "original_router", None)) is not None:
            yield from _api_routes(inner.routes)


def web_routes(_web: Web) -> list[tuple[str, str, frozenset[Perm]]]:
    """(method, concrete path, permissions needed) for every web route the app serves."""
    found = []
    for route in _api_routes(build_web_router().routes):  # exactly what install_web includes
        if route.path.startswith(NOT_WEB):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, _fill(route.path), frozenset(_perms(route.dependant))))
    return found


P = Perm
EXPECTED: dict[str, Perm | None] = {
    "GET /": None, "GET /login": None, "POST /login": None, "POST /logout": None, "POST /lang": None,
    "GET /users": P.USERS_MANAGE, "POST /users": P.USERS_MANAGE, "POST /users/viewer/role": P.USERS_MANAGE,
    "POST /users/viewer/active": P.USERS_MANAGE, "POST /users/viewer/password": P.USERS_MANAGE,
    "GET /fleet": P.FLEET_VIEW, "GET /ui/fleet/stream": P.FLEET_VIEW, f"GET /nodes/{NODE_ID}": P.FLEET_VIEW,
    f"POST /nodes/{NODE_ID}/command": P.FLEET_COMMAND,
    "GET /zones": P.FLEET_VIEW, "POST /zones": P.ZONES_MANAGE, f"POST /zones/{ZONE_ID}/rename": P.ZONES_MANAGE,
    "POST /zones/nodes": P.ZONES_MANAGE, f"POST /zones/nodes/{NODE_ID}": P.ZONES_MANAGE,
    "GET /lexicon": P.LEXICON_MANAGE, "POST /lexicon": P.LEXICON_MANAGE, "POST /lexicon/1": P.LEXICON_MANAGE,
    "POST /lexicon/1/delete": P.LEXICON_MANAGE,
    "GET /compose": P.ANNOUNCE_DRAFT, "POST /compose": P.ANNOUNCE_DRAFT, "POST /ui/preview": P.ANNOUNCE_DRAFT,
    "POST /ui/recordings": P.ANNOUNCE_DRAFT,
    "GET /approvals": P.ANNOUNCE_APPROVE, "POST /approvals/1/approve": P.ANNOUNCE_APPROVE,
    "POST /approvals/1/reject": P.ANNOUNCE_APPROVE,
    "GET /announcements": P.HISTORY_VIEW, "GET /announcements/export.csv": P.HISTORY_VIEW,
    "GET /announcements/1": P.HISTORY_VIEW, "POST /announcements/1/cancel": P.ANNOUNCE_CANCEL,
    "GET /programme": P.HISTORY_VIEW, "GET /programme/stop": P.ANNOUNCE_CANCEL, "POST /programme/stop": P.ANNOUNCE_CANCEL,
    "GET /relays": P.HISTORY_VIEW, "POST /relays": P.ANNOUNCE_APPROVE, "POST /relays/1/cancel": P.ANNOUNCE_CANCEL,
}
"""The guard each route should carry. A new route fails the next test until it is listed
here: adding a page means deciding, in review, who may use it."""


def test_every_route_carries_the_guard_it_should(web: Web) -> None:
    actual: dict[str, object] = {}
    for method, path, perms in web_routes(web):
        actual[f"{method} {path}"] = next(iter(perms)) if len(perms) == 1 else (perms or None)
    assert actual == EXPECTED


def test_the_walk_finds_the_pages_of_every_area(web: Web) -> None:
    paths = {path for _, path, _ in web_routes(web)}
    for expected in ("/compose", "/approvals", "/announcements", "/fleet", "/zones", "/lexicon", "/users", "/programme",
                     "/relays"):
        assert expected in paths
    guarded = [p for _, p, perms in web_routes(web) if perms]
    assert len(guarded) >= 20, guarded


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_each_role_gets_exactly_what_the_table_grants(web: Web, role: Role) -> None:
    client = web.as_role(role)
    wrong = []
    for method, path, perms in web_routes(web):
        if path in PUBLIC or not perms:
            continue
        may = all(allowed(role, p) for p in perms)
        if may and path in STREAMS:
            continue
        if method == "GET":
            status = client.get(path).status_code
        elif path.startswith("/ui/"):
            status = client.post_json(path, {}, method=method).status_code
        else:
            status = client.post(path, {}).status_code
        if (status == 403) == may:
            wrong.append(f"{method} {path} needs {sorted(perms)}: got {status}")
    assert not wrong, "\n".join(wrong)


def test_logged_out_visitors_are_sent_to_log_in(web: Web) -> None:
    anon = web.anon()
    wrong = []
    for method, path, perms in web_routes(web):
        if path in PUBLIC or path == "/":
            continue
        status = anon.request(method, path).status_code
        # A page asks to log in (303); a form posted without a session gets the 401
        # "log in again" page that shows what was typed; /ui JSON answers 401.
        expected = {303} if method == "GET" and not path.startswith("/ui/") else {401}
        if status not in expected:
            wrong.append(f"{method} {path}: got {status}")
    assert not wrong, "\n".join(wrong)


def test_roles_that_cannot_broadcast_or_approve(web: Web) -> None:
    """The brief's three examples, spelled out."""
    assert web.editor.post("/approvals/1/approve", {"comment": "ok"}).status_code == 403
    assert web.viewer.get("/compose").status_code == 403
    assert web.technician.post("/compose", {"text": "Thông báo", "zones": ZONE_ID}).status_code == 403
