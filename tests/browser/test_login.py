"""Logging in and out in a real browser against the real controller process."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import USERNAMES, needs_chromium

pytestmark = [pytest.mark.integration, needs_chromium]


def test_wrong_password_keeps_the_username_then_login_lands_on_the_page_asked_for_and_logout(page_for, stack):
    page = page_for(None, width=360)
    page.goto(stack.url + "/compose")
    expect(page).to_have_url(stack.url + "/login?next=%2Fcompose")
    expect(page).to_have_title(re.compile(r"^Đăng nhập · "))

    username = USERNAMES["editor"]
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill("không phải mật khẩu này")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("alert")).to_contain_text("Tên đăng nhập hoặc mật khẩu không đúng")
    expect(page.get_by_label("Tên đăng nhập")).to_have_value(username)
    expect(page.get_by_label("Mật khẩu")).to_have_value("")  # a password is never sent back
    expect(page.get_by_label("Mật khẩu")).to_be_focused()  # the username is there: type the password

    page.get_by_label("Mật khẩu").fill(stack.web_users[username])
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(stack.url + "/compose")
    nav = page.get_by_role("navigation", name="Trình đơn")
    expect(nav).to_contain_text("Cán bộ văn hóa – thông tin (demo)")
    expect(nav.get_by_role("link", name="Soạn tin")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Người dùng")).to_have_count(0)  # an editor manages no accounts

    nav.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(stack.url + "/login?bye=1")
    expect(page.get_by_role("status")).to_have_text("Bạn đã đăng xuất.")
    page.goto(stack.url + "/compose")  # the session is gone on the server too
    expect(page).to_have_url(stack.url + "/login?next=%2Fcompose")


@pytest.mark.parametrize(("role", "start"), [("technician", "/fleet"), ("leader", "/compose")])
def test_each_role_starts_where_its_work_is(page_for, stack, role, start):
    page = page_for(role)
    page.goto(stack.url + "/")
    expect(page).to_have_url(stack.url + start)
