"""The fleet dashboard follows the real agents live (server-sent events), without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OFFLINE_NODE, needs_chromium

pytestmark = [pytest.mark.integration, needs_chromium]


def test_a_stopped_agent_turns_offline_on_the_open_dashboard_and_node_page_and_back_online(page_for, stack):
    node = OFFLINE_NODE.id  # no other test targets this node
    page = page_for("technician")
    page.goto(stack.url + "/fleet")
    expect(page.get_by_role("heading", name="Tình trạng cụm loa")).to_be_visible()
    row = page.locator(f"tr[data-node-id='{node}']")
    badge = row.locator("[data-field='status']")
    expect(row).to_have_attribute("data-online", "true")
    expect(badge).to_have_text("Trực tuyến")
    expect(page.locator("#fleet-live")).to_have_attribute("data-state", "on")  # the stream is connected
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    total = page.locator("tr[data-node-id]").count()
    online = page.locator("tr[data-node-id][data-online='true']").count()
    expect(page.locator("#fleet-counts")).to_have_text(f"{online}/{total} cụm loa đang trực tuyến")
    node_page = page_for("technician", width=360)  # the node's own page, on a phone
    node_page.goto(stack.url + f"/nodes/{node}")
    node_row = node_page.locator(f"[data-live-row][data-node-id='{node}']")
    expect(node_row).to_have_attribute("data-online", "true")
    node_page.evaluate("window.__sameDocument = true")

    stack.stop_agent(node, kill=True)  # a power cut: no goodbye; the broker's last will tells
    try:
        # keepalive 2 s: the broker notices within 1.5 x keepalive, then the event reaches the page
        expect(row).to_have_attribute("data-online", "false", timeout=8_000)
        expect(badge).to_have_text("Mất kết nối")
        expect(page.locator("#fleet-counts")).to_have_text(f"{online - 1}/{total} cụm loa đang trực tuyến")
        assert page.evaluate("window.__sameDocument") is True  # updated in place, not reloaded
        expect(node_row).to_have_attribute("data-online", "false")
        expect(node_row.locator("[data-field='status']")).to_have_text("Mất kết nối")
        assert node_page.evaluate("window.__sameDocument") is True
    finally:
        stack.start_agent(node)
    expect(row).to_have_attribute("data-online", "true", timeout=20_000)
    expect(badge).to_have_text("Trực tuyến")
    assert page.evaluate("window.__sameDocument") is True
    expect(node_row).to_have_attribute("data-online", "true")
    assert node_page.evaluate("window.__sameDocument") is True
