"""The conventions other pages rely on, proved with a throwaway router added to the test app:
/ui JSON endpoints (401/403 JSON, X-CSRF-Token), the 422 page, flash, local times."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from controller.accounts.roles import Perm
from controller.web.deps import CurrentUser, WebUser, require
from controller.web.pages import flash, redirect, render
from tests.controller.web.conftest import Web


@pytest.fixture
def demo(web: Web) -> Web:
    router = APIRouter(include_in_schema=False)

    @router.post("/ui/test/volume")
    def volume(me: Annotated[WebUser, require(Perm.FLEET_COMMAND)], body: dict[str, int]) -> dict[str, object]:
        return {"by": me.username, "level": body["level"]}

    @router.get("/ui/test/whoami")
    def whoami(me: CurrentUser) -> dict[str, str]:
        return {"username": me.username, "role": me.role.value}

    @router.post("/test/number")
    def number(request: Request, me: CurrentUser, n: Annotated[int, Form()]) -> Response:
        flash(request, "success", "users.added", username=f"<b>{n}</b>")
        return redirect("/test/page")

    @router.get("/test/page")
    def page(request: Request, me: CurrentUser) -> Response:
        return render(request, "error.html", {"title": "T", "body": "B"})

    web.env.client.app.include_router(router)
    return web


def test_ui_json_needs_login_role_and_header(demo: Web) -> None:
    anon = demo.anon()
    assert anon.get("/ui/test/whoami").status_code == 401
    assert anon.get("/ui/test/whoami").json() == {"detail": "not logged in"}
    assert demo.viewer.get("/ui/test/whoami").json() == {"username": "viewer", "role": "viewer"}
    ok = demo.technician.post_json("/ui/test/volume", {"level": 5})
    assert ok.status_code == 200 and ok.json() == {"by": "technician", "level": 5}
    denied = demo.viewer.post_json("/ui/test/volume", {"level": 5})
    assert denied.status_code == 403 and denied.headers["content-type"] == "application/json"
    no_header = demo.technician.client.post("/ui/test/volume", json={"level": 5})
    assert no_header.status_code == 403 and "detail" in no_header.json()
    other = demo.technician.post_json("/ui/test/volume", {"level": 5}, headers={"X-CSRF-Token": demo.admin.csrf})
    assert other.status_code == 403


def test_malformed_form_is_a_page_not_json(demo: Web) -> None:
    response = demo.editor.post("/test/number", {"n": "mười"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html") and "Yêu cầu không hợp lệ" in response.text
    api = demo.env.client.post("/api/v1/lexicon", json={"term": 1})
    assert api.status_code == 422 and isinstance(api.json()["detail"], list)


def test_flash_is_shown_once_and_escaped(demo: Web) -> None:
    assert demo.editor.post("/test/number", {"n": "7"}).headers["location"] == "/test/page"
    page = demo.editor.get("/test/page")
    assert "Đã thêm người dùng &lt;b&gt;7&lt;/b&gt;." in page.text
    assert "Đã thêm người dùng" not in demo.editor.get("/test/page").text


def test_last_login_in_vietnam_time(web: Web) -> None:
    # the fixture's clock starts at 2025-07-01 08:00 UTC: 15:00 in Vietnam
    assert "01/07/2025 15:00" in web.admin.get("/users").text
