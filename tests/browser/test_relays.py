"""A leader schedules a relay (tiếp sóng) of a local live stream on /relays, the speaker
plays it, the programme shows it, and cancelling from the page stops it."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import needs_chromium
from tests.speaker_agent.streams import LiveStream, make_tone

pytestmark = [pytest.mark.integration, needs_chromium]

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TITLE = "Tiếp sóng Đài Phát thanh tỉnh (thử)"


def relay_states(stack, relay_id: int, wanted: str, timeout: float = 30) -> dict[str, str]:
    """Poll the relay (REST API) until thon-tay-1 is in `wanted` (or the deadline)."""
    deadline = time.monotonic() + timeout
    with stack.api() as api:
        while True:
            got = api.get(f"/api/v1/relays/{relay_id}").json()
            states = {d["node_id"]: d["state"] for d in got["deliveries"] or []}
            if states.get("thon-tay-1") == wanted or time.monotonic() > deadline:
                return states
            time.sleep(0.3)


def test_leader_relays_a_stream_from_the_page_and_cancels_it(page_for, stack, tmp_path):
    tone = make_tone(tmp_path / "tone.mp3")
    relay_id = None
    with LiveStream(tone) as stream:
        try:
            while datetime.now(VN).second >= 40:  # the form takes minutes: start this minute, within the grace
                time.sleep(0.5)
            start = datetime.now(VN).replace(second=0, microsecond=0)
            page = page_for("leader", width=360)
            page.goto(stack.url + "/relays")
            form = page.locator("#relay-form")
            form.get_by_label("Địa chỉ luồng phát (URL)").fill(stream.url)
            form.get_by_label("Tên buổi tiếp sóng").fill(TITLE)
            form.get_by_label("Bắt đầu (giờ Việt Nam)").fill(start.strftime("%Y-%m-%dT%H:%M"))
            form.get_by_label("Kết thúc (giờ Việt Nam)").fill((start + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M"))
            form.get_by_label("Thôn Tây").check()
            form.get_by_role("button", name="Lên lịch tiếp sóng").click()
            expect(page.get_by_role("status").first).to_contain_text("và gửi tới các cụm loa")
            relay_id = int(re.search(r"#relay-(\d+)$", page.url).group(1))  # type: ignore[union-attr]
            item = page.locator(f"#relay-{relay_id}")
            expect(item).to_contain_text(TITLE)
            expect(item).to_contain_text("Thôn Tây")
            assert relay_states(stack, relay_id, "started").get("thon-tay-1") == "started"

            page.goto(stack.url + "/programme?zone=thon-tay")
            expect(page.get_by_role("link", name=TITLE)).to_have_attribute("href", f"/relays#relay-{relay_id}")

            page.goto(stack.url + "/relays")
            page.once("dialog", lambda dialog: dialog.accept())
            page.locator(f"#relay-{relay_id}").get_by_role("button", name="Hủy tiếp sóng").click()
            expect(page.get_by_role("status").first).to_contain_text(f"Đã hủy tiếp sóng số {relay_id}.")
            expect(page.locator(f"#relay-{relay_id}")).to_contain_text("Đã hủy")
            assert relay_states(stack, relay_id, "cancelled").get("thon-tay-1") == "cancelled"
        finally:
            if relay_id is not None:  # never leave a stream playing on thon-tay for the next tests
                with stack.api() as api:
                    api.post(f"/api/v1/relays/{relay_id}/cancel")
