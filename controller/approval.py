"""The approval workflow: nothing an editor writes airs until a leader approves it.

Why the audio is rendered at submission and not at approval: the approver listens to
exactly the file that will air (same lexicon, normaliser and engine as of that
moment), and approving is instant. An `awaiting_approval` announcement has its audio
and its targets but no deliveries and no commands: nothing can reach a node.

Who does what (`controller.accounts.roles`): `ANNOUNCE_DRAFT` submits; an actor who
also holds `ANNOUNCE_APPROVE` publishes directly (approved by themselves); an
emergency by an actor with `ANNOUNCE_EMERGENCY` plays at once, flagged
`skipped_approval` and audit-logged `announcement.emergency`. Everyone else's
announcements (an editor's emergency too) wait in the queue, emergencies first.

Exactly once: approving and rejecting claim the row with a conditional
`UPDATE … WHERE status = 'awaiting_approval'`, in the same transaction as the
deliveries and the audit entry. Of two approvals racing (two leaders, a double
click), one updates a row and publishes; the other updates none and gets 409 — the
commune never hears the bulletin twice.

Errors are `AnnouncementError(status, detail, code)`; the codes are listed in
`ERROR_CODES` for the web pages, which show their own Vietnamese text per code.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import case, update
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from controller.accounts.actor import Actor
from controller.accounts.roles import Perm
from controller.announcement_store import Provenance
from controller.audit import record
from controller.dispatch import OutgoingCommand
from controller.dispatcher import add_pending_deliveries
from controller.models import (
    MAX_REVIEW_COMMENT_CHARS,
    Announcement,
    AnnouncementCreate,
    AnnouncementPublic,
    AnnouncementStatus,
)
from controller.programme import check_schedule, duration_s, rule_of
from controller.speech_checks import AnnouncementError
from protocol.commands import Priority
from schedules.occurrences import next_occurrence

if TYPE_CHECKING:
    from controller.announce import Announcer

ERROR_CODES = {
    "forbidden": "403: the actor's role lacks the permission (detail names it)",
    "not_found": "404: no such announcement",
    "not_awaiting_approval": "409: already approved, rejected or cancelled (approving twice never sends twice)",
    "schedule_passed": "409: every occurrence of the schedule has passed; reject it or submit a new one",
    "targets_invalid": "422: the stored targets reach no node any more (zone or node removed)",
    "comment_required": "422: a rejection needs a comment (the reason the author reads)",
    "comment_invalid": "422: the comment is too long or holds control characters",
}
"""Machine codes raised here (besides those of creation, e.g. `publish_failed`)."""


def require(actor: Actor, perm: Perm, what: str) -> None:
    """403 `forbidden` unless `actor` holds `perm`; `what` completes "may not …"."""
    if not actor.can(perm):
        raise AnnouncementError(403, f"{actor.username} ({actor.role}) may not {what}", "forbidden")


async def submit(
    announcer: Announcer, req: AnnouncementCreate, actor: Actor, *, revision_of: int | None = None
) -> AnnouncementPublic:
    """Render and then publish, or store for approval, by what `actor` may do (module docstring)."""
    require(actor, Perm.ANNOUNCE_DRAFT, "submit announcements")
    prepared = await announcer.prepare(req)
    if req.priority is Priority.EMERGENCY and actor.can(Perm.ANNOUNCE_EMERGENCY):
        prov = Provenance(actor.username, "announcement.emergency", skipped_approval=True)
        return await announcer.publish(prepared, prov, revision_of)
    if actor.can(Perm.ANNOUNCE_APPROVE):
        prov = Provenance(
            actor.username, "announcement.published", approved_by=actor.username, approved_at=announcer.clock()
        )
        return await announcer.publish(prepared, prov, revision_of)
    prov = Provenance(actor.username, "announcement.submitted")
    ann_id = await run_in_threadpool(
        announcer.store, prepared, prov, AnnouncementStatus.AWAITING_APPROVAL, revision_of
    )
    return await announcer.answer(ann_id, revision_of)


async def approve(
    announcer: Announcer, ann_id: int, actor: Actor, comment: str | None = None
) -> AnnouncementPublic:
    """Approve: a play-now announcement is staged from now (fresh `play_at` and expiry,
    same time-to-live as submitted) and sent; a scheduled one becomes `scheduled` and
    the dispatcher is ticked."""
    require(actor, Perm.ANNOUNCE_APPROVE, "approve announcements")
    comment = clean_comment(comment, required=False)
    ann = await run_in_threadpool(announcer.load, ann_id)
    _check_awaiting(ann)
    if ann.schedule is not None:
        await run_in_threadpool(_approve_scheduled, announcer, ann, actor, comment)
        if announcer.dispatcher is not None:
            await run_in_threadpool(announcer.dispatcher.tick)
    else:
        commands = await run_in_threadpool(_approve_now, announcer, ann, actor, comment)
        await run_in_threadpool(announcer.publish_commands, ann_id, commands)
    return await announcer.answer(ann_id)


async def reject(announcer: Announcer, ann_id: int, actor: Actor, comment: str | None) -> AnnouncementPublic:
    """Reject with a reason (required, stored in `review_comment`); nothing is ever sent."""
    require(actor, Perm.ANNOUNCE_APPROVE, "reject announcements")
    reason = clean_comment(comment, required=True)
    await run_in_threadpool(_reject, announcer, ann_id, actor, reason)
    view = await run_in_threadpool(announcer.get, ann_id)
    if view is None:
        raise AnnouncementError(404, f"announcement {ann_id} not found")
    return view


def awaiting_approval(session: Session, *, limit: int = 200) -> list[Announcement]:
    """The queue: emergencies first (an editor's emergency must not wait behind routine
    bulletins), then oldest first."""
    emergency_first = case((col(Announcement.priority) == Priority.EMERGENCY.value, 0), else_=1)
    return list(
        session.exec(
            select(Announcement)
            .where(col(Announcement.status) == AnnouncementStatus.AWAITING_APPROVAL)
            .order_by(emergency_first, col(Announcement.created_at), col(Announcement.id))
            .limit(limit)
        ).all()
    )


def clean_comment(comment: str | None, *, required: bool) -> str | None:
    """Trimmed comment; 422 `comment_required` / `comment_invalid` when it will not do."""
    text = (comment or "").strip()
    if not text:
        if required:
            raise AnnouncementError(422, "a rejection needs a comment saying why", "comment_required")
        return None
    if len(text) > MAX_REVIEW_COMMENT_CHARS:
        raise AnnouncementError(
            422, f"comment is {len(text)} characters; the limit is {MAX_REVIEW_COMMENT_CHARS}", "comment_invalid"
        )
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\r\t" for ch in text):
        raise AnnouncementError(422, "comment contains control characters", "comment_invalid")
    return text


# -- steps (run in the thread pool) ---------------------------------------------------


def _check_awaiting(ann: Announcement) -> None:
    if ann.status == AnnouncementStatus.AWAITING_APPROVAL:
        return
    by = f" by {ann.approved_by}" if ann.approved_by else ""
    raise AnnouncementError(
        409, f"announcement {ann.id} is {ann.status}{by}; only announcements awaiting approval can be decided",
        "not_awaiting_approval",
    )  # fmt: skip


def _claim(session: Session, ann: Announcement, **values: object) -> None:
    """Move the row out of `awaiting_approval`, or 409 when someone else already did."""
    result = session.execute(
        update(Announcement)
        .where(col(Announcement.id) == ann.id, col(Announcement.status) == AnnouncementStatus.AWAITING_APPROVAL)
        .values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        current = session.get(Announcement, ann.id)
        if current is None:
            raise AnnouncementError(404, f"announcement {ann.id} not found")
        _check_awaiting(current)
        raise AnnouncementError(409, f"announcement {ann.id} changed meanwhile; try again", "not_awaiting_approval")


def _audit(session: Session, ann: Announcement, actor: Actor, action: str, now: datetime, comment: str | None) -> None:
    detail = {"priority": ann.priority, "title": ann.text[:120], "comment": comment}
    record(session, at=now, actor=actor.username, action=action, target=f"announcement:{ann.id}", detail=detail)


def _approve_now(announcer: Announcer, ann: Announcement, actor: Actor, comment: str | None) -> list[OutgoingCommand]:
    plan = announcer.plan_targets(ann.targets)
    now = announcer.clock()
    ttl_s = (ann.expires_at - ann.created_at).total_seconds()  # as submitted (store() staged it so)
    staging = announcer.staging(now, ann.priority, ttl_s)
    commands = announcer.commands_for(ann, plan, staging)
    with Session(announcer.engine) as session:
        _claim(
            session,
            ann,
            status=AnnouncementStatus.PENDING,
            approved_by=actor.username,
            approved_at=now,
            review_comment=comment,
            play_at=staging.play_at,
            expires_at=staging.expires_at,
            command_ids=[c.command.id for c in commands],
        )
        add_pending_deliveries(session, ann.id or 0, commands, now=now, play_at=staging.play_at)
        _audit(session, ann, actor, "announcement.approved", now, comment)
        session.commit()
    return commands


def _approve_scheduled(announcer: Announcer, ann: Announcement, actor: Actor, comment: str | None) -> None:
    rule = rule_of(ann)
    if rule is None:
        raise ValueError("not a scheduled announcement")
    now = announcer.clock()
    grace_s = announcer.settings.schedule_grace_s
    problems = check_schedule(rule, now, grace_s, duration_s(ann))
    if problems:
        raise AnnouncementError(
            409,
            f"announcement {ann.id} cannot be approved: {'; '.join(problems)}; reject it or submit it again",
            "schedule_passed",
        )
    first = next_occurrence(rule, after=now - timedelta(seconds=grace_s), duration_s=duration_s(ann))
    play_at = first.play_at if first is not None else now
    with Session(announcer.engine) as session:
        _claim(
            session,
            ann,
            status=AnnouncementStatus.SCHEDULED,
            approved_by=actor.username,
            approved_at=now,
            review_comment=comment,
            play_at=play_at,
            expires_at=play_at + timedelta(seconds=announcer.settings.occurrence_ttl_s),
        )
        _audit(session, ann, actor, "announcement.approved", now, comment)
        session.commit()


def _reject(announcer: Announcer, ann_id: int, actor: Actor, reason: str | None) -> None:
    now = announcer.clock()
    with Session(announcer.engine) as session:
        ann = session.get(Announcement, ann_id)
        if ann is None:
            raise AnnouncementError(404, f"announcement {ann_id} not found")
        _check_awaiting(ann)
        _claim(
            session, ann, status=AnnouncementStatus.REJECTED, approved_by=actor.username, approved_at=now,
            review_comment=reason,
        )  # fmt: skip
        _audit(session, ann, actor, "announcement.rejected", now, reason)
        session.commit()


__all__ = ["ERROR_CODES", "approve", "awaiting_approval", "clean_comment", "reject", "require", "submit"]
