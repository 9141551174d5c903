"""The approval workflow (controller/approval.py): who may submit, approve and reject,
what reaches the nodes and when, and that a bulletin is never broadcast twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from controller.accounts.actor import Actor
from controller.accounts.roles import Role
from controller.announce import AnnouncementError
from controller.models import Announcement, AnnouncementCreate, AuditEntry, Delivery
from protocol.signing import Verifier
from tests.controller.conftest import Env

TEXT = "Thông báo: chiều nay 15h họp thôn tại nhà văn hóa."
EDITOR = Actor("lan", Role.EDITOR)
LEADER = Actor("hung", Role.LEADER)
LEADER_2 = Actor("mai", Role.LEADER)
TECHNICIAN = Actor("tuan", Role.TECHNICIAN)
VIEWER = Actor("xem", Role.VIEWER)


def req(**fields: Any) -> AnnouncementCreate:
    fields.setdefault("text", TEXT)
    fields.setdefault("targets", {"zones": ["thon-dong"]})
    return AnnouncementCreate.model_validate(fields)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def audit(env: Env) -> list[tuple[str, str, str | None]]:
    with env.session() as s:
        return [(e.actor, e.action, e.target) for e in s.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]


def deliveries(env: Env, ann_id: int) -> list[Delivery]:
    with env.session() as s:
        return list(s.exec(select(Delivery).where(Delivery.announcement_id == ann_id)).all())


# -- submit ---------------------------------------------------------------------------


def test_editor_submission_waits_with_its_audio_and_sends_nothing(env: Env) -> None:
    view = run(env.ctx.announcer.submit(req(), EDITOR))
    assert view.status == "awaiting_approval"
    assert (view.created_by, view.approved_by, view.skipped_approval) == ("lan", None, False)
    assert len(env.pipeline.requests) == 1  # rendered now: the approver hears what will air
    assert env.client.get(f"/audio/{view.audio.sha256}.opus").status_code == 200
    assert env.publisher.published == [] and deliveries(env, view.id) == []
    with env.session() as s:
        ann = s.get(Announcement, view.id)
        assert ann is not None and ann.command_ids == []
    assert audit(env) == [("lan", "announcement.submitted", f"announcement:{view.id}")]


@pytest.mark.parametrize("actor", [TECHNICIAN, VIEWER], ids=["technician", "viewer"])
def test_roles_without_draft_cannot_submit(env: Env, actor: Actor) -> None:
    with pytest.raises(AnnouncementError) as err:
        run(env.ctx.announcer.submit(req(), actor))
    assert (err.value.status_code, err.value.code) == (403, "forbidden")
    assert env.pipeline.requests == []  # refused before anything is rendered
    with env.session() as s:
        assert s.exec(select(Announcement)).all() == []


def test_leader_publishes_directly_as_its_own_approver(env: Env) -> None:
    view = run(env.ctx.announcer.submit(req(), LEADER))
    assert view.status == "sent"
    assert (view.created_by, view.approved_by, view.approved_at) == ("hung", "hung", env.clock())
    assert view.skipped_approval is False
    assert env.publisher.topics == ["loa/v1/zones/thon-dong/cmd"]
    assert audit(env) == [("hung", "announcement.published", f"announcement:{view.id}")]


def test_leader_emergency_skips_approval_flagged_and_audited(env: Env, verifier: Verifier) -> None:
    view = run(env.ctx.announcer.submit(req(priority="emergency"), LEADER))
    assert view.status == "sent" and view.skipped_approval is True and view.approved_by is None
    cmd = verifier.open(*env.publisher.published[0][:2])
    assert cmd.play is not None and cmd.play.priority.value == "emergency"
    assert audit(env) == [("hung", "announcement.emergency", f"announcement:{view.id}")]


def test_editor_emergency_waits_but_heads_the_queue(env: Env) -> None:
    routine = run(env.ctx.announcer.submit(req(text="Họp thôn"), EDITOR))
    env.clock.advance(60)
    urgent = run(env.ctx.announcer.submit(req(text="Bão sắp đến", priority="emergency"), EDITOR))
    assert urgent.status == "awaiting_approval" and urgent.skipped_approval is False
    assert env.publisher.published == []
    assert [a.id for a in env.ctx.announcer.awaiting_approval()] == [urgent.id, routine.id]
    res = env.client.get("/api/v1/approvals")
    assert res.status_code == 200
    assert [a["id"] for a in res.json()["items"]] == [urgent.id, routine.id]


# -- approve --------------------------------------------------------------------------


def test_approved_play_now_is_staged_from_the_approval_and_signed(env: Env, verifier: Verifier) -> None:
    submitted = run(env.ctx.announcer.submit(req(expires_in_s=300), EDITOR))
    approved_at = env.clock.advance(120)
    view = run(env.ctx.announcer.approve(submitted.id, LEADER, "Đồng ý"))
    assert view.status == "sent"
    assert (view.approved_by, view.approved_at, view.review_comment) == ("hung", approved_at, "Đồng ý")
    assert view.play_at == approved_at + timedelta(seconds=3)
    assert view.expires_at == approved_at + timedelta(seconds=300)  # the ttl it was submitted with
    assert env.publisher.topics == ["loa/v1/zones/thon-dong/cmd"]
    cmd = verifier.open(*env.publisher.published[0][:2])
    assert cmd.play is not None and cmd.play.announcement == view.id
    assert cmd.play.audio.sha256 == submitted.audio.sha256  # the audio the approver heard
    assert cmd.issued_at == approved_at and cmd.play.play_at == view.play_at
    assert sorted((d.node_id, d.state) for d in deliveries(env, view.id)) == [
        ("dong-1", "sent"), ("dong-2", "sent"), ("dong-3", "sent"),
    ]  # fmt: skip
    assert len(env.pipeline.requests) == 1  # not rendered again
    assert audit(env)[-1] == ("hung", "announcement.approved", f"announcement:{view.id}")


def test_editor_cannot_approve(env: Env) -> None:
    submitted = run(env.ctx.announcer.submit(req(), EDITOR))
    with pytest.raises(AnnouncementError) as err:
        run(env.ctx.announcer.approve(submitted.id, Actor("khac", Role.EDITOR)))
    assert (err.value.status_code, err.value.code) == (403, "forbidden")
    assert env.ctx.announcer.get(submitted.id).status == "awaiting_approval"  # type: ignore[union-attr]
    assert env.publisher.published == []


def test_approving_twice_is_409_and_broadcasts_once(env: Env) -> None:
    submitted = run(env.ctx.announcer.submit(req(), EDITOR))
    run(env.ctx.announcer.approve(submitted.id, LEADER))
    published = list(env.publisher.published)
    with pytest.raises(AnnouncementError) as err:
        run(env.ctx.announcer.approve(submitted.id, LEADER_2))
    assert (err.value.status_code, err.value.code) == (409, "not_awaiting_approval")
    assert "hung" in err.value.detail
    assert env.publisher.published == published


def test_concurrent_approvals_broadcast_once(env: Env) -> None:
    submitted = run(env.ctx.announcer.submit(req(targets={"nodes": ["dong-1", "tay-1"]}), EDITOR))

    async def both() -> list[Any]:
        return await asyncio.gather(
            env.ctx.announcer.approve(submitted.id, LEADER),
            env.ctx.announcer.approve(submitted.id, LEADER_2),
            return_exceptions=True,
        )

    results = run(both())
    errors = [r for r in results if isinstance(r, AnnouncementError)]
    views = [r for r in results if not isinstance(r, BaseException)]
    assert len(views) == 1 and len(errors) == 1, results
    assert (errors[0].status_code, errors[0].code) == (409, "not_awaiting_approval")
    assert sorted(env.publisher.topics) == ["loa/v1/nodes/dong-1/cmd", "loa/v1/nodes/tay-1/cmd"]
    assert len(deliveries(env, submitted.id)) == 2
    assert [a for _, a, _ in audit(env)].count("announcement.approved") == 1


def test_approved_schedule_becomes_scheduled_and_dispatches(env: Env) -> None:
    at = env.clock() + timedelta(minutes=30)
    submitted = run(env.ctx.announcer.submit(req(schedule={"at": at.isoformat()}), EDITOR))
    assert submitted.status == "awaiting_approval"
    env.clock.advance(25 * 60)
    assert env.ctx.dispatcher.tick().dispatched == []  # not approved: the dispatcher leaves it alone
    view = run(env.ctx.announcer.approve(submitted.id, LEADER))
    assert view.status == "scheduled" and view.play_at == at
    # approval ticked the dispatcher; the occurrence is within the stage-ahead window
    assert env.publisher.topics == ["loa/v1/zones/thon-dong/cmd"]
    assert {d.play_at for d in deliveries(env, view.id)} == {at}


def test_schedule_that_has_passed_cannot_be_approved(env: Env) -> None:
    at = env.clock() + timedelta(minutes=10)
    submitted = run(env.ctx.announcer.submit(req(schedule={"at": at.isoformat()}), EDITOR))
    env.clock.advance(3600)
    with pytest.raises(AnnouncementError) as err:
        run(env.ctx.announcer.approve(submitted.id, LEADER))
    assert (err.value.status_code, err.value.code) == (409, "schedule_passed")
    assert "reject it" in err.value.detail
    assert env.ctx.announcer.get(submitted.id).status == "awaiting_approval"  # type: ignore[union-attr]
    assert env.publisher.published == []


def test_approving_unknown_announcement_is_404(env: Env) -> None:
    with pytest.raises(AnnouncementError) as err:
        run(env.ctx.announcer.approve(999, LEADER))
    assert (err.value.status_code, err.value.code) == (404, "not_found")


# -- reject ---------------------------------------------------------------------------


@pytest.mark.parametrize("comment", [None, "", "   \n "])
def test_reject_requires_a_comment(env: Env, comment: str | None) -> None:
    submitted = run(env.ctx.announcer.submit(req(), EDITOR))
    with pytest.raises(AnnouncementError) as err:
        run(env.ctx.announcer.reject(submitted.id, LEADER, comment))
    assert (err.value.status_code, err.value.code) == (422, "comment_required")
    assert env.ctx.announcer.get(submitted.id).status == "awaiting_approval"  # type: ignore[union-attr]


def test_rejected_is_stored_with_reason_and_can_never_air(env: Env) -> None:
    submitted = run(env.ctx.announcer.submit(req(), EDITOR))
    view = run(env.ctx.announcer.reject(submitted.id, LEADER, "  Sai giờ họp, sửa lại  "))
    assert view.status == "rejected"
    assert (view.review_comment, view.approved_by) == ("Sai giờ họp, sửa lại", "hung")
    for decide in (env.ctx.announcer.approve(submitted.id, LEADER), env.ctx.announcer.reject(submitted.id, LEADER, "x")):
        with pytest.raises(AnnouncementError) as err:
            run(decide)
        assert err.value.code == "not_awaiting_approval"
    assert env.publisher.published == [] and deliveries(env, submitted.id) == []
    assert env.ctx.announcer.awaiting_approval() == []
    assert audit(env)[-1] == ("hung", "announcement.rejected", f"announcement:{submitted.id}")


def test_editor_cannot_reject(env: Env) -> None:
    submitted = run(env.ctx.announcer.submit(req(), EDITOR))
    with pytest.raises(AnnouncementError) as err:
        run(env.ctx.announcer.reject(submitted.id, EDITOR, "không"))
    assert err.value.status_code == 403


# -- REST -----------------------------------------------------------------------------


def test_rest_client_still_publishes_directly(env: Env) -> None:
    res = env.client.post("/api/v1/announcements", json={"text": TEXT, "targets": {"zones": ["thon-dong"]}})
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["status"] == "sent" and body["created_by"] == "api" and body["approved_by"] == "api"
    assert body["source"] == "text"


def test_rest_approve_and_reject(env: Env) -> None:
    first = run(env.ctx.announcer.submit(req(), EDITOR))
    second = run(env.ctx.announcer.submit(req(text="Lịch tiêm phòng"), EDITOR))
    ok = env.client.post(f"/api/v1/announcements/{first.id}/approve", json={"comment": "Được"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "sent" and ok.json()["approved_by"] == "api"
    again = env.client.post(f"/api/v1/announcements/{first.id}/approve", json={})
    assert again.status_code == 409 and again.json()["code"] == "not_awaiting_approval"
    no_reason = env.client.post(f"/api/v1/announcements/{second.id}/reject", json={})
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "comment_required"
    rejected = env.client.post(f"/api/v1/announcements/{second.id}/reject", json={"comment": "Trùng lịch"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert env.client.get("/api/v1/approvals").json() == {"items": []}
    missing = env.client.post("/api/v1/announcements/9999/approve", json={})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    extra = env.client.post(f"/api/v1/announcements/{second.id}/reject", json={"comment": "x", "other": 1})
    assert extra.status_code == 422


def test_old_database_gains_the_approval_columns(tmp_path: Any) -> None:
    """init_db adds the new columns to a database made before approval; old rows read as
    text announcements that did not skip approval."""
    from sqlalchemy import text

    from controller.db import engine_for_url, init_db
    from controller.migrations.baseline import baseline_metadata

    engine = engine_for_url(f"sqlite:///{tmp_path / 'old.db'}")
    baseline_metadata().create_all(engine)  # as create_all made it before migrations
    new_columns = ("created_by", "approved_by", "approved_at", "review_comment", "skipped_approval", "source")
    with engine.begin() as conn:
        for column in new_columns:
            conn.execute(text(f"ALTER TABLE announcement DROP COLUMN {column}"))
        conn.execute(text(
            "INSERT INTO announcement (text, voice, rate, priority, chime, targets, status, created_at, play_at,"
            " expires_at, audio_sha256, audio_size, audio_duration_ms, command_ids) VALUES ('cũ', 'vi', 150,"
            " 'normal', 0, '{}', 'sent', '2025-01-01 00:00:00', '2025-01-01 00:00:03', '2025-01-01 00:10:00',"
            " 'ab', 1, 1, '[]')"
        ))  # fmt: skip
    init_db(engine)
    with Session(engine) as s:
        old = s.exec(select(Announcement)).one()
        assert (old.skipped_approval, old.source, old.created_by, old.approved_at) == (False, "text", None, None)
    engine.dispose()


def test_withdrawn_submission_cannot_be_approved(env: Env) -> None:
    submitted = run(env.ctx.announcer.submit(req(), EDITOR))
    assert env.ctx.announcer.cancel(submitted.id).status == "cancelled"
    with pytest.raises(AnnouncementError) as err:
        run(env.ctx.announcer.approve(submitted.id, LEADER))
    assert err.value.code == "not_awaiting_approval"
    assert env.publisher.published == [] and env.ctx.announcer.awaiting_approval() == []
