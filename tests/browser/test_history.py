"""The history pages and the approval queue's other answer: filters, the playback log as
CSV, and a rejection whose reason reaches the editor."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import needs_chromium, plays_of, wait_states

pytestmark = [pytest.mark.integration, needs_chromium]


def post(stack, text: str, nodes: list[str]) -> int:
    with stack.api() as api:
        r = api.post("/api/v1/announcements", json={"text": text, "targets": {"nodes": nodes}})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_viewer_filters_by_hamlet_and_downloads_the_playback_log(page_for, stack):
    tay = post(stack, "Thôn Tây: sáng thứ Bảy thu gom rác thải nhựa tại đầu làng.", ["thon-tay-1"])
    dong = post(stack, "Thôn Đông: sáng thứ Bảy thu gom rác thải nhựa tại chợ.", ["thon-dong-1"])
    assert wait_states(stack, tay, {"finished"}) == {"thon-tay-1": "finished"}
    assert wait_states(stack, dong, {"finished"}) == {"thon-dong-1": "finished"}

    page = page_for("viewer")
    page.goto(stack.url + "/announcements")
    expect(page.locator(f"#ann-{dong}")).to_be_visible()
    page.get_by_label("Khu vực").select_option("thon-tay")
    page.get_by_label("Trạng thái tại cụm loa").select_option(label="Đã phát xong")
    page.get_by_role("button", name="Lọc").click()
    expect(page).to_have_url(re.compile(r"/announcements\?.*zone=thon-tay"))
    expect(page.locator(f"#ann-{tay}")).to_contain_text("thu gom rác thải nhựa tại đầu làng")
    expect(page.locator(f"#ann-{dong}")).to_have_count(0)
    expect(page.get_by_label("Khu vực")).to_have_value("thon-tay")  # the filter stays chosen

    with page.expect_download() as download:
        page.get_by_role("link", name="Tải nhật ký phát (CSV)").click()
    assert re.fullmatch(r"loa-nhat-ky-phat-\d{8}-\d{4}\.csv", download.value.suggested_filename)
    data = download.value.path().read_text(encoding="utf-8")
    assert data.startswith("\ufeff"), "no byte-order mark: Excel would garble the Vietnamese"
    rows = list(csv.DictReader(io.StringIO(data.removeprefix("\ufeff"))))
    ours = [r for r in rows if r["announcement_id"] == str(tay)]
    assert [(r["node"], r["state"], r["text"]) for r in ours] == [
        ("thon-tay-1", "finished", "Thôn Tây: sáng thứ Bảy thu gom rác thải nhựa tại đầu làng.")
    ]
    assert not [r for r in rows if r["announcement_id"] == str(dong)]  # filtered out, as on the page


def test_leader_rejects_with_a_reason_and_the_editor_sees_it(page_for, stack):
    text = "Thông báo thu quỹ khuyến học năm 2026, mỗi hộ 100.000 đồng, nộp cho trưởng thôn Đông."
    editor = page_for("editor")
    editor.goto(stack.url + "/compose")
    editor.get_by_label("Nội dung bản tin").fill(text)
    editor.get_by_role("checkbox", name=re.compile(r"\(thon-dong-1\)")).check()
    editor.get_by_role("button", name="Gửi chờ duyệt").click()
    expect(editor).to_have_url(re.compile(r"/announcements/\d+$"), timeout=30_000)
    ann = int(editor.url.rsplit("/", 1)[1])

    leader = page_for("leader")
    leader.goto(stack.url + "/approvals")
    item = leader.locator(f"#approval-{ann}")
    item.get_by_role("button", name="Từ chối").click()  # without a reason: refused, nothing decided
    item = leader.locator(f"#approval-{ann}")
    expect(item.get_by_role("alert")).to_have_text("Hãy ghi lý do từ chối để người soạn biết cần sửa gì.")
    reason = "Chưa có quyết định của Hội đồng nhân dân về mức thu; chờ văn bản rồi gửi lại."
    item.get_by_label("Nhận xét cho người soạn").fill(reason)
    item.get_by_role("button", name="Từ chối").click()
    expect(leader.get_by_role("status").first).to_contain_text(f"Đã từ chối bản tin số {ann}")
    expect(leader.locator(f"#approval-{ann}")).to_have_count(0)

    editor.goto(stack.url + "/announcements")
    mine = editor.locator(f"#mine-{ann}")
    expect(mine).to_contain_text("Bị từ chối")
    expect(mine).to_contain_text(reason)
    assert all(plays_of(stack, n, ann) == [] for n in ("thon-dong-1", "thon-dong-2", "thon-tay-1"))


def test_leader_schedules_then_cancels_after_confirming(page_for, stack):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    text = "Nhắc lịch: sáng ngày kia thu hoạch cà phê tập trung tại sân kho hợp tác xã thôn Tây."
    when = (datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(days=2)).replace(hour=6, minute=15)
    page = page_for("leader")
    page.goto(stack.url + "/compose")
    page.get_by_label("Nội dung bản tin").fill(text)
    page.get_by_role("checkbox", name=re.compile(r"\(thon-tay-1\)")).check()
    page.get_by_role("radio", name="Hẹn giờ").check()
    page.get_by_label("Ngày giờ phát (giờ Việt Nam)").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Gửi phát").click()
    expect(page).to_have_url(re.compile(r"/announcements/\d+$"), timeout=30_000)
    ann = int(page.url.rsplit("/", 1)[1])
    card = page.locator(f"#ann-{ann}")
    expect(card).to_contain_text("Đã lên lịch")
    expect(card).to_contain_text(when.strftime("%H:%M"))

    questions: list[str] = []
    page.once("dialog", lambda d: (questions.append(d.message), d.dismiss()))
    page.get_by_role("button", name="Hủy bản tin").click()  # "no" to the question: nothing happens
    expect(card).to_contain_text("Đã lên lịch")
    assert questions and f"Hủy bản tin số {ann}?" in questions[0]
    with stack.api() as api:
        assert api.get(f"/api/v1/announcements/{ann}").json()["status"] == "scheduled"

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Hủy bản tin").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Đã hủy bản tin số {ann}.")
    expect(page.locator(f"#ann-{ann}")).to_contain_text("Đã hủy")
    with stack.api() as api:
        assert api.get(f"/api/v1/announcements/{ann}").json()["status"] == "cancelled"
