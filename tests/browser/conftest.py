"""The web app in a real browser, against a real Loa system.

One stack for this package (Mosquitto, the controller on SQLite, speaker agent
processes playing into file sinks, exactly what `loa demo` runs) and one headless
Chromium (Debian's, driven by Playwright; nothing is downloaded). Tests share both, so
each uses its own zones, nodes or text to stay independent of the others. Package scope,
not session: Playwright's sync API keeps an asyncio loop running in the main thread
while it is open, and later tests of the suite call asyncio.run.

    def test_something(page_for, stack):
        page = page_for("editor")                 # a new, logged-in browser context
        page = page_for("leader", width=360)      # ... on a phone-sized screen
        page.goto(stack.url + "/compose")
        expect(page.get_by_role("heading", name="Soạn bản tin")).to_be_visible()

    login(page, stack, "viewer")                  # through the login form itself

When a test fails, a screenshot of every page it opened is saved under its pytest tmp
dir and the paths are added to the failure report (section "browser").
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from loa.screenshots import CHROMIUM, DESKTOP, PHONE, launch_chromium
from loa.screenshots import login as login_as
from loa.stack import DEMO_NODES, DEMO_WEB_USERS, DEMO_ZONES, NodeSpec, Stack, StackOptions, ZoneSpec

USERNAMES = {role: username for username, role, _ in DEMO_WEB_USERS}
"""role -> the demo's username for it (`lanh-dao` for the leader, ...)."""

OFFLINE_ZONE = ZoneSpec("thon-bac", "Thôn Bắc", "hamlet", "xa-an-binh")
OFFLINE_NODE = NodeSpec("thon-bac-1", "Cụm loa đầu cầu thôn Bắc", "thon-bac")
"""A node only the fleet test stops and starts, so no broadcast test ever targets it."""

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (scripts/bootstrap.sh installs it)"
)
"""Test modules here set `pytestmark = [pytest.mark.integration, needs_chromium]`."""


# -- the system -------------------------------------------------------------------------


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    options = StackOptions(
        state_dir=tmp_path_factory.mktemp("browser-stack") / "loa",
        zones=(*DEMO_ZONES, OFFLINE_ZONE),
        nodes=(*DEMO_NODES, OFFLINE_NODE),
        keepalive_s=2,  # a stopped agent shows offline within seconds
        telemetry_interval_s=2,
        realtime_playback=False,  # the file sink records a play without waiting its length
        play_lead_s=1.0,
    )
    s = Stack(options)
    try:
        s.start()
        s.wait_nodes_online(timeout=60)
        yield s
    finally:
        s.stop()


def plays_of(stack: Stack, node_id: str, announcement_id: int) -> list[dict]:
    return [p for p in stack.plays(node_id) if p.get("announcement") == announcement_id]


def wait_played(stack: Stack, node_ids: list[str], announcement_id: int, timeout: float = 30) -> dict[str, int]:
    """Poll plays.jsonl of the nodes until each recorded the announcement (or the deadline);
    return how many plays each has."""
    deadline = time.monotonic() + timeout
    while True:
        got = {n: len(plays_of(stack, n, announcement_id)) for n in node_ids}
        if all(got.values()) or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def find_announcement(stack: Stack, text: str, timeout: float = 10) -> dict:
    """The newest announcement whose text is `text` (read through the REST API)."""
    deadline = time.monotonic() + timeout
    with stack.api() as api:
        while True:
            items = api.get("/api/v1/announcements", params={"limit": 50}).json()["items"]
            found = [a for a in items if a["text"] == text]
            if found:
                return api.get(f"/api/v1/announcements/{found[0]['id']}").json()
            if time.monotonic() > deadline:
                raise AssertionError(f"no announcement with text {text!r}; newest: {[a['text'] for a in items[:5]]}")
            time.sleep(0.2)


def wait_states(stack: Stack, announcement_id: int, wanted: set[str], timeout: float = 30) -> dict[str, str]:
    """Poll the announcement until every delivery is in `wanted` (or the deadline)."""
    deadline = time.monotonic() + timeout
    with stack.api() as api:
        while True:
            got = api.get(f"/api/v1/announcements/{announcement_id}").json()
            states = {d["node_id"]: d["state"] for d in got["deliveries"]}
            if (states and set(states.values()) <= wanted) or time.monotonic() > deadline:
                return states
            time.sleep(0.2)


# -- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # Playwright gives each launch a new, empty temporary profile (user-data dir).
        b = launch_chromium(pw)
        try:
            yield b
        finally:
            b.close()


def login(page, stack: Stack, role: str) -> None:
    """Log in through the login form as the demo user of `role` and wait to leave /login."""
    username = USERNAMES[role]
    login_as(page, stack.url, username, stack.web_users[username])


class Pages:
    """Browser contexts opened by one test: logged-in pages per role, closed afterwards."""

    def __init__(self, browser, stack: Stack, sessions: dict[str, dict], out: Path) -> None:
        self.browser, self.stack, self.sessions, self.out = browser, stack, sessions, out
        self.contexts: list = []
        self.pages: list = []
        self.errors: list[str] = []

    def new_page(self, width: int = DESKTOP["width"], height: int | None = None, storage_state: dict | None = None):
        height = height or (PHONE["height"] if width <= 480 else DESKTOP["height"])
        context = self.browser.new_context(
            viewport={"width": width, "height": height}, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
            storage_state=storage_state,
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        page.on("console", lambda msg: self._console(page, msg))
        page.on("response", lambda r: self._response(page, r))
        self.pages.append(page)
        return page

    def _console(self, page, msg) -> None:
        if msg.type == "error" and "Content Security Policy" in msg.text:  # e.g. an inline script or style
            self.errors.append(f"{page.url}: {msg.text}")

    def _response(self, page, response) -> None:
        path = response.url.removeprefix(self.stack.url)
        if path.startswith(("/static/", "/audio/")) and response.status >= 400:
            self.errors.append(f"{page.url}: {path} answered {response.status}")

    def __call__(self, role: str | None, width: int = DESKTOP["width"], height: int | None = None):
        """A page logged in as the demo user of `role` (None: logged out).

        The first call per role logs in through the form; later ones reuse that session's
        cookies (argon2 makes each login cost a fraction of a second on purpose)."""
        if role is None:
            return self.new_page(width, height)
        if role not in self.sessions:
            page = self.new_page(width, height)
            login(page, self.stack, role)
            self.sessions[role] = page.context.storage_state()
            return page
        return self.new_page(width, height, storage_state=self.sessions[role])

    def close(self) -> None:
        for context in self.contexts:
            try:
                context.close()
            except Exception:  # noqa: BLE001 - the browser may already be gone after a failure
                pass


@pytest.fixture(scope="package")
def _sessions() -> dict[str, dict]:
    return {}


@pytest.fixture
def page_for(browser, stack, _sessions, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable]:
    """`page_for(role, width=1280)` → a new Playwright page logged in as that role's demo user."""
    pages = Pages(browser, stack, _sessions, tmp_path)
    request.node._browser_pages = pages
    try:
        yield pages
    finally:
        pages.close()
    if pages.errors:
        pytest.fail("JavaScript errors, CSP violations or missing static files on the pages:\n"
                    + "\n".join(pages.errors), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    pages: Pages | None = getattr(item, "_browser_pages", None)
    if report.when == "call" and report.failed and pages is not None:
        out = pages.out
        lines = []
        for i, page in enumerate(pages.pages):
            if page.is_closed():
                continue
            path = out / f"failure-{i}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
                lines.append(f"{page.url} -> {path}")
            except Exception as exc:  # noqa: BLE001
                lines.append(f"{page.url}: no screenshot ({exc})")
        if pages.errors:
            lines.append("JavaScript errors: " + json.dumps(pages.errors, ensure_ascii=False))
        report.sections.append(("browser", "screenshots of the test's pages:\n" + "\n".join(lines)))
    return report
