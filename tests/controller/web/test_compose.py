"""The compose page: who may use it, the form's checks (Vietnamese, typed values kept),
submission by role (editor waits, leader airs, leader's emergency skips approval), preview."""

from __future__ import annotations


from sqlmodel import select

from controller.models import Announcement, AuditEntry
from protocol.signing import Verifier
from tests.controller.web.conftest import Web

XSS = "<script>alert(1)</script><b>x</b>"


def compose(**overrides: object) -> dict[str, object]:
    """A valid play-now form to the hamlet thon-dong."""
    form: dict[str, object] = {"mode": "text", "text": "Thông báo họp thôn lúc 7h30 sáng mai.", "voice": "vi",
                               "rate": "150", "zones": ["thon-dong"], "priority": "normal", "when": "now",
                               "repeat_count": "1", "repeat_gap": "0"}
    form.update(overrides)
    return form


def test_page_renders_for_drafting_roles_only(web: Web) -> None:
    page = web.editor.get("/compose")
    assert page.status_code == 200
    for needle in ('id="compose-text"', 'id="preview-button"', 'id="compose-submit"', 'id="zone-thon-dong"',
                   'id="node-dong-1"', 'for="zone-xa-an-binh"', "Giọng Bắc", "Giọng Nam", "Gửi chờ duyệt"):
        assert needle in page.text, needle
    assert 'data-max-bytes="31457280" data-msg-too-large="Tệp lớn hơn 30 MB.' in page.text  # checked before sending
    assert "Gửi phát" in web.leader.get("/compose").text
    assert web.admin.get("/compose").status_code == 200
    assert web.viewer.get("/compose").status_code == 403
    assert web.technician.get("/compose").status_code == 403
    assert web.anon().get("/compose").headers["location"].startswith("/login?next=%2Fcompose")


def _latest(web: Web) -> Announcement:
    with web.env.session() as s:
        return s.exec(select(Announcement).order_by(Announcement.id.desc())).first()  # type: ignore[union-attr,return-value]


def test_editor_submission_waits_for_approval(web: Web) -> None:
    r = web.editor.post("/compose", compose())
    assert r.status_code == 303, r.text
    ann = _latest(web)
    assert r.headers["location"] == f"/announcements/{ann.id}"
    assert (ann.status, ann.created_by, ann.approved_by) == ("awaiting_approval", "editor", None)
    assert ann.targets == {"zones": ["thon-dong"], "nodes": [], "all": False}
    assert web.env.publisher.published == []
    assert "Đã gửi chờ duyệt" in web.editor.get("/compose").text  # the flash shows on the next page


def test_leader_submission_airs_with_signed_commands(web: Web, verifier: Verifier) -> None:
    r = web.leader.post("/compose", compose(zones=["xa-an-binh", "thon-dong"], nodes=["dong-1", "bac-1"]))
    assert r.status_code == 303, r.text
    ann = _latest(web)
    assert (ann.status, ann.approved_by) == ("sent", "leader")
    # a zone ticked with its commune (and a node inside it) is covered by the commune
    assert ann.targets["zones"] == ["xa-an-binh"] and ann.targets["nodes"] == ["bac-1"]
    assert web.env.publisher.published
    commands = [verifier.open(topic, raw) for topic, raw, _, _ in web.env.publisher.published]
    assert {c.play.announcement for c in commands if c.play is not None} == {ann.id}


def test_leader_emergency_needs_confirmation_then_skips_approval(web: Web) -> None:
    r = web.leader.post("/compose", compose(priority="emergency", text="Lũ quét: sơ tán ngay"))
    assert r.status_code == 422
    assert "Hãy đánh dấu ô xác nhận" in r.text and "Lũ quét: sơ tán ngay" in r.text
    assert web.env.publisher.published == []
    r = web.leader.post("/compose", compose(priority="emergency", text="Lũ quét: sơ tán ngay", confirm_emergency="1"))
    assert r.status_code == 303
    ann = _latest(web)
    assert (ann.priority, ann.status, ann.skipped_approval, ann.approved_by) == ("emergency", "sent", True, None)
    with web.env.session() as s:
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "announcement.emergency")).first() is not None
    assert "không qua duyệt" in web.leader.get("/compose").text


def test_editor_emergency_goes_to_the_queue(web: Web) -> None:
    r = web.editor.post("/compose", compose(priority="emergency"))
    assert r.status_code == 303
    assert (_latest(web).status, _latest(web).skipped_approval) == ("awaiting_approval", False)


def test_errors_are_vietnamese_and_keep_what_was_typed(web: Web) -> None:
    r = web.editor.post("/compose", compose(text="   ", zones=[], voice="vi-vn-x-south", rate="170", chime="1"))
    assert r.status_code == 422
    assert "Hãy nhập nội dung bản tin." in r.text
    assert "Hãy chọn ít nhất một xã, thôn hoặc cụm loa để phát." in r.text
    assert '<option value="vi-vn-x-south" selected>' in r.text and '<option value="170" selected>' in r.text
    assert 'id="compose-chime" name="chime" value="1" checked' in r.text
    typed = "Họp tổ dân phố <lúc> 8h & 30"
    r = web.editor.post("/compose", compose(text=typed, when="at", at="2025-07-01T09:00", nodes=["tay-2"]))
    assert r.status_code == 422
    assert "Thời điểm này đã qua (bây giờ là 01/07/2025 15:00)" in r.text
    assert "Họp tổ dân phố &lt;lúc&gt; 8h &amp; 30</textarea>" in r.text
    assert 'value="2025-07-01T09:00"' in r.text
    assert 'id="node-tay-2" name="nodes" value="tay-2" data-tree="node" checked' in r.text
    assert 'id="zone-thon-dong" name="zones" value="thon-dong" data-tree="zone" checked' in r.text
    r = web.editor.post("/compose", compose(when="recurring", rec_kind="weekly", rec_times="6h00, 25:00"))
    assert r.status_code == 422 and "Không hiểu giờ “25:00”" in r.text and "Hãy chọn ít nhất một ngày trong tuần." in r.text
    r = web.editor.post("/compose", compose(repeat_count="3"))
    assert r.status_code == 422 and "Phát ngay chỉ đọc một lần" in r.text
    r = web.editor.post("/compose", compose(zones=["thon-bien-mat"]))
    assert r.status_code == 422 and "thon-bien-mat không còn tồn tại" in r.text
    r = web.editor.post("/compose", compose(mode="recording", title="Tin ghi âm"))
    assert r.status_code == 422 and "Chưa có tệp ghi âm" in r.text and 'value="Tin ghi âm"' in r.text
    assert web.env.publisher.published == [] and _latest(web) is None


def test_scheduled_at_a_vietnam_time(web: Web) -> None:
    # 2025-07-01 08:00 UTC is 15:00 in Vietnam; 18:30 local = 11:30 UTC
    r = web.leader.post("/compose", compose(when="at", at="2025-07-01T18:30", repeat_count="2", repeat_gap="1.5"))
    assert r.status_code == 303, r.text
    ann = _latest(web)
    assert ann.status == "scheduled"
    assert ann.schedule is not None and ann.schedule["at"].startswith("2025-07-01T18:30:00+07:00")
    assert ann.schedule["repeat"] == {"count": 2, "gap_s": 90.0}
    assert ann.play_at.isoformat().startswith("2025-07-01T11:30")


def test_recurring_weekly_and_conflict_warnings_in_vietnamese(web: Web) -> None:
    form = compose(when="recurring", rec_kind="weekly", rec_times="06:00", rec_days=["mon", "wed"],
                   rec_start="2025-07-02", rec_end="2025-07-31")
    assert web.leader.post("/compose", form).status_code == 303
    web.leader.get("/compose")  # read the first flash
    ann = _latest(web)
    assert ann.schedule is not None
    assert (ann.schedule["kind"], ann.schedule["days"], ann.schedule["times"]) == ("weekly", ["mon", "wed"], ["06:00"])
    assert (ann.schedule["start_date"], ann.schedule["end_date"]) == ("2025-07-02", "2025-07-31")
    assert web.leader.post("/compose", form).status_code == 303
    page = web.leader.get("/compose").text
    assert "Đã lên lịch bản tin số" in page
    first = ann.id
    assert (f"Lưu ý trùng giờ: lúc 06:00 02/07/2025, trùng với bản tin thường số {first} tại Thôn Đông; "
            "lượt phát này chờ đến khi lượt kia kết thúc.") in page
    assert page.count("Lưu ý trùng giờ") == 2  # Wednesday 2 and Monday 7 July, within the week ahead


def test_many_overlaps_are_summed_up(web: Web) -> None:
    form = compose(when="recurring", rec_kind="daily", rec_times="06:00", rec_start="2025-07-02")
    assert web.leader.post("/compose", form).status_code == 303
    web.leader.get("/compose")
    assert web.leader.post("/compose", form).status_code == 303
    page = web.leader.get("/compose").text
    assert page.count("Lưu ý trùng giờ") == 5 and "… và 2 chỗ trùng khác trong tuần tới." in page


def test_permissions_and_csrf(web: Web) -> None:
    assert web.technician.post("/compose", compose()).status_code == 403
    assert web.viewer.post("/compose", compose()).status_code == 403
    assert web.editor.post("/compose", compose(csrf_token="wrong")).status_code == 403
    assert web.editor.client.post("/compose", data=compose()).status_code == 403
    assert web.anon().post("/compose", data=compose()).status_code in (303, 401, 403)
    assert web.viewer.post_json("/ui/preview", {"text": "a"}).status_code == 403
    assert web.editor.client.post("/ui/preview", json={"text": "a"}).status_code == 403
    assert web.anon().post("/ui/preview", json={"text": "a"}).status_code in (401, 403)
    assert _latest(web) is None


def test_preview_json(web: Web) -> None:
    r = web.editor.post_json("/ui/preview", {"text": "Họp lúc 7h30", "voice": "vi-vn-x-south", "rate": "130", "chime": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["audio_url"].startswith("/audio/") and body["audio_url"].endswith(".opus")
    assert body["spoken_text"] == "Họp lúc 7h30" and body["voice"] == "vi-vn-x-south"
    assert body["fallback_reason"] is None and body["duration_text"] == "0 phút 1 giây"
    assert web.editor.get(body["audio_url"]).status_code == 200
    empty = web.editor.post_json("/ui/preview", {"text": "  "})
    assert empty.status_code == 422 and empty.json()["detail"] == "Hãy nhập nội dung bản tin."
    bad = web.editor.post_json("/ui/preview", {"text": "x", "voice": "klingon"})
    assert bad.status_code == 422 and "Giọng đọc này không còn" in bad.json()["detail"]
    web.env.pipeline.fallback_reason = "piper: model missing"
    fb = web.editor.post_json("/ui/preview", {"text": "Xin chào"}).json()
    assert fb["fallback_reason"] == "piper: model missing" and "giọng dự phòng" in fb["fallback_text"]
    assert _latest(web) is None


def test_every_domain_error_code_has_vietnamese_words() -> None:
    from controller import approval, recordings
    from controller.speech_checks import DEFAULT_CODES
    from controller.web.i18n import catalogue

    announcement_codes = {"text_too_long", "no_voices", "unknown_voice", "schedule_invalid", "tts_unavailable",
                          "tts_refused", "publish_failed", "error", *DEFAULT_CODES.values()}
    codes = set(approval.ERROR_CODES) | set(recordings.ERROR_CODES) | announcement_codes
    messages = catalogue()
    missing = sorted(c for c in codes if f"compose.code.{c}" not in messages)
    assert missing == []
    for code in codes:
        vi, en = messages[f"compose.code.{code}"]
        assert vi != en and any(ch in vi for ch in "ảạằắẫđơưệếốờớứ"), code


def test_english_switch(web: Web) -> None:
    assert web.editor.post("/lang", {"lang": "en", "next": "/compose"}).status_code == 303
    page = web.editor.get("/compose").text
    assert "Compose an announcement" in page and "Listen" in page and "Send for approval" in page
    r = web.editor.post("/compose", compose(text=""))
    assert r.status_code == 422 and "Please type the announcement." in r.text


def test_a_failing_speech_engine_is_a_message_not_a_crash(web: Web) -> None:
    from audio.errors import EngineError

    web.env.pipeline.fail_with = EngineError("piper crashed")
    preview = web.editor.post_json("/ui/preview", {"text": "Xin chào bà con"})
    assert preview.status_code == 503 and preview.json()["code"] == "tts_unavailable"
    assert preview.json()["detail"].startswith("Máy đọc đang lỗi")
    r = web.leader.post("/compose", compose(text="Xin chào bà con"))
    assert r.status_code == 422 and "Máy đọc đang lỗi nên chưa tạo được âm thanh." in r.text
    assert "Xin chào bà con</textarea>" in r.text and _latest(web) is None


def test_a_broker_failure_says_the_bulletin_was_saved(web: Web) -> None:
    class Everything(set):  # type: ignore[type-arg]
        def __contains__(self, _item: object) -> bool:
            return True

    web.env.publisher.fail_topics = Everything()
    r = web.leader.post("/compose", compose())
    assert (r.status_code, r.headers["location"]) == (303, "/announcements")
    assert _latest(web).status == "failed"
    assert "Bản tin đã lưu nhưng chưa gửi được tới một số cụm loa" in web.leader.get("/announcements").text
