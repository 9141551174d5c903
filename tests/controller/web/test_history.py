"""History: the list (filters, pagination, own pending/rejected bulletins), one announcement
with its state on each speaker, cancelling, and the CSV playback log (BOM, formula guard)."""

from __future__ import annotations

import csv
import io

from sqlmodel import select

from controller.accounts.roles import Role
from controller.models import Announcement, Delivery
from tests.controller.web.conftest import Web
from tests.controller.web.test_compose import XSS, compose


def send(web: Web, who: str = "leader", **overrides: object) -> int:
    r = getattr(web, who).post("/compose", compose(**overrides))
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def set_state(web: Web, ann_id: int, node: str, state: str) -> None:
    with web.env.session() as s:
        row = s.exec(select(Delivery).where(Delivery.announcement_id == ann_id, Delivery.node_id == node)).one()
        row.state = state
        s.add(row)
        s.commit()


def test_every_role_reads_history_and_logged_out_is_sent_to_login(web: Web) -> None:
    ann_id = send(web)
    for who in (web.admin, web.leader, web.editor, web.technician, web.viewer):
        assert who.get("/announcements").status_code == 200
        assert who.get(f"/announcements/{ann_id}").status_code == 200
        assert who.get("/announcements/export.csv").status_code == 200
    anon = web.anon()
    for url in ("/announcements", f"/announcements/{ann_id}", "/announcements/export.csv"):
        assert anon.get(url).headers["location"].startswith("/login?next=")
    assert web.viewer.get("/announcements/999").status_code == 404


def test_text_with_markup_is_shown_as_text(web: Web) -> None:
    ann_id = send(web, text=XSS)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;"
    for url in ("/announcements", f"/announcements/{ann_id}"):
        page = web.viewer.get(url).text
        assert "<script>alert(1)" not in page and "<b>x</b>" not in page and escaped in page, url


def test_detail_shows_states_on_each_speaker_and_who_did_what(web: Web) -> None:
    ann_id = send(web, zones=["thon-dong"], nodes=["tay-1"])
    set_state(web, ann_id, "dong-1", "finished")
    set_state(web, ann_id, "dong-2", "expired")
    set_state(web, ann_id, "dong-3", "preempted")
    set_state(web, ann_id, "tay-1", "failed")
    page = web.viewer.get(f"/announcements/{ann_id}").text
    for words in ("Đã phát xong", "Lỡ (hết hạn)", "Bị ngắt", "Lỗi", "Cụm loa nhà văn hóa", "Thôn Tây",
                  "Chủ tịch Nguyễn Văn An", "Người duyệt", "Đã gửi", "Phát ngay", "Giọng Bắc — "):
        assert words in page, words
    with web.env.session() as s:
        sha = s.get(Announcement, ann_id).audio_sha256  # type: ignore[union-attr]
    assert f'src="/audio/{sha}.opus"' in page
    assert 'id="cancel-button"' not in page  # viewers cannot cancel
    assert 'id="cancel-button"' not in web.leader.get(f"/announcements/{ann_id}").text  # all speakers done
    fresh = send(web, nodes=["bac-1"], zones=[])
    assert 'id="cancel-button"' in web.leader.get(f"/announcements/{fresh}").text  # still on its way
    urgent = send(web, priority="emergency", confirm_emergency="1")
    assert "Khẩn cấp, không qua duyệt" in web.viewer.get(f"/announcements/{urgent}").text


def test_the_list_says_how_many_speakers_played_each_announcement(web: Web) -> None:
    ann_id = send(web, zones=["thon-dong"], nodes=[])
    set_state(web, ann_id, "dong-1", "finished")
    set_state(web, ann_id, "dong-2", "finished")
    set_state(web, ann_id, "dong-3", "expired")
    page = web.viewer.get("/announcements").text
    item = page[page.index(f'id="ann-{ann_id}"'):]
    item = item[: item.index("</li>")]
    assert 'data-state="finished">Đã phát xong: 2<' in item
    assert 'data-state="expired">Lỡ (hết hạn): 1<' in item


def test_cancel_needs_the_right_role_and_csrf(web: Web) -> None:
    ann_id = send(web, when="at", at="2025-07-02T06:00")
    assert 'id="cancel-button"' in web.leader.get(f"/announcements/{ann_id}").text
    for who in (web.editor, web.technician, web.viewer):
        assert who.post(f"/announcements/{ann_id}/cancel").status_code == 403
    assert web.leader.client.post(f"/announcements/{ann_id}/cancel").status_code == 403
    assert web.leader.post(f"/announcements/{ann_id}/cancel", {"csrf_token": "sai"}).status_code == 403
    with web.env.session() as s:
        assert s.get(Announcement, ann_id).status == "scheduled"  # type: ignore[union-attr]
    r = web.leader.post(f"/announcements/{ann_id}/cancel")
    assert (r.status_code, r.headers["location"]) == (303, f"/announcements/{ann_id}")
    page = web.leader.get(f"/announcements/{ann_id}").text
    assert f"Đã hủy bản tin số {ann_id}." in page and "Đã hủy" in page and 'id="cancel-button"' not in page
    missing = web.leader.post("/announcements/999/cancel")
    assert missing.status_code == 303 and "Chưa hủy được bản tin số 999" in web.leader.get("/announcements").text


def test_filters_and_pagination(web: Web) -> None:
    dong = send(web, zones=["thon-dong"])
    bac = send(web, zones=[], nodes=["bac-1"], priority="priority")
    commune = send(web, zones=["xa-an-binh"])
    waiting = send(web, who="editor", zones=["thon-tay"])
    set_state(web, dong, "dong-1", "finished")

    def ids(query: str, among: tuple[int, ...] = (dong, bac, commune, waiting)) -> set[int]:
        page = web.viewer.get("/announcements?" + query)
        assert page.status_code == 200, page.text
        return {i for i in among if f'id="ann-{i}"' in page.text}

    assert ids("") == {dong, bac, commune, waiting}
    assert ids("zone=thon-dong") == {dong, commune}  # a commune bulletin plays in its hamlets too
    assert ids("zone=xa-phu-my") == {bac}
    assert ids("priority=priority") == {bac}
    assert ids("status=awaiting_approval") == {waiting}
    assert ids("state=finished") == {dong}
    assert ids("from=2025-07-01&to=2025-07-01") == {dong, bac, commune, waiting}  # 15:00 in Vietnam
    assert ids("from=2025-07-02") == set()
    web.env.clock.advance(9 * 3600 + 60)  # 00:01 on 2 July in Vietnam, still 1 July in UTC
    web.clients[Role.LEADER] = web.login("leader")  # the sessions went idle meanwhile
    web.clients[Role.VIEWER] = web.login("viewer")
    late = send(web)
    assert ids("from=2025-07-02", (dong, late)) == {late}
    assert ids("to=2025-07-01", (dong, late)) == {dong}
    bad = web.viewer.get("/announcements?from=hôm-qua&zone=nowhere&priority=urgent")
    assert bad.status_code == 422
    assert "Ngày không hợp lệ" in bad.text and bad.text.count("Lựa chọn không hợp lệ") == 2
    assert 'value="hôm-qua"' in bad.text
    for _ in range(25):
        send(web)
    first = web.viewer.get("/announcements").text
    assert "Trang 1/2" in first and 'href="/announcements?page=2"' in first
    second = web.viewer.get("/announcements?page=2").text
    assert f'id="ann-{dong}"' in second and "Trang 2/2" in second


def test_editor_sees_own_pending_and_rejected_with_the_comment(web: Web) -> None:
    ann_id = send(web, who="editor", text="Họp chi bộ")
    page = web.editor.get("/announcements").text
    assert f'id="mine-{ann_id}"' in page and "Chờ duyệt" in page
    assert f'id="mine-{ann_id}"' not in web.viewer.get("/announcements").text
    web.leader.post(f"/approvals/{ann_id}/reject", {"comment": "Sai giờ họp"})
    page = web.editor.get("/announcements").text
    assert "Bị từ chối" in page and "Sai giờ họp" in page and "Người từ chối" in page


def test_csv_export(web: Web) -> None:
    evil = send(web, text="=HYPERLINK(\"http://x\")", zones=["thon-tay"])
    plain = send(web, text="Thông báo: lịch tiêm chủng", nodes=["bac-1"], zones=[])
    set_state(web, evil, "tay-1", "finished")
    r = web.viewer.get("/announcements/export.csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["announcement_id", "created", "priority", "text", "node", "zone", "play_at", "state", "updated_at"]
    body = rows[1:]
    assert len(body) == 3  # tay-1, tay-2, bac-1
    by_node = {row[4]: row for row in body}
    assert by_node["bac-1"][:6] == [str(plain), "2025-07-01 15:00:00", "normal", "Thông báo: lịch tiêm chủng", "bac-1", "thon-bac"]
    assert by_node["tay-1"][3] == "'=HYPERLINK(\"http://x\")" and by_node["tay-1"][7] == "finished"
    assert by_node["tay-2"][7] == "sent"
    only = list(csv.reader(io.StringIO(web.viewer.get("/announcements/export.csv?state=finished").content.decode("utf-8-sig"))))
    assert [row[4] for row in only[1:]] == ["tay-1"]
    zone = list(csv.reader(io.StringIO(web.viewer.get("/announcements/export.csv?zone=thon-bac").content.decode("utf-8-sig"))))
    assert [row[4] for row in zone[1:]] == ["bac-1"]
    assert web.viewer.get("/announcements/export.csv?from=xx").status_code == 422


def test_formula_guard() -> None:
    from controller.web.history_csv import safe_cell

    assert [safe_cell(v) for v in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "ok", 5, None)] == [
        "'=1+1", "'+1", "'-2", "'@SUM(A1)", "'\tx", "ok", "5", ""]


def test_ids_the_database_cannot_hold_are_refused_not_a_crash(web: Web) -> None:
    big = "9" * 30
    assert web.viewer.get(f"/announcements/{big}").status_code == 422
    assert web.leader.post(f"/announcements/{big}/cancel").status_code == 422
    assert web.leader.post(f"/approvals/{big}/approve").status_code == 422
    assert web.leader.post(f"/approvals/{big}/reject", {"comment": "x"}).status_code == 422
    assert web.leader.post("/approvals/0/approve").status_code == 422
    assert web.viewer.get("/announcements/abc").status_code == 404


def test_english_switch(web: Web) -> None:
    ann_id = send(web, when="recurring", rec_kind="weekly", rec_times="06:00, 17:00", rec_days=["mon", "fri"],
                  rec_start="2025-07-02", rec_end="2025-07-31", repeat_count="3", repeat_gap="2")
    vi = web.viewer.get(f"/announcements/{ann_id}").text
    assert "Thứ Hai, Thứ Sáu lúc 06:00, 17:00 từ 02/07/2025 đến 31/07/2025; đọc 3 lần, nghỉ 2 phút giữa các lần" in vi
    assert web.viewer.post("/lang", {"lang": "en", "next": "/announcements"}).status_code == 303
    for url in ("/announcements", f"/announcements/{ann_id}"):
        page = web.viewer.get(url).text
        assert "history." not in page and "compose." not in page, url
    page = web.viewer.get(f"/announcements/{ann_id}").text
    assert "Monday, Friday at 06:00, 17:00 from 02/07/2025 until 31/07/2025; read 3 times, 2 min apart" in page
    assert "Scheduled" in page
