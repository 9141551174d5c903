"""The programme page (/programme) and stop-now (/programme/stop): the zone's plays in
Vietnam time with statuses, links and overlaps in Vietnamese; errors by field; the stop's
confirmation step, its signed commands (as the API's), audit, CSRF, escaping."""

from __future__ import annotations

import html
from typing import Any

from sqlmodel import select

from controller.models import Announcement
from controller.models.audit import AuditEntry
from protocol.commands import CommandKind
from protocol.signing import Verifier
from protocol.topics import zone_cmd
from tests.controller.programme_helpers import commands, schedule
from tests.controller.web.conftest import Web

XSS = "<script>alert('x')</script>"
DAY2 = "2025-07-02"
# The fake clock stands at 2025-07-01 15:00 in Vietnam.


def _seed(web: Web) -> dict[str, Any]:
    """A bulletin at 06:00 on thon-dong (text with markup), a relay 06:00–07:00 on the
    commune, an editor's bulletin at 09:00 awaiting approval, one elsewhere (thon-bac)."""
    ann = schedule(web.env, {"at": f"{DAY2}T06:00:00+07:00"}, text=f"{XSS} Lịch tiêm phòng cho trẻ")
    relay = web.env.client.post("/api/v1/relays", json={
        "url": "https://stream.vov.vn/vov1", "title": "Tiếp sóng VOV1", "targets": {"zones": ["xa-an-binh"]},
        "start_at": f"{DAY2}T06:00:00+07:00", "end_at": f"{DAY2}T07:00:00+07:00", "priority": "priority",
    }).json()  # fmt: skip
    r = web.editor.post("/compose", {
        "mode": "text", "text": "Họp dân thôn Đông", "rate": "150", "zones": ["thon-dong"], "priority": "normal",
        "when": "at", "at": f"{DAY2}T09:00", "repeat_count": "1", "repeat_gap": "0",
    })  # fmt: skip
    assert r.status_code == 303, r.text
    with web.env.session() as session:
        awaiting = session.exec(select(Announcement).where(Announcement.status == "awaiting_approval")).one()
    other = schedule(web.env, {"at": f"{DAY2}T08:00:00+07:00"}, text="Thôn Bắc thôi", targets={"zones": ["thon-bac"]})
    return {"ann": ann["id"], "relay": relay["id"], "awaiting": awaiting.id, "other": other["id"]}


def test_the_day_of_a_zone_with_links_statuses_and_overlaps(web: Web) -> None:
    ids = _seed(web)
    page = web.viewer.get(f"/programme?zone=thon-dong&from={DAY2}&days=1")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "Thôn Đông: 02/07/2025" in text and "3 lượt phát" in text
    assert f'href="/announcements/{ids["ann"]}"' in page.text and f'href="/relays#relay-{ids["relay"]}"' in page.text
    assert f'href="/announcements/{ids["awaiting"]}"' in page.text
    assert f'href="/announcements/{ids["other"]}"' not in page.text  # another hamlet
    assert "06:00" in text and "đến 07:00" in text and "09:00" in text  # Vietnam time, the relay's end
    assert "Phát ngay" not in text
    assert "Chờ duyệt" in text and "Chỉ phát nếu được duyệt" in text
    assert "Tiếp sóng VOV1" in text and "https://stream.vov.vn/vov1" in text and "Ưu tiên" in text
    assert XSS not in page.text and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Lịch tiêm phòng" in page.text
    # the bulletin and the relay share the speakers of thon-dong at 06:00
    assert "Lượt phát trùng giờ" in text
    assert (f"06:00 02/07/2025: tiếp sóng số {ids['relay']} trùng với bản tin số {ids['ann']} (mức thường) tại Thôn Đông; "
            "lượt phát thường kia lùi lại đến khi lượt này kết thúc.") in text  # fmt: skip
    assert text.count("trùng với") == 1  # the bulletin at 09:00 meets nothing; thon-bac's is elsewhere
    rows = page.text.index(f'/announcements/{ids["ann"]}'), page.text.index(f'/announcements/{ids["awaiting"]}')
    assert rows[0] < rows[1]  # time order within the day


def test_week_view_defaults_and_english(web: Web) -> None:
    ids = _seed(web)
    week = web.leader.get("/programme?zone=xa-an-binh&days=7")  # from today
    assert week.status_code == 200
    assert "Xã An Bình: 01/07/2025 – 07/07/2025" in week.text and "<h3>02/07/2025</h3>" in week.text
    assert f'href="/relays#relay-{ids["relay"]}"' in week.text and "/programme/stop" in week.text
    assert "/programme/stop" not in web.editor.get("/programme").text  # editors cannot stop
    default = web.viewer.get("/programme")
    assert default.status_code == 200 and "Xã An Bình: 01/07/2025" in default.text  # the first commune, today
    assert "Không có gì sẽ phát" in default.text
    web.viewer.client.post("/lang", data={"lang": "en", "next": "/programme", "csrf_token": web.viewer.csrf})
    english = web.viewer.get(f"/programme?zone=thon-dong&from={DAY2}")
    assert "Overlapping plays" in english.text and "Plays only if approved" in english.text
    assert web.anon().get("/programme").headers["location"].startswith("/login")


def test_bad_choices_are_explained_and_kept(web: Web) -> None:
    r = web.viewer.get("/programme?zone=nowhere&from=02-07-2025&days=3")
    assert r.status_code == 422
    text = html.unescape(r.text)
    assert "Khu vực này không có" in text and "Ngày không hợp lệ" in text and "Hãy chọn xem một ngày hoặc cả tuần" in text
    assert 'value="02-07-2025"' in r.text
    assert "Xã An Bình: 01/07/2025" in text  # the default is shown meanwhile
    for far in ("9999-12-31", "0001-01-01"):  # a page, never an overflow
        r = web.viewer.get(f"/programme?zone=thon-dong&from={far}&days=7")
        assert r.status_code == 422 and "Ngày không hợp lệ" in html.unescape(r.text)


def test_stop_asks_to_confirm_then_sends_signed_stops_like_the_api(web: Web, verifier: Verifier) -> None:
    assert web.leader.get("/programme/stop").status_code == 200
    assert web.editor.get("/programme/stop").status_code == 403
    data = {"zones": ["thon-dong", "xa-phu-my", "thon-bac"], "reason": "nhầm bản tin"}
    ask = web.leader.post("/programme/stop", data)
    assert ask.status_code == 200 and web.env.publisher.published == []  # nothing sent before the confirmation
    assert 'id="stop-confirm"' in ask.text and "Thôn Đông" in ask.text and "Xã Phú Mỹ" in ask.text
    assert 'name="confirm" value="1"' in ask.text and "Lý do: nhầm bản tin" in ask.text
    assert 'name="zones" value="thon-bac"' not in ask.text  # its commune covers it
    done = web.leader.post("/programme/stop", {**data, "zones": ["thon-dong", "xa-phu-my"], "confirm": "1"})
    assert done.status_code == 303 and done.headers["location"] == "/programme?zone=thon-dong"
    cmds = commands(verifier, web.env.publisher)
    assert [t for t, _ in cmds] == [zone_cmd("thon-dong"), zone_cmd("xa-phu-my")]
    assert all(c.kind is CommandKind.STOP and c.stop is not None and c.stop.reason == "nhầm bản tin" for _, c in cmds)
    with web.env.session() as session:
        (entry,) = session.exec(select(AuditEntry).where(AuditEntry.action == "zones.stop")).all()
    assert entry.actor == "leader" and entry.detail is not None
    assert entry.detail["zones"] == ["thon-dong", "xa-phu-my"] and entry.detail["commands"] == [c.id for _, c in cmds]
    assert "Đã gửi lệnh dừng phát tới Thôn Đông, Xã Phú Mỹ." in web.leader.get("/programme").text


def test_stop_errors_csrf_and_a_broken_broker(web: Web) -> None:
    empty = web.leader.post("/programme/stop", {"reason": "nhầm", "confirm": "1"})
    assert empty.status_code == 422 and "Hãy chọn ít nhất một khu vực cần dừng phát." in empty.text
    assert 'value="nhầm"' in empty.text
    unknown = web.leader.post("/programme/stop", {"zones": ["nowhere"], "confirm": "1"})
    assert unknown.status_code == 422 and "Không có khu vực: nowhere" in unknown.text
    long = web.leader.post("/programme/stop", {"zones": ["thon-dong"], "reason": "x" * 201, "confirm": "1"})
    assert long.status_code == 422 and "Lý do dài quá" in long.text
    assert 'value="thon-dong" data-tree="zone" checked' in long.text
    control = web.leader.post("/programme/stop", {"zones": ["thon-dong"], "reason": "nhầm\x00", "confirm": "1"})
    assert control.status_code == 422 and "ký tự điều khiển" in control.text
    forged = web.leader.post("/programme/stop", {"zones": ["thon-dong"], "confirm": "1", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert web.env.publisher.published == []
    web.env.publisher.fail_topics.add(zone_cmd("thon-dong"))
    broken = web.leader.post("/programme/stop", {"zones": ["thon-dong"], "confirm": "1"})
    assert broken.status_code == 503 and "Chưa gửi được lệnh dừng" in broken.text
    xss = web.leader.post("/programme/stop", {"zones": ["thon-dong"], "reason": XSS})
    assert xss.status_code == 200 and XSS not in xss.text
