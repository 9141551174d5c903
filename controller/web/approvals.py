"""The approval queue (`/approvals`, Perm.ANNOUNCE_APPROVE): listen, then approve or reject.

Why a player of the stored audio and not of the text: the audio was rendered at
submission (controller.approval), so the leader hears exactly what will air. Deciding
goes through `announcer.approve` / `announcer.reject`, which claim the row exactly once:
when two leaders decide the same bulletin, the second gets 409 `not_awaiting_approval`,
shown here as "already decided by …", never as an error page and never as a second
broadcast. A rejection needs a reason (the author reads it on /announcements); a refused
form re-renders the queue with the typed comment kept next to that bulletin.
"""

from __future__ import annotations

from typing import Annotated

import anyio.from_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from controller.accounts.roles import Perm
from controller.api.deps import CtxDep
from controller.context import AppContext
from controller.models import Announcement
from controller.speech_checks import AnnouncementError
from controller.web.compose import code_message
from controller.web.compose_form import Topology
from controller.web.deps import WebUser, require
from controller.web.history_views import AnnId, card, display_names
from controller.web.i18n import translator
from controller.web.pages import flash, redirect, render

router = APIRouter(include_in_schema=False)

Approver = Annotated[WebUser, require(Perm.ANNOUNCE_APPROVE)]
MAX_COMMENT_CHARS = 1000


def _page(request: Request, ctx: AppContext, me: WebUser, *, row_errors: dict[int, str] | None = None,
          comments: dict[int, str] | None = None, status_code: int = 200) -> Response:
    t = translator(me.lang)
    queue = ctx.announcer.awaiting_approval()
    with Session(ctx.engine) as session:
        topo = Topology.load(session)
        names = display_names(session)
    return render(request, "approvals.html", {
        "queue": [card(a, topo, names, t) for a in queue],
        "row_errors": row_errors or {},
        "comments": comments or {},
    }, status_code=status_code)  # fmt: skip


@router.get("/approvals")
def approvals_page(request: Request, ctx: CtxDep, me: Approver) -> Response:
    return _page(request, ctx, me)


@router.post("/approvals/{ann_id}/approve")
def approve(request: Request, ctx: CtxDep, me: Approver, ann_id: AnnId, comment: Annotated[str, Form()] = "") -> Response:
    try:
        view = anyio.from_thread.run(ctx.announcer.approve, ann_id, me.actor, comment or None)
    except AnnouncementError as exc:
        return _refused(request, ctx, me, ann_id, exc, comment)
    key = "approvals.approved_scheduled" if view.status == "scheduled" else "approvals.approved_sent"
    flash(request, "success", key, id=ann_id)
    return redirect("/approvals")


@router.post("/approvals/{ann_id}/reject")
def reject(request: Request, ctx: CtxDep, me: Approver, ann_id: AnnId, comment: Annotated[str, Form()] = "") -> Response:
    try:
        anyio.from_thread.run(ctx.announcer.reject, ann_id, me.actor, comment)
    except AnnouncementError as exc:
        return _refused(request, ctx, me, ann_id, exc, comment)
    flash(request, "success", "approvals.rejected", id=ann_id)
    return redirect("/approvals")


def _refused(request: Request, ctx: AppContext, me: WebUser, ann_id: int, exc: AnnouncementError, comment: str) -> Response:
    """A comment to fix stays on the page (422); a bulletin that is gone or decided is flashed."""
    if exc.code in ("comment_required", "comment_invalid"):
        message = code_message(me.lang, exc.code, ctx, exc.detail)
        return _page(request, ctx, me, row_errors={ann_id: message}, comments={ann_id: comment[:MAX_COMMENT_CHARS * 2]},
                     status_code=422)  # fmt: skip
    if exc.code == "not_awaiting_approval":
        with Session(ctx.engine) as session:
            ann = session.get(Announcement, ann_id)
            who = display_names(session).get(ann.approved_by or "", ann.approved_by or "") if ann else ""
            status = ann.status if ann else ""
        t = translator(me.lang)
        flash(request, "error", "approvals.already_decided", id=ann_id, who=who or t("approvals.someone"),
              status=t(f"history.status.{status}") if status else "")  # fmt: skip
        return redirect("/approvals")
    if exc.code == "publish_failed":
        flash(request, "error", "compose.code.publish_failed")
        return redirect(f"/announcements/{ann_id}")
    flash(request, "error", "approvals.failed", id=ann_id, reason=code_message(me.lang, exc.code, ctx, exc.detail))
    return redirect("/approvals")


__all__ = ["router"]
