"""Storing announcements and sending their commands: the half of creation after the audio exists.

`AnnouncementStore` is the base of `controller.announce.Announcer`; it lives apart so
the approval workflow (`controller.approval`) and creation share one way to build a
row (with who asked and who approved), audit it in the same transaction, stage and
sign play-now commands, and publish them. Reading (`get`, `recent`) is here too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from controller.announcement_views import announcement_view
from controller.audit import record
from controller.dispatch import (
    Clock,
    FanoutPlan,
    OutgoingCommand,
    Publisher,
    TargetError,
    audio_ref,
    build_commands,
    inline_audio,
    plan_fanout,
    publish_all,
    resolve_targets,
)
from controller.dispatcher import add_pending_deliveries
from controller.models import (
    Announcement,
    AnnouncementCreate,
    AnnouncementPublic,
    AnnouncementSource,
    AnnouncementStatus,
    Delivery,
    DeliveryState,
)
from controller.settings import ControllerSettings
from controller.speech_checks import AnnouncementError, fallback_reason
from controller.topology import ZoneTree
from protocol.commands import Priority
from protocol.signing import Signer
from schedules.occurrences import next_occurrence
from schedules.staging import Staging, stage_now

log = logging.getLogger("controller.announce")


@dataclass(frozen=True)
class Prepared:
    """A request checked, its targets planned and its audio made: ready to store."""

    req: AnnouncementCreate
    voice: str
    plan: FanoutPlan
    audio: Any
    """A `RenderedAudio` or a `StoredRecording`: `sha256`, `size`, `duration_ms`."""
    ttl_s: int

    @property
    def source(self) -> AnnouncementSource:
        return AnnouncementSource.RECORDING if self.req.recording is not None else AnnouncementSource.TEXT

    @property
    def chime(self) -> bool:
        """A recording's chime was decided when it was mastered; speech's by the request."""
        return bool(getattr(self.audio, "chime", False)) if self.req.recording is not None else self.req.chime


@dataclass(frozen=True)
class Provenance:
    """Who asked and how it got past approval: stored on the row, audited in its transaction."""

    actor: str
    audit_action: str
    approved_by: str | None = None
    approved_at: datetime | None = None
    skipped_approval: bool = False


@dataclass(frozen=True)
class AnnouncementStore:
    """Rows, commands and publishing; see the module docstring."""

    settings: ControllerSettings
    engine: Engine
    signer: Signer
    publisher: Publisher
    clock: Clock

    def load(self, ann_id: int) -> Announcement:
        """The row, detached; 404 when there is none."""
        with Session(self.engine) as session:
            ann = session.get(Announcement, ann_id)
            if ann is None:
                raise AnnouncementError(404, f"announcement {ann_id} not found")
            session.expunge(ann)
            return ann


    def store(
        self, p: Prepared, prov: Provenance, status: AnnouncementStatus, revision_of: int | None = None
    ) -> int:
        """Store without deliveries: `scheduled` (they come with each dispatched
        occurrence) or `awaiting_approval` (they come with the approval)."""
        now = self.clock()
        if p.req.schedule is not None:
            since = now - timedelta(seconds=self.settings.schedule_grace_s)
            first = next_occurrence(p.req.schedule, after=since, duration_s=p.audio.duration_ms / 1000.0)
            play_at = first.play_at if first is not None else now
            expires_at = play_at + timedelta(seconds=self.settings.occurrence_ttl_s)
        else:  # awaiting approval: provisional times; approval stages it afresh with the same ttl
            staging = self.staging(now, p.req.priority, p.ttl_s)
            play_at, expires_at = staging.play_at, staging.expires_at
        with Session(self.engine) as session:
            ann = self._row(p, prov, status, now, play_at, expires_at, revision_of)
            session.add(ann)
            session.flush()
            if ann.id is None:
                raise RuntimeError("database assigned no announcement id")
            self._audit(session, ann, prov, now)
            session.commit()
            return ann.id

    def _row(
        self,
        p: Prepared,
        prov: Provenance,
        status: AnnouncementStatus,
        now: datetime,
        play_at: datetime,
        expires_at: datetime,
        revision_of: int | None,
    ) -> Announcement:
        req = p.req
        return Announcement(
            text=req.text,
            voice=p.voice,
            rate=req.rate,
            priority=req.priority.value,
            chime=p.chime,
            targets=req.targets.model_dump(),
            status=status,
            created_at=now,
            play_at=play_at,
            expires_at=expires_at,
            audio_sha256=p.audio.sha256,
            audio_size=p.audio.size,
            audio_duration_ms=p.audio.duration_ms,
            fallback_reason=fallback_reason(p.audio),
            schedule=req.schedule.model_dump(mode="json") if req.schedule is not None else None,
            revision_of=revision_of,
            created_by=prov.actor,
            approved_by=prov.approved_by,
            approved_at=prov.approved_at,
            skipped_approval=prov.skipped_approval,
            source=p.source,
        )

    @staticmethod
    def _audit(session: Session, ann: Announcement, prov: Provenance, now: datetime) -> None:
        detail = {"priority": ann.priority, "source": ann.source, "title": ann.text[:120]}
        record(session, at=now, actor=prov.actor, action=prov.audit_action, target=f"announcement:{ann.id}", detail=detail)

    def staging(self, now: datetime, priority: Priority | str, ttl_s: float) -> Staging:
        """Play-now times from `now`: the emergency lead for emergencies, else the play lead."""
        emergency = Priority(priority) is Priority.EMERGENCY
        lead_s = self.settings.emergency_lead_s if emergency else self.settings.play_lead_s
        return stage_now(now, lead_s=lead_s, ttl_s=ttl_s)

    def plan_targets(self, targets: dict[str, Any]) -> FanoutPlan:
        """The fan-out for stored targets; 422 `targets_invalid` when they reach nobody now."""
        with Session(self.engine) as session:
            tree = ZoneTree.load(session)
        try:
            nodes = resolve_targets(tree, targets.get("zones", []), targets.get("nodes", []), bool(targets.get("all")))
        except TargetError as exc:
            raise AnnouncementError(422, str(exc), "targets_invalid") from None
        return plan_fanout(tree, nodes)


    def commands_for(self, ann: Announcement, plan: FanoutPlan, staging: Staging) -> list[OutgoingCommand]:
        """Signed play commands for a play-now announcement (stored, so it has an id).

        A small emergency carries its audio inline (`controller.dispatch.inline_audio`)."""
        if ann.id is None:
            raise ValueError("announcement has not been stored yet")
        priority = Priority(ann.priority)
        data = inline_audio(
            self.settings.audio_dir or self.settings.state_dir / "audio", ann.audio_sha256, ann.audio_size, priority,
            self.settings.inline_audio_max_bytes,
        )
        return build_commands(
            plan,
            signer=self.signer,
            announcement_id=ann.id,
            audio=audio_ref(self.settings.public_url, ann.audio_sha256, ann.audio_size, ann.audio_duration_ms, data),
            play_at=staging.play_at,
            priority=priority,
            issued_at=staging.issued_at,
            expires_at=staging.expires_at,
        )

    def _store_now(self, p: Prepared, prov: Provenance) -> tuple[list[OutgoingCommand], int]:
        staging = self.staging(self.clock(), p.req.priority, p.ttl_s)
        with Session(self.engine) as session:
            ann = self._row(p, prov, AnnouncementStatus.PENDING, staging.issued_at, staging.play_at, staging.expires_at, None)
            session.add(ann)
            session.flush()
            ann_id = ann.id
            if ann_id is None:  # flush always assigns it; this narrows the type
                raise RuntimeError("database assigned no announcement id")
            commands = self.commands_for(ann, p.plan, staging)
            ann.command_ids = [c.command.id for c in commands]
            add_pending_deliveries(session, ann_id, commands, now=staging.issued_at, play_at=staging.play_at)
            self._audit(session, ann, prov, staging.issued_at)
            session.commit()
            return commands, ann_id

    def publish_commands(self, ann_id: int, commands: list[OutgoingCommand]) -> None:
        """Publish, then mark the announcement `sent` (or `failed`) and its deliveries."""
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
                503,
                f"announcement {ann_id} was stored but {len(failed)} of {len(commands)} command(s) could not be published",
                "publish_failed",
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


__all__ = ["AnnouncementStore", "Prepared", "Provenance"]
