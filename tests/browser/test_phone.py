"""On a 360 px phone: no page scrolls sideways, and the menu can be used."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, needs_chromium

pytestmark = [pytest.mark.integration, needs_chromium]

PAGES = [
    (None, "/login"),
    ("leader", "/compose"),
    ("leader", "/approvals"),
    ("viewer", "/announcements"),
    ("viewer", "/announcements/{ann}"),
    ("technician", "/fleet"),
    ("technician", "/nodes/thon-dong-1"),
    ("technician", "/zones"),
    ("editor", "/lexicon"),
    ("admin", "/users"),
]

WIDER_THAN_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll("body *")]
    .filter(el => el.getClientRects().length && el.getBoundingClientRect().right > width + 1)
    .slice(0, 5)
    .map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + String(el.className).split(" ").join(".") : ""));
}"""


@pytest.mark.parametrize(("role", "path"), PAGES, ids=[p for _, p in PAGES])
def test_no_sideways_scrolling_at_360_px(page_for, stack, role, path):
    if "{ann}" in path:  # an announcement played on three speakers: the detail lists them all
        with stack.api() as api:
            r = api.post("/api/v1/announcements", json={"text": "Thử loa toàn xã lúc 6 giờ sáng.", "targets": {"all": True}})
        assert r.status_code == 201, r.text
        path = path.format(ann=r.json()["id"])
    page = page_for(role, width=PHONE["width"])
    response = page.goto(stack.url + path)
    assert response is not None and response.ok, (path, response and response.status)
    expect(page.locator("main h1").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width} px wide at 360 px; too wide: {page.evaluate(WIDER_THAN_SCREEN)}"


def test_the_menu_works_on_a_phone(page_for, stack):
    page = page_for("admin", width=PHONE["width"])
    page.goto(stack.url + "/users")
    nav = page.get_by_role("navigation", name="Trình đơn")
    for name, path in [("Cụm loa", "/fleet"), ("Soạn tin", "/compose"), ("Người dùng", "/users")]:
        link = nav.get_by_role("link", name=name, exact=True)
        link.scroll_into_view_if_needed()
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (name, box)
        assert box["height"] >= 24, f"the {name!r} link is {box['height']} px tall: too small a target for a finger"
        link.click()
        expect(page).to_have_url(stack.url + path)
        expect(page.get_by_role("navigation", name="Trình đơn").get_by_role("link", name=name, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
