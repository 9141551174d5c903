"""The pages in a real browser (Debian's Chromium via Playwright) on a phone-sized screen:
login with Vietnamese text, no CSP violations (no inline script), no sideways scrolling
at 360 px, the skip link and focus ring for keyboard users, logout."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from controller.accounts import users
from controller.app import create_app
from loa.broker import free_port
from tests.controller.conftest import make_settings
from tests.controller.factories import FakePipeline, FakePublisher

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "một câu mật khẩu dài"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)"),
]


@pytest.fixture
def server(tmp_path: Path, keys: tuple[Path, Path]) -> Iterator[str]:
    import uvicorn

    settings = make_settings(tmp_path, keys[0], cookie_secure=False)  # plain http on loopback
    publisher = FakePublisher()
    app = create_app(settings, pipeline=FakePipeline(settings.audio_dir or tmp_path), publisher=publisher)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, name="uvicorn-browser-test")
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    with Session(app.state.ctx.engine) as session:
        users.add_user(session, username="lan", display_name="Nguyễn Thị Lan <Quản trị>", role="admin",
                       password=PASSWORD, now=app.state.ctx.clock(), actor="test")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=30)


def test_login_and_users_page_on_a_phone(server: str) -> None:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        )
        try:
            page = browser.new_page(viewport={"width": 360, "height": 740}, locale="vi-VN")
            page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: problems.append(str(exc)))

            page.goto(server + "/users")
            assert page.url.startswith(server + "/login?next=")
            assert page.title().startswith("Đăng nhập")
            assert page.evaluate("document.documentElement.scrollWidth") <= 360

            assert page.evaluate("document.activeElement.id") == "login-username"  # autofocus: type at once
            page.keyboard.press("Shift+Tab")  # back to the skip link, which shows when focused
            assert page.evaluate("document.activeElement.className") in ("skip-link", "link-button")
            page.focus(".skip-link")
            assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
            box = page.locator(".skip-link").bounding_box()
            assert box is not None and box["y"] >= 0

            page.fill("#login-username", "lan")
            page.fill("#login-password", "sai mật khẩu rồi")
            page.click("button[type=submit].primary")
            assert "Tên đăng nhập hoặc mật khẩu không đúng" in page.inner_text("#login-error")
            assert page.input_value("#login-username") == "lan"

            page.fill("#login-password", PASSWORD)
            page.click("button[type=submit].primary")
            page.wait_for_url(server + "/users")
            assert "Nguyễn Thị Lan <Quản trị>" in page.inner_text(".who")  # shown as text, not markup
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
            assert page.evaluate("typeof window.loa.fetchJSON") == "function"  # /static/loa.js ran under the CSP

            page.click("text=English")
            page.wait_for_url(server + "/users")
            assert "Add a user" in page.content()

            page.click("text=Log out")
            page.wait_for_url(server + "/login?bye=1")
            assert "You are logged out." in page.content()
        finally:
            browser.close()
    # the refused login answers 401 on purpose (Chromium logs that); anything else is a fault
    assert [p for p in problems if "401 (Unauthorized)" not in p] == []
