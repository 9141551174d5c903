"""CSRF on every unsafe request, the Origin check, security headers, escaping, error pages."""

from __future__ import annotations

from controller.accounts.roles import Role
from controller.web.security import CSP
from tests.controller.web.conftest import Web, csrf_from


def test_post_without_token_is_refused_in_vietnamese(web: Web) -> None:
    response = web.admin.client.post("/users/viewer/active", data={"active": "0"})
    assert response.status_code == 403
    assert "Biểu mẫu đã hết hạn" in response.text
    assert web.viewer.get("/").status_code == 303 and web.viewer.get("/").headers["location"] == "/announcements"


def test_post_with_a_wrong_token_is_refused(web: Web) -> None:
    response = web.admin.post("/users/viewer/active", {"active": "0", "csrf_token": "x" * 43})
    assert response.status_code == 403


def test_token_of_another_session_is_refused(web: Web) -> None:
    response = web.admin.post("/users/viewer/active", {"active": "0", "csrf_token": web.editor.csrf})
    assert response.status_code == 403


def test_right_token_works_as_field_and_as_header(web: Web) -> None:
    assert web.admin.post("/users/viewer/active", {"active": "0"}).status_code == 303
    header = web.admin.client.post(
        "/users/viewer/active", data={"active": "1"}, headers={"X-CSRF-Token": web.admin.csrf}
    )
    assert header.status_code == 303


def test_cross_origin_post_is_refused_even_with_the_token(web: Web) -> None:
    evil = web.admin.post("/users/viewer/active", {"active": "0"}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    referer = web.admin.post("/users/viewer/active", {"active": "0"}, headers={"Referer": "https://evil.example/x"})
    assert referer.status_code == 403
    same = web.admin.post("/users/viewer/active", {"active": "0"}, headers={"Origin": "https://testserver"})
    assert same.status_code == 303


def test_login_form_needs_its_pre_login_token(web: Web) -> None:
    client = web.anon()
    no_cookie = client.post("/login", data={"username": "admin", "password": "x", "csrf_token": "abc"})
    assert no_cookie.status_code == 403
    page = client.get("/login")
    first = web.anon().get("/login")
    assert "loa_csrf" in first.headers["set-cookie"] and "SameSite=strict" in first.headers["set-cookie"]
    wrong = client.post("/login", data={"username": "admin", "password": "x", "csrf_token": "wrong" + csrf_from(page)})
    assert wrong.status_code == 403


def test_json_endpoint_convention_401_when_logged_out(web: Web) -> None:
    response = web.anon().get("/ui/anything")
    assert response.status_code in (401, 404)  # no /ui route here; a real one answers 401 JSON (see test below)


def test_security_headers_on_pages(web: Web) -> None:
    page = web.anon().get("/login")
    assert page.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in page.text and "style=" not in page.text  # nothing inline for the CSP to block


def test_static_files_are_served(web: Web) -> None:
    css = web.anon().get("/static/loa.css")
    assert css.status_code == 200 and "focus-visible" in css.text
    js = web.anon().get("/static/loa.js")
    assert js.status_code == 200 and "X-CSRF-Token" in js.text


def test_display_name_is_escaped(web: Web) -> None:
    evil = '<script>alert("x")</script>'
    web.add_user("mallory", Role.ADMIN, display_name=evil)
    mallory = web.login("mallory")
    for page in (web.admin.get("/users"), mallory.get("/users")):
        assert page.status_code == 200
        assert evil not in page.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_unknown_page_is_a_vietnamese_404_and_api_keeps_json(web: Web) -> None:
    page = web.viewer.get("/khong-co-trang-nay")
    assert page.status_code == 404 and "Không tìm thấy trang" in page.text
    api = web.env.client.get("/api/v1/nope")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}


def test_language_switch_to_english_and_back(web: Web) -> None:
    admin = web.admin
    response = admin.post("/lang", {"lang": "en", "next": "/users"})
    assert response.status_code == 303 and response.headers["location"] == "/users"
    page = admin.get("/users")
    assert '<html lang="en">' in page.text and "Add a user" in page.text
    admin.post("/lang", {"lang": "vi", "next": "https://evil.example/"})
    assert "Thêm người dùng" in admin.get("/users").text


def test_language_switch_before_login(web: Web) -> None:
    client = web.anon()
    page = client.get("/login")
    client.post("/lang", data={"lang": "en", "next": "/login", "csrf_token": csrf_from(page)})
    assert "Log in" in client.get("/login").text


def test_form_sent_after_the_session_ended_keeps_what_was_typed(web: Web) -> None:
    admin = web.admin
    web.env.clock.advance(web.env.ctx.settings.session_idle_s + 1)
    form = {"username": "hoa", "display_name": "Trần Thị <Hoa>", "role": "editor",
            "password": "bí mật không hiện", "password_again": "bí mật không hiện"}
    response = admin.post("/users", form, headers={"Referer": "https://testserver/users"})
    assert response.status_code == 401
    assert "Phiên đăng nhập đã hết hạn" in response.text and "CHƯA được lưu" in response.text
    assert "Trần Thị &lt;Hoa&gt;" in response.text  # shown back, escaped
    assert "bí mật không hiện" not in response.text and admin.csrf not in response.text.split("csrf-token")[-1]
    assert 'href="/login?next=/users"' in response.text


def test_csrf_refusal_also_shows_what_was_typed(web: Web) -> None:
    response = web.admin.post("/users", {"display_name": "Lê Văn Tám", "csrf_token": "stale"})
    assert response.status_code == 403 and "Lê Văn Tám" in response.text and "Nội dung bạn đã nhập" in response.text
