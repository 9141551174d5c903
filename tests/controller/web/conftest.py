"""Fixtures for web page tests: `web` gives a logged-in client per role over the test app.

    def test_something(web: Web) -> None:
        page = web.editor.get("/compose")                      # GET as an editor
        r = web.leader.post("/approvals/1/approve", {"note": "ok"})  # form POST, csrf_token added
        r = web.technician.post_json("/ui/nodes/dong-1/volume", {"level": 5})  # X-CSRF-Token added
        assert web.viewer.get("/users").status_code == 403
        anon = web.anon()                                       # not logged in
        web.env.clock.advance(60)                               # the app's injected clock

Clients do not follow redirects (assert the 303 and its Location); they talk to
https://testserver, since production settings mark cookies Secure.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from controller.accounts import passwords, users
from controller.accounts.models import WebSession
from controller.accounts.roles import Role
from controller.accounts.sessions import token_hash
from controller.web.security import ANON_CSRF_COOKIE, SESSION_COOKIE
from tests.controller.conftest import Env

BASE_URL = "https://testserver"
DISPLAY_NAMES = {
    Role.ADMIN: "Quản Trị Viên",
    Role.LEADER: "Chủ tịch Nguyễn Văn An",
    Role.EDITOR: "Cán bộ Trần Thị Lan",
    Role.TECHNICIAN: "Kỹ thuật Lê Văn Bình",
    Role.VIEWER: "Người xem Phạm Thu",
}


def password_for(username: str) -> str:
    """A distinct strong password per username (accents included: passwords are Unicode)."""
    return "bí-mật-" + hashlib.sha256(username.encode()).hexdigest()[:12]


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with tiny costs: the tests check behaviour, not the hash's strength."""
    fast = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: fast)
    passwords.dummy_hash.cache_clear()


@dataclass
class WebClient:
    """A TestClient logged in as one user, with that session's CSRF token."""

    client: TestClient
    username: str
    role: Role
    password: str
    csrf: str = ""

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Response:
        """A form POST with the session's `csrf_token` field added (pass csrf_token yourself to override)."""
        form = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(url, data=form, **kwargs)

    def post_json(self, url: str, json: Any = None, *, method: str = "POST", **kwargs: Any) -> Response:
        """A /ui/... JSON request with the X-CSRF-Token header."""
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.client.request(method, url, json=json, headers=headers, **kwargs)

    @property
    def session_token(self) -> str | None:
        return self.client.cookies.get(SESSION_COOKIE)


@dataclass
class Web:
    env: Env
    clients: dict[Role, WebClient] = field(default_factory=dict)

    def anon(self) -> TestClient:
        """A fresh client with no cookies (not logged in)."""
        return TestClient(self.env.client.app, base_url=BASE_URL, follow_redirects=False)

    def add_user(self, username: str, role: Role, display_name: str | None = None, password: str | None = None) -> str:
        """Create an account directly in the database; returns its password."""
        secret = password or password_for(username)
        with Session(self.env.ctx.engine) as session:
            users.add_user(
                session, username=username, display_name=display_name or username, role=role.value,
                password=secret, now=self.env.clock(), actor="test",
            )
        return secret

    def login(self, username: str, password: str | None = None, client: TestClient | None = None) -> WebClient:
        """Log in through the real form (GET /login for the pre-login token, then POST)."""
        client = client or self.anon()
        secret = password or password_for(username)
        page = client.get("/login")
        response = client.post("/login", data={"username": username, "password": secret, "csrf_token": csrf_from(page)})
        assert response.status_code == 303, response.text
        with Session(self.env.ctx.engine) as session:
            row = session.get(WebSession, token_hash(client.cookies[SESSION_COOKIE]))
            assert row is not None
            csrf = row.csrf_token
            role = Role(users.get_user(session, username).role)  # type: ignore[union-attr]
        return WebClient(client, username, role, secret, csrf)

    def as_role(self, role: Role) -> WebClient:
        return self.clients[role]

    @property
    def admin(self) -> WebClient:
        return self.clients[Role.ADMIN]

    @property
    def leader(self) -> WebClient:
        return self.clients[Role.LEADER]

    @property
    def editor(self) -> WebClient:
        return self.clients[Role.EDITOR]

    @property
    def technician(self) -> WebClient:
        return self.clients[Role.TECHNICIAN]

    @property
    def viewer(self) -> WebClient:
        return self.clients[Role.VIEWER]


def csrf_from(page: Response) -> str:
    """The CSRF token a page carries (the <meta name="csrf-token"> of base.html)."""
    found = re.search(r'<meta name="csrf-token" content="([^"]*)"', page.text)
    assert found, f"no csrf-token meta in {page.status_code} page"
    return found.group(1)


@pytest.fixture
def web(env: Env) -> Iterator[Web]:
    """The test app (see `env`) with one user per role, username = role name, each logged in."""
    helper = Web(env)
    for role in Role:
        helper.add_user(role.value, role, DISPLAY_NAMES[role])
    for role in Role:
        helper.clients[role] = helper.login(role.value)
    yield helper


__all__ = ["ANON_CSRF_COOKIE", "BASE_URL", "Web", "WebClient", "csrf_from", "password_for"]
