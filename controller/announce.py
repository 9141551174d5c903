"""Creating an announcement: validate, make the audio, store, publish — in that order.

The order is the point. Targets are checked before any speech is made (cheap
failures first); speech is made before the database transaction opens (a TTS run can
take seconds and must not hold SQLite's write lock); the announcement and all its
deliveries are stored in one transaction (never half an announcement); only then are
the signed commands published, and deliveries move from `pending` to `sent`.
Blocking steps run in the thread pool so the event loop keeps serving other requests.

`prepare` does the first half (checks, targets, audio: synthesised text or an
uploaded recording) and `publish` the second; `controller.approval` puts a stored
`awaiting_approval` step between them for people who may not publish themselves.

A preview runs the same checks and the same render, and stops there: officials hear
exactly what will air (same lexicon, normaliser, engine and cache entry), and
creating the announcement afterwards reuses the rendered file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from audio.errors import AudioError, EngineError
from controller import approval, recordings
from controller.accounts.actor import Actor
from controller.accounts.roles import Perm
from controller.announcement_store import AnnouncementStore, Prepared, Provenance
from controller.announcement_views import announcement_view, audio_view
from controller.dispatch import FanoutPlan
from controller.dispatcher import Dispatcher
from controller.engines import VoiceInfo
from controller.models import (
    Announcement,
    AnnouncementCreate,
    AnnouncementEdit,
    AnnouncementPreview,
    AnnouncementPublic,
    AnnouncementSource,
    AnnouncementStatus,
    PreviewPublic,
    SpeechBase,
)
from controller.programme import check_schedule, conflict_warnings
from controller.revisions import NotCancellable, NotFound, cancel_announcement
from controller.speech_checks import AnnouncementError, Renderer, check_speech, fallback_reason
from controller.topology import ZoneTree

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Announcer(AnnouncementStore):
    """Everything creating an announcement needs, built once in the app's lifespan.

    The storing and publishing half comes from `AnnouncementStore`."""

    renderer: Renderer
    voices: tuple[VoiceInfo, ...]
    """The renderer's voices; the first is the default."""

    dispatcher: Dispatcher | None = None
    """Ticked right after a scheduled announcement is stored, so an occurrence within the
    staging horizon is published at once rather than on the next scheduled tick."""

    async def create(
        self, req: AnnouncementCreate, *, revision_of: int | None = None, actor: Actor | None = None
    ) -> AnnouncementPublic:
        """`submit` as `actor` (default the REST API's machine client, which publishes directly)."""
        return await approval.submit(self, req, actor or Actor.api(), revision_of=revision_of)

    async def submit(self, req: AnnouncementCreate, actor: Actor) -> AnnouncementPublic:
        """Publish, or queue for approval, by the actor's rights (`controller.approval.submit`)."""
        return await approval.submit(self, req, actor)

    async def approve(self, ann_id: int, actor: Actor, comment: str | None = None) -> AnnouncementPublic:
        return await approval.approve(self, ann_id, actor, comment)

    async def reject(self, ann_id: int, actor: Actor, comment: str | None) -> AnnouncementPublic:
        return await approval.reject(self, ann_id, actor, comment)

    def awaiting_approval(self, limit: int = 200) -> list[AnnouncementPublic]:
        """The approval queue: emergencies first, then oldest first."""
        with Session(self.engine) as session:
            rows = approval.awaiting_approval(session, limit=limit)
            return [announcement_view(session, a, self.settings.public_url, with_deliveries=False) for a in rows]

    async def prepare(self, req: AnnouncementCreate) -> Prepared:
        """Every check, the fan-out plan and the audio; nothing stored but the audio file."""
        ttl_s = req.expires_in_s if req.expires_in_s is not None else self.settings.default_ttl_s
        if req.recording is not None:
            voice = recordings.check_recording_request(req, self.settings)
        else:
            voice = check_speech(req, self.voices, self.settings.max_text_chars)
        if req.schedule is not None:
            problems = check_schedule(req.schedule, self.clock(), self.settings.schedule_grace_s)
            if problems:
                raise AnnouncementError(422, "; ".join(problems), "schedule_invalid")
        elif ttl_s <= self.settings.play_lead_s:
            raise AnnouncementError(
                422, f"expires_in_s ({ttl_s}) must be longer than the play lead ({self.settings.play_lead_s} s)"
            )
        plan = await run_in_threadpool(self._plan, req)
        if req.recording is not None:
            audio = await run_in_threadpool(recordings.find_recording, self.settings, req)
        else:
            audio = await run_in_threadpool(self._render, req, voice)
        return Prepared(req, voice, plan, audio, ttl_s)

    async def publish(
        self, prepared: Prepared, prov: Provenance, revision_of: int | None = None
    ) -> AnnouncementPublic:
        """Store and send (play now) or store as `scheduled` and tick the dispatcher."""
        if prepared.req.schedule is not None:
            ann_id = await run_in_threadpool(
                self.store, prepared, prov, AnnouncementStatus.SCHEDULED, revision_of
            )
            if self.dispatcher is not None:
                await run_in_threadpool(self.dispatcher.tick)
        else:
            commands, ann_id = await run_in_threadpool(self._store_now, prepared, prov)
            await run_in_threadpool(self.publish_commands, ann_id, commands)
        return await self.answer(ann_id, revision_of)

    async def answer(self, ann_id: int, revision_of: int | None = None) -> AnnouncementPublic:
        """The view returned by a create, submit or approval, with overlap warnings."""
        warnings = await run_in_threadpool(self._warnings, ann_id, revision_of)
        view = await run_in_threadpool(self.get, ann_id)
        if view is None:  # deleted in between: only possible by hand
            raise AnnouncementError(409, f"announcement {ann_id} vanished while being created")
        return view.model_copy(update={"warnings": warnings or None})

    async def edit(self, ann_id: int, req: AnnouncementEdit, actor: Actor | None = None) -> AnnouncementPublic:
        """Replace a scheduled announcement by a new revision, then cancel the old one.

        Why a revision and not an in-place update: occurrences already staged on nodes
        carry the old audio and the old occurrence ids; a new announcement id makes every
        new play distinct, and the old one's staged future plays are withdrawn by
        occurrence id (a play already on air is left to finish). The new one is created
        first, so a failed render or a bad edit leaves the old programme untouched.
        Only approvers edit: an unapproved revision would withdraw the approved one.
        """
        actor = actor or Actor.api()
        approval.require(actor, Perm.ANNOUNCE_APPROVE, "edit scheduled announcements")
        old = await run_in_threadpool(self.load, ann_id)
        if old.schedule is None:
            raise AnnouncementError(409, f"announcement {ann_id} plays now; only scheduled announcements can be edited")
        if old.status != AnnouncementStatus.SCHEDULED:
            raise AnnouncementError(409, f"announcement {ann_id} is {old.status}; it can no longer be edited")
        merged: dict[str, Any] = {
            "text": old.text,
            "priority": old.priority,
            "targets": old.targets,
            "schedule": old.schedule,
        }
        if req.recording is not None or old.source == AnnouncementSource.RECORDING:
            merged["recording"] = {"sha256": old.audio_sha256}  # the edit's own `recording` wins below
        else:
            merged.update(voice=old.voice, rate=old.rate, chime=old.chime)
        merged.update(req.model_dump(exclude_unset=True, exclude_none=True, mode="json"))
        try:
            new_req = AnnouncementCreate.model_validate(merged)
        except ValidationError as exc:
            raise AnnouncementError(422, "; ".join(str(e.get("msg")) for e in exc.errors())) from None
        view = await self.create(new_req, revision_of=ann_id, actor=actor)
        await run_in_threadpool(self.cancel, ann_id, True)
        return view

    def cancel(self, ann_id: int, future_only: bool = False) -> AnnouncementPublic:
        """Cancel (idempotent); see controller/revisions.py."""
        lock = self.dispatcher.lock if self.dispatcher is not None else None
        try:
            if lock is not None:
                lock.acquire()
            try:
                cancel_announcement(
                    self.engine, self.signer, self.publisher, self.clock(), ann_id, future_only=future_only
                )
            finally:
                if lock is not None:
                    lock.release()
        except NotFound as exc:
            raise AnnouncementError(404, str(exc)) from None
        except NotCancellable as exc:
            raise AnnouncementError(409, str(exc), "not_cancellable") from None
        view = self.get(ann_id)
        if view is None:
            raise AnnouncementError(404, f"announcement {ann_id} not found")
        return view

    async def preview(self, req: AnnouncementPreview) -> PreviewPublic:
        """Render as `create` would, without scheduling or storing an announcement."""
        voice = check_speech(req, self.voices, self.settings.max_text_chars)
        rendered = await run_in_threadpool(self._render, req, voice)
        return PreviewPublic(
            spoken_text=rendered.spoken_text,
            voice=voice,
            audio=audio_view(self.settings.public_url, rendered.sha256, rendered.size, rendered.duration_ms),
            fallback_reason=fallback_reason(rendered),
        )

    # -- steps (public ones are shared with controller.approval) -----------------------

    def _warnings(self, ann_id: int, revision_of: int | None) -> list[str]:
        with Session(self.engine) as session:
            ann = session.get(Announcement, ann_id)
            if ann is None:
                return []
            tree = ZoneTree.load(session)
            exclude = [revision_of] if revision_of is not None else []
            return conflict_warnings(session, ann, tree, self.clock(), exclude=exclude)

    def _plan(self, req: AnnouncementCreate) -> FanoutPlan:
        return self.plan_targets(req.targets.model_dump())

    def _render(self, req: SpeechBase, voice: str) -> Any:
        from audio.pipeline import RenderRequest  # heavy (pydub); only the controller's render path needs it

        try:
            return self.renderer.render(RenderRequest(text=req.text, voice=voice, rate=req.rate, chime=req.chime))
        except EngineError as exc:
            log.error("speech engine failed: %s", exc)
            raise AnnouncementError(503, f"speech synthesis is unavailable: {exc}", "tts_unavailable") from None
        except AudioError as exc:
            raise AnnouncementError(422, f"cannot turn this text into speech: {exc}", "tts_refused") from None
        except Exception as exc:  # a crash inside the pipeline is an outage, not the client's fault
            log.exception("audio pipeline crashed")
            raise AnnouncementError(503, f"speech synthesis failed unexpectedly: {type(exc).__name__}", "tts_unavailable") from None



__all__ = [
    "AnnouncementError",
    "Announcer",
    "Prepared",
    "Provenance",
    "Renderer",
    "announcement_view",
    "fallback_reason",
]
