"""A technician's commands on /nodes/{id} reach the real agent and its answers come back."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import needs_chromium

pytestmark = [pytest.mark.integration, needs_chromium]


def reload_until(page, locator, timeout: float = 15) -> None:
    """The answers section is rendered by the server ("reload in a few seconds"): reload
    until `locator` is there, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while locator.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    expect(locator).to_have_count(1, timeout=1)


def test_volume_and_test_tone_are_answered_by_the_node(page_for, stack):
    node = "thon-dong-2"
    page = page_for("technician")
    page.goto(stack.url + f"/nodes/{node}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cụm loa chợ thôn Đông")

    page.get_by_label("Âm lượng (0–100 %)").fill("135")
    page.get_by_role("button", name="Đặt âm lượng").click()
    expect(page.locator("#cmd-volume-error")).to_be_visible()  # refused in words, value kept
    expect(page.get_by_label("Âm lượng (0–100 %)")).to_have_value("135")

    page.get_by_label("Âm lượng (0–100 %)").fill("35")
    page.get_by_role("button", name="Đặt âm lượng").click()
    expect(page).to_have_url(re.compile(rf"/nodes/{node}\?command=[^#]+#answers$"))
    expect(page.get_by_role("status").first).to_contain_text("Đã gửi lệnh “đặt âm lượng”")
    reload_until(page, page.locator("#answers li[data-event='applied']"))

    page.get_by_role("button", name="Phát âm thử (2 giây)").click()
    expect(page.get_by_role("status").first).to_contain_text("Đã gửi lệnh “phát âm thử”")
    reload_until(page, page.locator("#answers li[data-event='finished']"), timeout=25)

    # the node's next telemetry carries the new volume: live on this page and on the fleet's
    expect(page.locator("[data-live-row] [data-field='volume']")).to_have_text("35 %", timeout=10_000)
    page.goto(stack.url + "/fleet")
    expect(page.locator(f"tr[data-node-id='{node}'] [data-field='volume']")).to_have_text("35 %")
