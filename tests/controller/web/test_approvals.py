"""The approval queue: only approvers see it, it plays the stored audio, approving publishes
signed commands once, rejecting needs a reason the author then reads, and a second decision
on the same bulletin is a clear message rather than an error or a second broadcast."""

from __future__ import annotations

from sqlmodel import select

from controller.models import Announcement
from protocol.signing import Verifier
from tests.controller.web.conftest import Web
from tests.controller.web.test_compose import XSS, compose


def submit(web: Web, **overrides: object) -> int:
    r = web.editor.post("/compose", compose(**overrides))
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def status(web: Web, ann_id: int) -> Announcement:
    with web.env.session() as s:
        return s.exec(select(Announcement).where(Announcement.id == ann_id)).one()


def test_only_approvers_see_the_queue(web: Web) -> None:
    assert web.leader.get("/approvals").status_code == 200
    assert web.admin.get("/approvals").status_code == 200
    for who in (web.editor, web.technician, web.viewer):
        assert who.get("/approvals").status_code == 403
    assert web.anon().get("/approvals").headers["location"].startswith("/login")
    ann_id = submit(web)
    for who in (web.editor, web.technician, web.viewer):
        assert who.post(f"/approvals/{ann_id}/approve").status_code == 403
        assert who.post(f"/approvals/{ann_id}/reject", {"comment": "không"}).status_code == 403
    assert web.leader.post(f"/approvals/{ann_id}/approve", {"csrf_token": "sai"}).status_code == 403
    assert web.leader.client.post(f"/approvals/{ann_id}/approve").status_code == 403
    assert status(web, ann_id).status == "awaiting_approval" and web.env.publisher.published == []


def test_queue_shows_emergencies_first_escaped_with_the_audio(web: Web) -> None:
    first = submit(web, text=XSS)
    urgent = submit(web, text="Bão số 3 đổ bộ", priority="emergency")
    page = web.leader.get("/approvals").text
    assert page.index(f'id="approval-{urgent}"') < page.index(f'id="approval-{first}"')
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in page
    ann = status(web, first)
    assert f'src="/audio/{ann.audio_sha256}.opus"' in page
    assert "Cán bộ Trần Thị Lan" in page and "Thôn Đông" in page and "Phát ngay" in page
    assert f'id="approve-{first}"' in page and f'id="reject-{first}"' in page and f'for="comment-{first}"' in page


def test_approve_publishes_signed_commands_once(web: Web, verifier: Verifier) -> None:
    ann_id = submit(web)
    r = web.leader.post(f"/approvals/{ann_id}/approve", {"comment": "Đồng ý"})
    assert (r.status_code, r.headers["location"]) == (303, "/approvals")
    ann = status(web, ann_id)
    assert (ann.status, ann.approved_by, ann.review_comment) == ("sent", "leader", "Đồng ý")
    sent = list(web.env.publisher.published)
    assert sent and {verifier.open(topic, raw).play.announcement for topic, raw, _, _ in sent} == {ann_id}  # type: ignore[union-attr]
    assert f"Đã duyệt bản tin số {ann_id}" in web.leader.get("/approvals").text
    again = web.admin.post(f"/approvals/{ann_id}/approve")
    assert (again.status_code, again.headers["location"]) == (303, "/approvals")
    page = web.admin.get("/approvals").text
    assert f"Bản tin số {ann_id} đã được Chủ tịch Nguyễn Văn An xử lý trước bạn (hiện: Đã gửi)" in page
    assert web.env.publisher.published == sent  # never twice


def test_reject_needs_a_reason_and_the_author_reads_it(web: Web) -> None:
    ann_id = submit(web, text="Thông báo thu phí vệ sinh")
    r = web.leader.post(f"/approvals/{ann_id}/reject", {"comment": "   "})
    assert r.status_code == 422
    assert "Hãy ghi lý do từ chối để người soạn biết cần sửa gì." in r.text
    too_long = "x" * 1001
    r = web.leader.post(f"/approvals/{ann_id}/reject", {"comment": too_long})
    assert r.status_code == 422 and "Nhận xét quá dài" in r.text and too_long in r.text
    assert status(web, ann_id).status == "awaiting_approval"
    r = web.leader.post(f"/approvals/{ann_id}/reject", {"comment": "Ghi rõ mức phí <100.000đ>"})
    assert r.status_code == 303
    ann = status(web, ann_id)
    assert (ann.status, ann.approved_by, ann.review_comment) == ("rejected", "leader", "Ghi rõ mức phí <100.000đ>")
    assert web.env.publisher.published == []
    mine = web.editor.get("/announcements").text
    assert "Bị từ chối" in mine and "Ghi rõ mức phí &lt;100.000đ&gt;" in mine


def test_approving_a_scheduled_bulletin_schedules_it(web: Web) -> None:
    ann_id = submit(web, when="at", at="2025-07-02T06:00")
    assert web.leader.post(f"/approvals/{ann_id}/approve").status_code == 303
    assert status(web, ann_id).status == "scheduled"
    assert f"Đã duyệt bản tin số {ann_id}: đã lên lịch phát." in web.leader.get("/approvals").text


def test_unknown_bulletin_is_a_message(web: Web) -> None:
    r = web.leader.post("/approvals/999/approve")
    assert r.status_code == 303
    assert "Không tìm thấy bản tin này" in web.leader.get("/approvals").text


def test_the_leader_is_told_when_the_fallback_voice_read_it(web: Web) -> None:
    web.env.pipeline.fallback_reason = "piper: model missing"
    ann_id = submit(web)
    item = web.leader.get("/approvals").text
    assert f'id="approval-{ann_id}"' in item and "Giọng dự phòng đã đọc thay: piper: model missing" in item
