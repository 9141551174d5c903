"""The users page: only admins, forms keep what was typed, changes take effect at once."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from controller.accounts import users
from controller.accounts.roles import Role
from controller.models import AuditEntry
from tests.controller.web.conftest import Web

NEW = {"username": "hoa.tran", "display_name": "Trần Thị Hoa", "role": "editor",
       "password": "một câu dễ nhớ 2025", "password_again": "một câu dễ nhớ 2025"}


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_only_admins_see_users(web: Web, role: Role) -> None:
    page = web.as_role(role).get("/users")
    assert page.status_code == 403 and "Không có quyền truy cập" in page.text
    post = web.as_role(role).post("/users", NEW)
    assert post.status_code == 403
    assert 'href="/users"' not in web.as_role(role).get("/khong-co").text  # nor in their menu


def test_logged_out_is_sent_to_login(web: Web) -> None:
    assert web.anon().get("/users").headers["location"] == "/login?next=%2Fusers"


def test_admin_sees_everyone_and_the_menu(web: Web) -> None:
    page = web.admin.get("/users")
    assert page.status_code == 200
    for role in Role:
        assert f'id="user-{role.value}"' in page.text
    assert 'href="/users" aria-current="page"' in page.text
    assert "Chủ tịch Nguyễn Văn An" in page.text and "Kỹ thuật viên" in page.text


def test_add_user_then_they_can_log_in(web: Web) -> None:
    response = web.admin.post("/users", NEW)
    assert response.status_code == 303 and response.headers["location"] == "/users"
    assert "Đã thêm người dùng hoa.tran." in web.admin.get("/users").text
    assert web.login("hoa.tran", NEW["password"]).role is Role.EDITOR
    with Session(web.env.ctx.engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "user.added")).all()[-1]
    assert entry.actor == "admin" and entry.target == "user:hoa.tran"


def test_bad_form_keeps_values_and_explains_each_field(web: Web) -> None:
    bad = {**NEW, "username": "Hoa Trần!", "password": "ngắn", "password_again": "khác"}
    page = web.admin.post("/users", bad)
    assert page.status_code == 422
    assert "Chưa lưu được" in page.text
    assert "Tên đăng nhập không hợp lệ" in page.text
    assert "Mật khẩu quá ngắn: cần ít nhất 10 ký tự." in page.text
    assert 'value="Hoa Trần!"' in page.text and 'value="Trần Thị Hoa"' in page.text
    assert "ngắn" not in page.text.split("Mật khẩu quá ngắn")[1].split("</p>")[1]  # passwords never echoed
    assert '<option value="editor" selected>' in page.text


def test_mismatch_and_duplicate(web: Web) -> None:
    page = web.admin.post("/users", {**NEW, "password_again": "một câu khác hẳn 2025"})
    assert page.status_code == 422 and "Hai lần nhập mật khẩu không khớp nhau." in page.text
    taken = web.admin.post("/users", {**NEW, "username": "editor"})
    assert taken.status_code == 422 and "Tên đăng nhập “editor” đã có người dùng" in taken.text


def test_common_password_refused(web: Web) -> None:
    page = web.admin.post("/users", {**NEW, "password": "matkhau123", "password_again": "matkhau123"})
    assert page.status_code == 422 and "quá phổ biến" in page.text


def test_change_role_takes_effect_at_once(web: Web) -> None:
    assert web.viewer.get("/").headers["location"] == "/announcements"
    response = web.admin.post("/users/viewer/role", {"role": "technician"})
    assert response.status_code == 303
    assert "Đã đổi vai trò của viewer thành Kỹ thuật viên." in web.admin.get("/users").text
    assert web.viewer.get("/").headers["location"] == "/fleet"


def test_bad_role_is_explained(web: Web) -> None:
    page = web.admin.post("/users/viewer/role", {"role": "emperor"})
    assert page.status_code == 422 and "Vui lòng chọn một vai trò" in page.text


def test_last_admin_cannot_be_demoted_or_disabled(web: Web) -> None:
    page = web.admin.post("/users/admin/role", {"role": "viewer"})
    assert page.status_code == 422 and "quản trị viên cuối cùng" in page.text
    page = web.admin.post("/users/admin/active", {"active": "0"})
    assert page.status_code == 422
    assert web.admin.get("/users").status_code == 200


def test_reset_password_ends_their_sessions(web: Web) -> None:
    new = "mật khẩu mới rất dài"
    response = web.admin.post("/users/editor/password", {"password": new, "password_again": new})
    assert response.status_code == 303
    assert web.editor.get("/").headers["location"].startswith("/login")
    assert web.login("editor", new).role is Role.EDITOR


def test_own_password_reset_keeps_own_session(web: Web) -> None:
    new = "mật khẩu quản trị mới"
    assert web.admin.post("/users/admin/password", {"password": new, "password_again": new}).status_code == 303
    assert web.admin.get("/users").status_code == 200


def test_unknown_user_row_action(web: Web) -> None:
    page = web.admin.post("/users/khong-ai/active", {"active": "0"})
    assert page.status_code == 422 and "Không có người dùng “khong-ai”" in page.text


def test_disable_and_enable(web: Web) -> None:
    web.admin.post("/users/editor/active", {"active": "0"})
    with Session(web.env.ctx.engine) as session:
        assert users.get_user(session, "editor").active is False  # type: ignore[union-attr]
    web.admin.post("/users/editor/active", {"active": "1"})
    assert web.login("editor").role is Role.EDITOR
