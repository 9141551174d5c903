"""Creating an announcement: validate, synthesise, store, publish — in that order.

The order is the point. Targets are checked before any speech is made (cheap
failures first); speech is made before the database transaction opens (a TTS run can
take seconds and must not hold SQLite's write lock); the announcement and all its
deliveries are stored in one transaction (never half an announcement); only then are
the signed commands published, and deliveries move from `pending` to `sent`.
Blocking steps run in the thread pool so the event loop keeps serving other requests.

A preview runs the same checks and the same render, and stops there: officials hear
exactly what will air (same lexicon, normaliser, engine and cache entry), and
creating the announcement afterwards reuses the rendered file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from audio.errors import AudioError, EngineError
from controller.dispatch import (
    Clock,
    FanoutPlan,
    OutgoingCommand,
    Publisher,
    TargetError,
    audio_ref,
    build_commands,
    plan_fanout,
    publish_all,
    resolve_targets,
)
from controller.dispatcher import Dispatcher, add_pending_deliveries
from controller.engines import VoiceInfo
from controller.models import (
    Announcement,
    AnnouncementCreate,
    AnnouncementEdit,
    AnnouncementPreview,
    AnnouncementPublic,
    AnnouncementStatus,
    AudioPublic,
    Delivery,
    DeliveryPublic,
    DeliveryState,
    PreviewPublic,
    SpeechBase,
)
from controller.programme import check_schedule, conflict_warnings
from controller.revisions import NotFound, cancel_announcement
from controller.settings import ControllerSettings
from controller.speech_checks import AnnouncementError, Renderer, check_speech, fallback_reason
from controller.topology import ZoneTree
from protocol.commands import Priority
from protocol.signing import Signer
from schedules.occurrences import next_occurrence
from schedules.staging import stage_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Announcer:
    """Everything creating an announcement needs, built once in the app's lifespan."""

    settings: ControllerSettings
    engine: Engine
    renderer: Renderer
    signer: Signer
    publisher: Publisher
    clock: Clock
    voices: tuple[VoiceInfo, ...]
    """The renderer's voices; the first is the default."""

    dispatcher: Dispatcher | None = None
    """Ticked right after a scheduled announcement is stored, so an occurrence within the
    staging horizon is published at once rather than on the next scheduled tick."""

    async def create(
        self, req: AnnouncementCreate, *, revision_of: int | None = None
    ) -> AnnouncementPublic:
        ttl_s = req.expires_in_s if req.expires_in_s is not None else self.settings.default_ttl_s
        voice = check_speech(req, self.voices, self.settings.max_text_chars)
        if req.schedule is not None:
            problems = check_schedule(req.schedule, self.clock(), self.settings.schedule_grace_s)
            if problems:
                raise AnnouncementError(422, "; ".join(problems))
        elif ttl_s <= self.settings.play_lead_s:
            raise AnnouncementError(
                422, f"expires_in_s ({ttl_s}) must be longer than the play lead ({self.settings.play_lead_s} s)"
            )
        plan = await run_in_threadpool(self._plan, req)
        rendered = await run_in_threadpool(self._render, req, voice)
        if req.schedule is not None:
            ann_id = await run_in_threadpool(self._store_scheduled, req, voice, rendered, revision_of)
            if self.dispatcher is not None:
                await run_in_threadpool(self.dispatcher.tick)
        else:
            commands, ann_id = await run_in_threadpool(self._store, req, voice, plan, rendered, ttl_s)
            await run_in_threadpool(self._publish, ann_id, commands)
        warnings = await run_in_threadpool(self._warnings, ann_id, revision_of)
        view = await run_in_threadpool(self.get, ann_id)
        if view is None:  # deleted in between: only possible by hand
            raise AnnouncementError(409, f"announcement {ann_id} vanished while being created")
        return view.model_copy(update={"warnings": warnings or None})

    async def edit(self, ann_id: int, req: AnnouncementEdit) -> AnnouncementPublic:
        """Replace a scheduled announcement by a new revision, then cancel the old one.

        Why a revision and not an in-place update: occurrences already staged on nodes
        carry the old audio and the old occurrence ids; a new announcement id makes every
        new play distinct, and the old one's staged future plays are withdrawn by
        occurrence id (a play already on air is left to finish). The new one is created
        first, so a failed render or a bad edit leaves the old programme untouched.
        """
        old = await run_in_threadpool(self._load, ann_id)
        if old.schedule is None:
            raise AnnouncementError(409, f"announcement {ann_id} plays now; only scheduled announcements can be edited")
        if old.status != AnnouncementStatus.SCHEDULED:
            raise AnnouncementError(409, f"announcement {ann_id} is {old.status}; it can no longer be edited")
        merged = {
            "text": old.text,
            "voice": old.voice,
            "rate": old.rate,
            "chime": old.chime,
            "priority": old.priority,
            "targets": old.targets,
            "schedule": old.schedule,
        }
        merged.update(req.model_dump(exclude_unset=True, exclude_none=True, mode="json"))
        try:
            new_req = AnnouncementCreate.model_validate(merged)
        except ValidationError as exc:
            raise AnnouncementError(422, "; ".join(str(e.get("msg")) for e in exc.errors())) from None
        view = await self.create(new_req, revision_of=ann_id)
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
            audio=_audio_view(self.settings.public_url, rendered.sha256, rendered.size, rendered.duration_ms),
            fallback_reason=fallback_reason(rendered),
        )

    # -- steps -------------------------------------------------------------------------

    def _load(self, ann_id: int) -> Announcement:
        with Session(self.engine) as session:
            ann = session.get(Announcement, ann_id)
            if ann is None:
                raise AnnouncementError(404, f"announcement {ann_id} not found")
            session.expunge(ann)
            return ann

    def _warnings(self, ann_id: int, revision_of: int | None) -> list[str]:
        with Session(self.engine) as session:
            ann = session.get(Announcement, ann_id)
            if ann is None:
                return []
            tree = ZoneTree.load(session)
            exclude = [revision_of] if revision_of is not None else []
            return conflict_warnings(session, ann, tree, self.clock(), exclude=exclude)

    def _store_scheduled(self, req: AnnouncementCreate, voice: str, rendered: Any, revision_of: int | None) -> int:
        """Store a scheduled announcement; its deliveries come with each dispatched occurrence."""
        if req.schedule is None:
            raise ValueError("not a scheduled announcement")
        now = self.clock()
        since = now - timedelta(seconds=self.settings.schedule_grace_s)
        first = next_occurrence(req.schedule, after=since, duration_s=rendered.duration_ms / 1000.0)
        play_at = first.play_at if first is not None else now
        with Session(self.engine) as session:
            ann = Announcement(
                text=req.text,
                voice=voice,
                rate=req.rate,
                priority=req.priority.value,
                chime=req.chime,
                targets=req.targets.model_dump(),
                status=AnnouncementStatus.SCHEDULED,
                created_at=now,
                play_at=play_at,
                expires_at=play_at + timedelta(seconds=self.settings.occurrence_ttl_s),
                audio_sha256=rendered.sha256,
                audio_size=rendered.size,
                audio_duration_ms=rendered.duration_ms,
                fallback_reason=fallback_reason(rendered),
                schedule=req.schedule.model_dump(mode="json"),
                revision_of=revision_of,
            )
            session.add(ann)
            session.commit()
            if ann.id is None:
                raise RuntimeError("database assigned no announcement id")
            return ann.id

    def _plan(self, req: AnnouncementCreate) -> FanoutPlan:
        with Session(self.engine) as session:
            tree = ZoneTree.load(session)
        try:
            targets = resolve_targets(tree, req.targets.zones, req.targets.nodes, req.targets.all)
        except TargetError as exc:
            raise AnnouncementError(422, str(exc)) from None
        return plan_fanout(tree, targets)

    def _render(self, req: SpeechBase, voice: str) -> Any:
        from audio.pipeline import RenderRequest  # heavy (pydub); only the controller's render path needs it

        try:
            return self.renderer.render(RenderRequest(text=req.text, voice=voice, rate=req.rate, chime=req.chime))
        except EngineError as exc:
            log.error("speech engine failed: %s", exc)
            raise AnnouncementError(503, f"speech synthesis is unavailable: {exc}") from None
        except AudioError as exc:
            raise AnnouncementError(422, f"cannot turn this text into speech: {exc}") from None
        except Exception as exc:  # a crash inside the pipeline is an outage, not the client's fault
            log.exception("audio pipeline crashed")
            raise AnnouncementError(503, f"speech synthesis failed unexpectedly: {type(exc).__name__}") from None

    def _store(
        self, req: AnnouncementCreate, voice: str, plan: FanoutPlan, rendered: Any, ttl_s: int
    ) -> tuple[list[OutgoingCommand], int]:
        lead_s = self.settings.emergency_lead_s if req.priority is Priority.EMERGENCY else self.settings.play_lead_s
        staging = stage_now(self.clock(), lead_s=lead_s, ttl_s=ttl_s)
        now, play_at, expires_at = staging.issued_at, staging.play_at, staging.expires_at
        audio = audio_ref(self.settings.public_url, rendered.sha256, rendered.size, rendered.duration_ms)
        with Session(self.engine) as session:
            ann = Announcement(
                text=req.text,
                voice=voice,
                rate=req.rate,
                priority=req.priority.value,
                chime=req.chime,
                targets=req.targets.model_dump(),
                status=AnnouncementStatus.PENDING,
                created_at=now,
                play_at=play_at,
                expires_at=expires_at,
                audio_sha256=rendered.sha256,
                audio_size=rendered.size,
                audio_duration_ms=rendered.duration_ms,
                fallback_reason=fallback_reason(rendered),
            )
            session.add(ann)
            session.flush()
            ann_id = ann.id
            if ann_id is None:  # flush always assigns it; this narrows the type
                raise RuntimeError("database assigned no announcement id")
            commands = build_commands(
                plan,
                signer=self.signer,
                announcement_id=ann_id,
                audio=audio,
                play_at=play_at,
                priority=req.priority,
                issued_at=now,
                expires_at=expires_at,
            )
            ann.command_ids = [c.command.id for c in commands]
            add_pending_deliveries(session, ann_id, commands, now=now, play_at=play_at)
            session.commit()
            return commands, ann_id

    def _publish(self, ann_id: int, commands: list[OutgoingCommand]) -> None:
        failed = publish_all(self.publisher, commands)
        now = self.clock()
        with Session(self.engine) as session:
            ann = session.get(Announcement, ann_id)
            if ann is not None:
                ann.status = AnnouncementStatus.FAILED if failed else AnnouncementStatus.SENT
                session.add(ann)
            for cmd in commands:
                error = failed.get(cmd.command.id)
                # Only rows still `pending`: a fast node may already have reported `received`.
                session.exec(  # type: ignore[call-overload]
                    update(Delivery)
                    .where(
                        col(Delivery.announcement_id) == ann_id,
                        col(Delivery.command_id) == cmd.command.id,
                        col(Delivery.state) == DeliveryState.PENDING,
                    )
                    .values(state=DeliveryState.FAILED if error else DeliveryState.SENT, updated_at=now, detail=error)
                )
            session.commit()
        if failed:
            raise AnnouncementError(
                503, f"announcement {ann_id} was stored but {len(failed)} of {len(commands)} command(s) could not be published"
            )
        log.info("announcement %s: %d command(s) published", ann_id, len(commands))

    # -- reading -----------------------------------------------------------------------

    def get(self, ann_id: int) -> AnnouncementPublic | None:
        with Session(self.engine) as session:
            ann = session.get(Announcement, ann_id)
            return None if ann is None else announcement_view(session, ann, self.settings.public_url, with_deliveries=True)

    def recent(self, limit: int, offset: int) -> list[AnnouncementPublic]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(Announcement).order_by(col(Announcement.id).desc()).offset(offset).limit(limit)
            ).all()
            return [announcement_view(session, ann, self.settings.public_url, with_deliveries=False) for ann in rows]


def announcement_view(
    session: Session, ann: Announcement, public_url: str, *, with_deliveries: bool
) -> AnnouncementPublic:
    if ann.id is None:
        raise ValueError("announcement has not been stored yet")
    counts = session.exec(
        select(Delivery.state, func.count()).where(Delivery.announcement_id == ann.id).group_by(Delivery.state)
    ).all()
    deliveries = None
    if with_deliveries:
        rows = session.exec(
            select(Delivery)
            .where(Delivery.announcement_id == ann.id)
            .order_by(col(Delivery.play_at), col(Delivery.occurrence), col(Delivery.node_id))
        ).all()
        deliveries = [DeliveryPublic.model_validate(d) for d in rows]
    return AnnouncementPublic(
        id=ann.id,
        text=ann.text,
        voice=ann.voice,
        rate=ann.rate,
        priority=ann.priority,
        chime=ann.chime,
        targets=ann.targets,
        status=ann.status,
        created_at=ann.created_at,
        play_at=ann.play_at,
        expires_at=ann.expires_at,
        audio=_audio_view(public_url, ann.audio_sha256, ann.audio_size, ann.audio_duration_ms),
        fallback_reason=ann.fallback_reason,
        summary={state: n for state, n in counts},
        deliveries=deliveries,
        schedule=ann.schedule,
        revision_of=ann.revision_of,
    )


def _audio_view(public_url: str, sha256: str, size: int, duration_ms: int) -> AudioPublic:
    url = audio_ref(public_url, sha256, size, duration_ms).url
    return AudioPublic(url=url, sha256=sha256, duration_ms=duration_ms, size=size)


__all__ = ["AnnouncementError", "Announcer", "Renderer", "announcement_view", "fallback_reason"]
