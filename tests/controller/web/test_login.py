"""Login, logout, session fixation, expiry and throttling, through the real pages."""

from __future__ import annotations

from sqlmodel import Session, select

from controller.accounts.models import WebSession
from controller.accounts.roles import Role
from controller.accounts.sessions import token_hash
from controller.models import AuditEntry
from controller.web.security import SESSION_COOKIE
from tests.controller.web.conftest import Web, csrf_from, password_for


def _attempt(web: Web, client, username: str, password: str):
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_from(page)})


def _actions(web: Web) -> list[str]:
    with Session(web.env.ctx.engine) as session:
        return [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))]  # type: ignore[arg-type]


def test_login_page_is_vietnamese_and_utf8(web: Web) -> None:
    page = web.anon().get("/login")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html; charset=utf-8")
    assert '<html lang="vi">' in page.text and '<meta charset="utf-8">' in page.text
    assert "Đăng nhập" in page.text and "Mật khẩu" in page.text


def test_login_ok_sets_a_safe_cookie_and_goes_home(web: Web) -> None:
    client = web.anon()
    response = _attempt(web, client, "editor", password_for("editor"))
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie and "Path=/" in cookie
    assert client.get("/").headers["location"] == "/compose"
    assert "login.ok" in _actions(web)


def test_home_sends_each_role_to_its_work(web: Web) -> None:
    where = {role: web.as_role(role).get("/").headers["location"] for role in Role}
    assert where == {
        Role.ADMIN: "/compose",
        Role.LEADER: "/compose",
        Role.EDITOR: "/compose",
        Role.TECHNICIAN: "/fleet",
        Role.VIEWER: "/announcements",
    }


def test_wrong_password_keeps_the_username_and_says_so_in_vietnamese(web: Web) -> None:
    client = web.anon()
    response = _attempt(web, client, "Editor", "wrong-password-123")
    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in response.text
    assert 'value="Editor"' in response.text
    assert SESSION_COOKIE not in client.cookies
    assert "login.failed" in _actions(web)


def test_unknown_user_gets_the_same_answer(web: Web) -> None:
    response = _attempt(web, web.anon(), "nobody", "whatever-password")
    assert response.status_code == 401 and "Tên đăng nhập hoặc mật khẩu không đúng" in response.text


def test_empty_form_asks_for_both_fields(web: Web) -> None:
    response = _attempt(web, web.anon(), "", "")
    assert response.status_code == 422 and "Vui lòng nhập tên đăng nhập và mật khẩu" in response.text


def test_next_is_followed_only_when_local(web: Web) -> None:
    client = web.anon()
    assert client.get("/users").headers["location"] == "/login?next=%2Fusers"
    page = client.get("/login?next=/users")
    ok = client.post("/login?next=/users", data={"username": "admin", "password": password_for("admin"), "csrf_token": csrf_from(page)})
    assert ok.headers["location"] == "/users"
    other = web.anon()
    page = other.get("/login")
    evil = other.post("/login?next=//evil.example/x", data={"username": "admin", "password": password_for("admin"), "csrf_token": csrf_from(page)})
    assert evil.headers["location"] == "/"


def test_session_fixation_a_planted_id_is_replaced(web: Web) -> None:
    planted = "planted-by-an-attacker-0123456789abcdef"
    client = web.anon()
    page = client.get("/login")
    client.cookies.set(SESSION_COOKIE, planted)
    response = client.post("/login", data={"username": "viewer", "password": password_for("viewer"), "csrf_token": csrf_from(page)})
    assert response.status_code == 303
    issued = response.cookies.get(SESSION_COOKIE)
    assert issued and issued != planted
    with Session(web.env.ctx.engine) as session:
        assert session.get(WebSession, token_hash(planted)) is None
        assert session.get(WebSession, token_hash(issued)) is not None
    attacker = web.anon()
    attacker.cookies.set(SESSION_COOKIE, planted)
    assert attacker.get("/").headers["location"].startswith("/login")


def test_login_again_rotates_the_session_id(web: Web) -> None:
    viewer = web.viewer
    old = viewer.session_token
    page = viewer.client.get("/login")  # logged in: redirected home, so post with the session token
    assert page.status_code == 303
    again = viewer.client.post("/login", data={"username": "viewer", "password": viewer.password, "csrf_token": viewer.csrf})
    assert again.status_code == 303
    new = viewer.session_token
    assert new and new != old
    with Session(web.env.ctx.engine) as session:
        assert session.get(WebSession, token_hash(old or "")) is None  # the old id is dead
    stale = web.anon()
    stale.cookies.set(SESSION_COOKIE, old or "")
    assert stale.get("/").headers["location"].startswith("/login")


def test_logout_ends_the_session(web: Web) -> None:
    editor = web.editor
    token = editor.session_token
    response = editor.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login?bye=1"
    assert editor.get("/").headers["location"].startswith("/login")
    replay = web.anon()
    replay.cookies.set(SESSION_COOKIE, token or "")
    assert replay.get("/").headers["location"].startswith("/login")
    assert "Bạn đã đăng xuất" in web.anon().get("/login?bye=1").text
    assert "logout" in _actions(web)


def test_idle_timeout(web: Web) -> None:
    idle = web.env.ctx.settings.session_idle_s
    web.env.clock.advance(idle - 30)
    assert web.viewer.get("/").status_code == 303 and web.viewer.get("/").headers["location"] == "/announcements"
    web.env.clock.advance(idle - 30)  # active a moment ago: still in
    assert web.viewer.get("/").headers["location"] == "/announcements"
    web.env.clock.advance(idle + 1)
    assert web.viewer.get("/").headers["location"].startswith("/login")


def test_absolute_lifetime_even_when_active(web: Web) -> None:
    settings = web.env.ctx.settings
    step = settings.session_idle_s // 2
    elapsed = 0
    while elapsed + step < settings.session_max_s:
        web.env.clock.advance(step)
        elapsed += step
        assert web.editor.get("/").headers["location"] == "/compose"
    web.env.clock.advance(settings.session_max_s - elapsed)
    assert web.editor.get("/").headers["location"].startswith("/login")


def test_throttle_locks_the_username_then_unlocks(web: Web) -> None:
    settings = web.env.ctx.settings
    client = web.anon()
    for _ in range(settings.login_max_failures_user - 1):
        assert _attempt(web, client, "leader", "not-the-password").status_code == 401
    locked = _attempt(web, client, "leader", "not-the-password")
    assert locked.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in locked.text and "15 phút" in locked.text
    # even the right password is refused while locked, with the same message
    right = _attempt(web, client, "leader", password_for("leader"))
    assert right.status_code == 429 and SESSION_COOKIE not in client.cookies
    assert "login.locked" in _actions(web)
    # another user from the same address is not locked by this
    assert _attempt(web, web.anon(), "editor", password_for("editor")).status_code == 303
    web.env.clock.advance(settings.login_lockout_s + 1)
    assert _attempt(web, client, "leader", password_for("leader")).status_code == 303


def test_throttle_by_address(web: Web) -> None:
    limit = web.env.ctx.settings.login_max_failures_ip
    client = web.anon()
    for i in range(limit):
        _attempt(web, client, f"guess-{i}", "not-the-password")
    response = _attempt(web, client, "admin", password_for("admin"))
    assert response.status_code == 429


def test_disabled_user_cannot_log_in(web: Web) -> None:
    assert web.admin.post("/users/viewer/active", {"active": "0"}).status_code == 303
    assert web.viewer.get("/").headers["location"].startswith("/login")  # logged out at once
    response = _attempt(web, web.anon(), "viewer", password_for("viewer"))
    assert response.status_code == 403 and "Tài khoản này đã bị khóa" in response.text


def test_no_accounts_yet_says_how_to_make_one(env) -> None:
    from fastapi.testclient import TestClient

    page = TestClient(env.client.app, base_url="https://testserver").get("/login")
    assert "Chưa có tài khoản nào" in page.text and "loa user add" in page.text


def test_plain_http_with_secure_cookies_is_explained(web: Web) -> None:
    from fastapi.testclient import TestClient

    plain = TestClient(web.env.client.app, base_url="http://testserver").get("/login")
    assert "LOA_COOKIE_SECURE=false" in plain.text
    assert "LOA_COOKIE_SECURE" not in web.anon().get("/login").text  # https: nothing to say


def test_a_locked_out_flood_does_not_fill_the_audit_log(web: Web) -> None:
    client = web.anon()
    for _ in range(web.env.ctx.settings.login_max_failures_user + 10):
        _attempt(web, client, "leader", "not-the-password")
    actions = _actions(web)
    assert actions.count("login.failed") == web.env.ctx.settings.login_max_failures_user
    assert actions.count("login.locked") == 1
