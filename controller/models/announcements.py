"""Announcement and Delivery tables, and the states they go through."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, String, false
from sqlmodel import JSON, Column, Field, SQLModel, UniqueConstraint

from controller.models.columns import _utc_field
from controller.models.shapes import MAX_FALLBACK_REASON_CHARS


class DeliveryState(StrEnum):
    """Where one announcement stands on one node. Later states never give way to earlier ones."""

    PENDING = "pending"
    """Stored; the command is not yet handed to MQTT."""
    SENT = "sent"
    """Published (QoS 1) to the broker."""
    RECEIVED = "received"
    READY = "ready"
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"
    EXPIRED = "expired"
    PREEMPTED = "preempted"
    CANCELLED = "cancelled"
    """Withdrawn by a `cancel` (reported by the node, or assumed by the sweep after expiry)."""


TERMINAL_STATES = frozenset(
    {
        DeliveryState.FINISHED,
        DeliveryState.FAILED,
        DeliveryState.EXPIRED,
        DeliveryState.PREEMPTED,
        DeliveryState.CANCELLED,
    }
)
STATE_RANK: dict[str, int] = {
    DeliveryState.PENDING: 0,
    DeliveryState.SENT: 1,
    DeliveryState.RECEIVED: 2,
    DeliveryState.READY: 3,
    DeliveryState.STARTED: 4,
    **{s: 5 for s in TERMINAL_STATES},
}


MAX_STATUS_CHARS = 32
"""`awaiting_approval` is 17 characters: the column was 16 wide before issue 5 (SQLite does
not enforce it; an old PostgreSQL database needs `ALTER COLUMN status TYPE varchar(32)`)."""
MAX_REVIEW_COMMENT_CHARS = 1000
MAX_USERNAME_CHARS = 100


class AnnouncementSource(StrEnum):
    """Where an announcement's audio came from."""

    TEXT = "text"
    """Synthesised from `text` (lexicon, normaliser, engine)."""
    RECORDING = "recording"
    """An uploaded recording (`audio_sha256`); `text` is the official's title for history."""


class AnnouncementStatus(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    """Submitted by someone who may not publish: rendered, stored, nothing sent until approved."""
    REJECTED = "rejected"
    """Refused by an approver (`review_comment` says why); never sent."""
    PENDING = "pending"
    """Stored, commands not yet published."""
    SENT = "sent"
    """Every command handed to the MQTT link (queued there if the broker is briefly away)."""
    FAILED = "failed"
    """Publishing raised; see the deliveries' detail."""
    SCHEDULED = "scheduled"
    """Has a schedule; the dispatcher publishes each occurrence shortly before it plays."""
    DONE = "done"
    """Was scheduled and has nothing left to play: no occurrence remains to dispatch and every
    dispatched one is over (its deliveries final or expired). Set by the dispatcher; never
    dispatched, edited or counted in overlap warnings again. The deliveries say what played."""
    CANCELLED = "cancelled"
    """Cancelled (or replaced by an edited revision): nothing more is dispatched."""


class Announcement(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    text: str
    voice: str = Field(max_length=64)
    rate: int
    priority: str = Field(max_length=16)
    chime: bool = False
    targets: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    """The request's targets as given: {"zones": [...], "nodes": [...], "all": bool}."""
    status: str = Field(default=AnnouncementStatus.PENDING, max_length=MAX_STATUS_CHARS)
    created_at: datetime = _utc_field()
    play_at: datetime = _utc_field()
    expires_at: datetime = _utc_field()
    audio_sha256: str = Field(max_length=64)
    audio_size: int
    audio_duration_ms: int
    fallback_reason: str | None = Field(default=None, max_length=MAX_FALLBACK_REASON_CHARS)
    """Why espeak-ng read the text instead of the chosen engine; None when the chosen one did."""
    command_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    schedule: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """The rule (`schedules.rules`, dumped as JSON); None = play now. For a scheduled
    announcement `play_at`/`expires_at` describe its first occurrence; each delivery
    carries its own."""
    revision_of: int | None = Field(default=None, index=True)
    """The announcement this one replaced by an edit (the old one is cancelled)."""
    cancelled_at: datetime | None = _utc_field(default=None)
    # Approval (issue 5). All nullable or server-defaulted: `init_db` adds them to old databases.
    created_by: str | None = Field(default=None, max_length=MAX_USERNAME_CHARS)
    """Username of who submitted it (`api` for a bearer-token client); None before issue 5."""
    approved_by: str | None = Field(default=None, max_length=MAX_USERNAME_CHARS)
    """Who approved it (themselves when an approver published directly) or, when `rejected`,
    who rejected it. None while awaiting approval and for emergencies that skipped it."""
    approved_at: datetime | None = _utc_field(default=None)
    """When it was approved or rejected."""
    review_comment: str | None = Field(default=None, max_length=MAX_REVIEW_COMMENT_CHARS)
    """The approver's comment; required (the reason) for a rejection."""
    skipped_approval: bool | None = Field(
        default=False, sa_column=Column(Boolean, nullable=True, server_default=false())
    )
    """An emergency sent without approval by someone allowed to (audit-logged)."""
    source: str | None = Field(
        default=AnnouncementSource.TEXT, sa_column=Column(String(16), nullable=True, server_default="text")
    )
    """`text` (synthesised) or `recording` (uploaded audio); None on rows before issue 5 = text."""


class Delivery(SQLModel, table=True):
    """One play of an announcement on one node: the row officials read to see who played it.

    Play-now announcements have one per node (`occurrence` None); scheduled ones one per
    (occurrence, node), created when the dispatcher publishes that occurrence.
    """

    __table_args__ = (
        UniqueConstraint("announcement_id", "occurrence", "node_id", name="uq_delivery_announcement_occurrence_node"),
    )

    id: int | None = Field(default=None, primary_key=True)
    announcement_id: int = Field(foreign_key="announcement.id", index=True, ondelete="CASCADE")
    node_id: str = Field(foreign_key="node.id", index=True, max_length=63, ondelete="CASCADE")
    command_id: str = Field(index=True, max_length=64)
    """The command that reaches this node (shared by every node of a zone command)."""
    state: str = Field(default=DeliveryState.PENDING, max_length=16, index=True)
    updated_at: datetime = _utc_field()
    detail: str | None = Field(default=None, max_length=500)
    occurrence: str | None = Field(default=None, max_length=100, index=True)
    """Occurrence key (`schedules.occurrences.Occurrence.key`); None for play-now."""
    play_at: datetime | None = _utc_field(default=None)
    expires_at: datetime | None = _utc_field(default=None)
    """Expiry of this delivery's command; None = the announcement's `expires_at`."""


__all__ = [
    "MAX_REVIEW_COMMENT_CHARS",
    "STATE_RANK",
    "TERMINAL_STATES",
    "Announcement",
    "AnnouncementSource",
    "AnnouncementStatus",
    "Delivery",
    "DeliveryState",
]
