"""A technician adds a hamlet and a speaker on /zones; the rest of the app sees them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import needs_chromium

pytestmark = [pytest.mark.integration, needs_chromium]


def test_new_hamlet_and_speaker_show_their_one_time_password_then_appear_in_compose_and_fleet(page_for, stack):
    page = page_for("technician")
    page.goto(stack.url + "/zones")
    expect(page.get_by_role("heading", name="Khu vực và cụm loa", level=1)).to_be_visible()

    add_zone = page.locator("#add-zone")
    add_zone.get_by_label("Mã khu vực").fill("thon-nam")
    add_zone.get_by_label("Tên khu vực").fill("Thôn Nam")
    add_zone.get_by_label("Thuộc").select_option("xa-an-binh")
    add_zone.get_by_role("button", name="Thêm khu vực").click()
    expect(page.get_by_role("status").first).to_contain_text("Đã thêm khu vực Thôn Nam.")

    add_node = page.locator("#add-node")
    add_node.get_by_label("Mã cụm loa").fill("thon-nam-1")
    add_node.get_by_label("Tên cụm loa").fill("Cụm loa trường tiểu học thôn Nam")
    add_node.get_by_label("Khu vực (thôn)").select_option("thon-nam")
    add_node.get_by_role("button", name="Thêm cụm loa").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đã thêm cụm loa Cụm loa trường tiểu học thôn Nam")
    expect(page.locator("#mqtt-username")).to_have_text("thon-nam-1")
    assert len(page.locator("#mqtt-password").inner_text().strip()) >= 16  # shown once, never again
    page.get_by_role("link", name="Tôi đã sao chép, quay lại danh sách").click()
    expect(page).to_have_url(stack.url + "/zones#node-thon-nam-1")
    expect(page.locator("main")).to_contain_text("Cụm loa trường tiểu học thôn Nam")

    editor = page_for("editor")
    editor.goto(stack.url + "/compose")
    expect(editor.get_by_role("checkbox", name="Thôn Nam", exact=True)).to_be_visible()
    expect(editor.get_by_role("checkbox", name=re.compile(r"\(thon-nam-1\)"))).to_be_visible()

    page.goto(stack.url + "/fleet")
    row = page.locator("tr[data-node-id='thon-nam-1']")
    expect(row.locator("[data-field='status']")).to_have_text("Chưa từng kết nối")
