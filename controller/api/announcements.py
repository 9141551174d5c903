"""`/api/v1/announcements`: create (play now or on a schedule), preview, read, edit, cancel;
approve or reject one awaiting approval; `/api/v1/approvals`: the approval queue.

A bearer-token client acts as `Actor.api()` (admin rights): what it creates is
published directly, as before approval existed; approval matters for the web app's
editors, whose submissions these endpoints let a machine client decide too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from starlette.concurrency import run_in_threadpool

from controller.api.deps import AnnouncerDep, Page
from controller.accounts.actor import Actor
from controller.models import (
    AnnouncementCreate,
    AnnouncementEdit,
    AnnouncementPreview,
    AnnouncementPublic,
    PreviewPublic,
    ReviewBody,
)

# No prefix: the approval queue lives beside the announcements, at /approvals.
router = APIRouter(tags=["announcements"])

MAX_ID = 2**63 - 1


@router.post("/announcements", status_code=status.HTTP_201_CREATED, response_model=AnnouncementPublic)
async def create_announcement(body: AnnouncementCreate, announcer: AnnouncerDep) -> AnnouncementPublic:
    """Synthesise the text and send it to the targeted nodes, to play together `LOA_PLAY_LEAD_S` from now;
    or, with `schedule`, store it and let the dispatcher publish each occurrence
    `LOA_STAGE_AHEAD_S` before it plays (docs/schedules.md). With `recording` instead of
    synthesis, the uploaded recording plays and `text` is its title.

    The answer's `warnings` lists plays that overlap it on shared zones over the next
    week (it is created anyway). 422 for a bad request (the reason is in `detail`),
    503 when speech synthesis or MQTT publishing fails.
    """
    return await announcer.create(body, actor=Actor.api())


@router.post("/announcements/preview", response_model=PreviewPublic)
async def preview_announcement(body: AnnouncementPreview, announcer: AnnouncerDep) -> PreviewPublic:
    """Render the text exactly as `create` would (lexicon, normaliser, engine) without
    scheduling or storing anything but the audio file; `audio.url` plays it.

    `targets`, `priority` and `expires_in_s` may be sent and are ignored. 422 for a bad
    request, 503 when speech synthesis fails.
    """
    return await announcer.preview(body)


@router.get("/announcements", response_model=Page[AnnouncementPublic], response_model_exclude_none=True)
async def list_announcements(
    announcer: AnnouncerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Page[AnnouncementPublic]:
    """Newest first, with per-state delivery counts (`summary`) instead of per-node rows."""
    return Page(items=await run_in_threadpool(announcer.recent, limit, offset))


@router.get("/announcements/{announcement_id}", response_model=AnnouncementPublic)
async def get_announcement(
    announcement_id: Annotated[int, Path(ge=1, le=MAX_ID)], announcer: AnnouncerDep
) -> AnnouncementPublic:
    view = await run_in_threadpool(announcer.get, announcement_id)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"announcement {announcement_id} not found")
    return view


@router.patch("/announcements/{announcement_id}", status_code=status.HTTP_201_CREATED, response_model=AnnouncementPublic)
async def edit_announcement(
    announcement_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: AnnouncementEdit, announcer: AnnouncerDep
) -> AnnouncementPublic:
    """Edit a scheduled announcement: a new revision (`revision_of` = this id) replaces it,
    and this one is cancelled, its staged future plays withdrawn from the nodes.

    201 with the new revision; 404 unknown, 409 for a play-now or no longer scheduled
    announcement, 422 for a bad edit.
    """
    return await announcer.edit(announcement_id, body, Actor.api())


@router.post("/announcements/{announcement_id}/cancel", response_model=AnnouncementPublic)
async def cancel_announcement(
    announcement_id: Annotated[int, Path(ge=1, le=MAX_ID)], announcer: AnnouncerDep
) -> AnnouncementPublic:
    """Cancel: nothing more is dispatched, and a signed `cancel` goes to the nodes holding
    its plays (their deliveries become `cancelled` as they report). Idempotent."""
    return await run_in_threadpool(announcer.cancel, announcement_id)


@router.post("/announcements/{announcement_id}/approve", response_model=AnnouncementPublic)
async def approve_announcement(
    announcement_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: ReviewBody, announcer: AnnouncerDep
) -> AnnouncementPublic:
    """Approve one `awaiting_approval`: play-now is staged from now and sent, scheduled
    becomes `scheduled`. 404 unknown; 409 not awaiting approval (approving twice never
    sends twice) or every occurrence of its schedule has passed."""
    return await announcer.approve(announcement_id, Actor.api(), body.comment)


@router.post("/announcements/{announcement_id}/reject", response_model=AnnouncementPublic)
async def reject_announcement(
    announcement_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: ReviewBody, announcer: AnnouncerDep
) -> AnnouncementPublic:
    """Reject one `awaiting_approval` with a `comment` (required: the author reads it).
    404 unknown, 409 not awaiting approval, 422 without a comment."""
    return await announcer.reject(announcement_id, Actor.api(), body.comment)


@router.get("/approvals", response_model=Page[AnnouncementPublic], response_model_exclude_none=True)
async def list_approvals(
    announcer: AnnouncerDep, limit: Annotated[int, Query(ge=1, le=200)] = 200
) -> Page[AnnouncementPublic]:
    """Announcements awaiting approval: emergencies first, then oldest first."""
    return Page(items=await run_in_threadpool(announcer.awaiting_approval, limit))
