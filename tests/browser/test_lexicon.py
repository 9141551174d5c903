"""An entry added on /lexicon changes how the next announcement is read."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import needs_chromium

pytestmark = [pytest.mark.integration, needs_chromium]


def test_an_added_reading_is_used_by_the_entry_preview_and_by_compose(page_for, stack):
    term, spoken = "HĐND", "hội đồng nhân dân"  # no other test's text holds this term
    page = page_for("editor")
    page.goto(stack.url + "/lexicon")
    expect(page.get_by_role("heading", name="Từ điển phát âm", level=1)).to_be_visible()

    add = page.locator("#add")
    add.get_by_role("button", name="Thêm vào từ điển").click()  # empty: refused in words
    expect(add.get_by_text("Vui lòng nhập từ cần dạy cách đọc.")).to_be_visible()
    add = page.locator("#add")
    add.get_by_label("Từ hoặc cụm từ").fill(term)
    add.get_by_label("Cách đọc").fill(spoken)
    add.get_by_label("Ghi chú (không bắt buộc)").fill("viết tắt trong công văn của xã")
    add.get_by_role("button", name="Thêm vào từ điển").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Đã thêm “{term}” vào từ điển.")

    entry = page.locator(".lexicon-entry").filter(has=page.locator(".term", has_text=re.compile(f"^{term}$")))
    expect(entry.locator(".spoken")).to_have_text(spoken)
    entry.get_by_role("button", name="Nghe thử").click()
    expect(entry.locator(".preview-status")).to_contain_text(spoken, timeout=30_000)
    expect(entry.locator("audio")).to_have_attribute("src", re.compile(r"/audio/[0-9a-f]{64}\.opus$"))

    page.goto(stack.url + "/compose")
    page.get_by_label("Nội dung bản tin").fill(f"Chiều mai {term} xã họp phiên bất thường.")
    page.get_by_role("button", name="Nghe thử").click()
    expect(page.locator("#preview-spoken")).to_contain_text(f"Chiều mai {spoken} xã họp", timeout=30_000)
