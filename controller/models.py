"""Database tables and their API shapes, one family per entity (`XBase/XPublic/X`).

Ids of zones and nodes are the same slugs that appear in MQTT topics, so a node's
broker account, its topics and its row are all named alike and the topic layer can
never be smuggled a wildcard. Timestamps are stored as UTC and always come back
timezone-aware (SQLite forgets offsets; `UtcDateTime` puts UTC back).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Column, Field, SQLModel, UniqueConstraint

from protocol.commands import Priority
from schedules.rules import Rule


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_field(**kwargs: Any) -> Any:
    return Field(sa_type=UtcDateTime, **kwargs)


class ZoneKind(StrEnum):
    COMMUNE = "commune"
    HAMLET = "hamlet"


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


class AnnouncementStatus(StrEnum):
    PENDING = "pending"
    """Stored, commands not yet published."""
    SENT = "sent"
    """Every command handed to the MQTT link (queued there if the broker is briefly away)."""
    FAILED = "failed"
    """Publishing raised; see the deliveries' detail."""
    SCHEDULED = "scheduled"
    """Has a schedule; the dispatcher publishes each occurrence shortly before it plays."""
    CANCELLED = "cancelled"
    """Cancelled (or replaced by an edited revision): nothing more is dispatched."""


# --- zones ---------------------------------------------------------------------------


class ZoneBase(SQLModel):
    id: str = Field(primary_key=True, max_length=63)
    """Slug used in `loa/v1/zones/{id}/cmd`."""
    name: str = Field(min_length=1, max_length=200)
    """Vietnamese display name, e.g. "Thôn Đông"."""
    kind: str = Field(max_length=16)
    """`commune` or `hamlet` (ZoneKind)."""
    parent_id: str | None = Field(default=None, foreign_key="zone.id", index=True, max_length=63)


class Zone(ZoneBase, table=True):
    pass


class ZonePublic(ZoneBase):
    pass


# --- nodes ---------------------------------------------------------------------------


class NodeBase(SQLModel):
    id: str = Field(primary_key=True, max_length=63)
    """Slug; also the node's broker username and its topic level."""
    name: str = Field(min_length=1, max_length=200)
    zone_id: str = Field(foreign_key="zone.id", index=True, max_length=63)
    """The node's own (innermost) zone, normally a hamlet."""


class Node(NodeBase, table=True):
    mqtt_password_hash: str = Field(max_length=255)
    """Mosquitto password-file hash; the plaintext is shown once by `create_node` and never stored."""
    online: bool = False
    last_seen: datetime | None = _utc_field(default=None)
    """When the controller last heard the node itself (state online or telemetry)."""
    last_state_at: datetime | None = _utc_field(default=None)
    """Time of the last accepted state message, to drop stale retained ones."""
    agent_version: str | None = Field(default=None, max_length=64)
    last_telemetry: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class NodePublic(NodeBase):
    online: bool
    last_seen: datetime | None
    agent_version: str | None
    telemetry: dict[str, Any] | None


# --- announcements -------------------------------------------------------------------

MAX_VOICE_ID_CHARS = 64
MAX_FALLBACK_REASON_CHARS = 500

HARD_MAX_TEXT_CHARS = 100_000
"""Upper bound checked while parsing; the configured `max_text_chars` is checked after."""

Slug = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Targets(BaseModel):
    """Who hears an announcement. Zones expand to every node in their subtree."""

    model_config = ConfigDict(extra="forbid")

    zones: list[Slug] = Field(default_factory=list, max_length=2000)
    """Zone ids (commune or hamlet)."""
    nodes: list[Slug] = Field(default_factory=list, max_length=5000)
    """Node ids, for nodes targeted one by one."""
    all: bool = False
    """Every node of the system."""


class SpeechBase(SQLModel):
    """What to say and how: the fields shared by creating and previewing an announcement."""

    text: str = Field(max_length=HARD_MAX_TEXT_CHARS)
    """What to say, in Vietnamese; numbers, dates and abbreviations are read out by the audio pipeline."""
    voice: str | None = Field(default=None, min_length=1, max_length=MAX_VOICE_ID_CHARS)
    """One of `GET /api/v1/voices` (the active engine's voices); default its first voice.
    Checked against the running engine, not a fixed list, so Piper and cloud voices work."""
    rate: int = Field(default=150, ge=80, le=300)
    """Speaking rate in words per minute."""
    chime: bool = False
    """Play the attention chime before the speech."""

    @field_validator("text")
    @classmethod
    def _clean_text(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("text is empty")
        for ch in value:
            category = unicodedata.category(ch)
            if category == "Cs":
                raise ValueError("text contains an unpaired surrogate (invalid Unicode)")
            if category == "Cc" and ch not in "\n\r\t":
                raise ValueError(f"text contains the control character U+{ord(ch):04X}")
        return value


class AnnouncementBase(SpeechBase):
    priority: Priority = Priority.NORMAL


class AnnouncementCreate(AnnouncementBase):
    """Body of `POST /api/v1/announcements`; timing is "play now" (staged by the play lead)."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    targets: Targets
    expires_in_s: int | None = Field(default=None, ge=10, le=86400)
    """Seconds until the commands expire; default `LOA_DEFAULT_TTL_S`. Play-now only: each
    scheduled occurrence expires `LOA_OCCURRENCE_TTL_S` after its play time."""
    schedule: Rule | None = None
    """When to play (docs/schedules.md); absent = play now."""


class AnnouncementEdit(BaseModel):
    """Body of `PATCH /api/v1/announcements/{id}`: the fields to change; the rest is kept."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, max_length=HARD_MAX_TEXT_CHARS)
    voice: str | None = Field(default=None, min_length=1, max_length=MAX_VOICE_ID_CHARS)
    rate: int | None = Field(default=None, ge=80, le=300)
    chime: bool | None = None
    priority: Priority | None = None
    targets: Targets | None = None
    schedule: Rule | None = None


class AnnouncementPreview(SpeechBase):
    """Body of `POST /api/v1/announcements/preview`: the create form, sent as it is.

    `targets`, `priority` and `expires_in_s` are accepted and ignored, so the web form
    can send one body to both endpoints; anything else unknown is refused.
    """

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    targets: Any = None
    priority: Any = None
    expires_in_s: Any = None
    schedule: Any = None


class DeliveryPublic(SQLModel):
    model_config = ConfigDict(from_attributes=True)

    node_id: str
    state: str
    updated_at: datetime
    detail: str | None
    occurrence: str | None = None
    """Occurrence key of a scheduled play (docs/schedules.md §3); null for play-now."""
    play_at: datetime | None = None


class AudioPublic(BaseModel):
    url: str
    sha256: str
    duration_ms: int
    size: int


class AnnouncementPublic(BaseModel):
    """An announcement as the API shows it."""

    id: int
    text: str
    voice: str
    rate: int
    priority: str
    chime: bool
    targets: dict[str, Any]
    status: str
    created_at: datetime
    play_at: datetime
    expires_at: datetime
    audio: AudioPublic
    fallback_reason: str | None = None
    """Set when the chosen engine failed and espeak-ng read the text instead: why."""
    summary: dict[str, int]
    """Number of deliveries in each state."""
    deliveries: list[DeliveryPublic] | None = None
    """Per-node states; left out of list responses (a province-wide announcement has thousands)."""
    schedule: dict[str, Any] | None = None
    """The schedule rule as stored (normalised); null for play-now."""
    revision_of: int | None = None
    """The announcement this one replaced by an edit (PATCH)."""
    warnings: list[str] | None = None
    """Only in the answer to a create or edit: overlapping plays on shared zones."""


class PreviewPublic(BaseModel):
    """Answer of the preview: what will be said and where to listen to it. Nothing is stored
    but the audio file (content-addressed, so creating the same announcement reuses it)."""

    spoken_text: str
    """The text after the lexicon and the normaliser, as the engine reads it."""
    voice: str
    audio: AudioPublic
    fallback_reason: str | None = None


class VoicePublic(BaseModel):
    """One voice of the running engine(s), for the web form's voice picker."""

    id: str
    label: str
    region: str
    """`north`, `central` or `south`: picks the normaliser's reading rules."""
    engine: str
    """The engine that speaks it, e.g. `espeak-ng`, `piper`, `fpt-ai`."""


class Announcement(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    text: str
    voice: str = Field(max_length=64)
    rate: int
    priority: str = Field(max_length=16)
    chime: bool = False
    targets: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    """The request's targets as given: {"zones": [...], "nodes": [...], "all": bool}."""
    status: str = Field(default=AnnouncementStatus.PENDING, max_length=16)
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


class DispatchedOccurrence(SQLModel, table=True):
    """Marks one occurrence of a scheduled announcement as published.

    Inserted in the same transaction as its deliveries; the unique key is what makes
    dispatch exactly-once across ticks, restarts and several controllers.
    """

    __tablename__ = "dispatched_occurrence"
    __table_args__ = (UniqueConstraint("announcement_id", "occurrence_key", name="uq_dispatched_occurrence"),)

    id: int | None = Field(default=None, primary_key=True)
    announcement_id: int = Field(foreign_key="announcement.id", index=True, ondelete="CASCADE")
    occurrence_key: str = Field(max_length=100)
    play_at: datetime = _utc_field(index=True)
    expires_at: datetime = _utc_field()
    dispatched_at: datetime = _utc_field()
    detail: str | None = Field(default=None, max_length=500)
    """Why nothing was published (e.g. the targets hold no nodes any more)."""


# --- relays (tiếp sóng) -----------------------------------------------------------------


class RelayStatus(StrEnum):
    SCHEDULED = "scheduled"
    """Stored; the dispatcher publishes it `stage_ahead_s` before start_at."""
    SENT = "sent"
    """Relay commands handed to MQTT."""
    FAILED = "failed"
    """Publishing raised, or the targets held no nodes; see `detail`."""
    CANCELLED = "cancelled"


class RelayTargets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zones: list[Slug] = Field(min_length=1, max_length=2000)
    """Zone ids (commune or hamlet); the relay plays on every node below them."""


class RelayCreate(BaseModel):
    """Body of `POST /api/v1/relays`."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2048)
    """http:// or https:// stream URL (an Icecast mount of VOV or the provincial station)."""
    targets: RelayTargets
    start_at: datetime
    """With a UTC offset, e.g. `2025-07-02T06:00:00+07:00`."""
    end_at: datetime
    priority: Priority = Priority.NORMAL
    """`normal` or `priority`."""
    title: str | None = Field(default=None, max_length=200)
    """Shown in the programme, e.g. "Tiếp sóng VOV1 - Thời sự"."""


class Relay(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2048)
    title: str | None = Field(default=None, max_length=200)
    targets: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    start_at: datetime = _utc_field(index=True)
    end_at: datetime = _utc_field()
    priority: str = Field(default=Priority.NORMAL, max_length=16)
    status: str = Field(default=RelayStatus.SCHEDULED, max_length=16, index=True)
    created_at: datetime = _utc_field()
    dispatched_at: datetime | None = _utc_field(default=None)
    cancelled_at: datetime | None = _utc_field(default=None)
    detail: str | None = Field(default=None, max_length=500)
    command_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class RelayDelivery(SQLModel, table=True):
    """One relay on one node (its state as the node reports it), like `Delivery` for plays."""

    __tablename__ = "relay_delivery"
    __table_args__ = (UniqueConstraint("relay_id", "node_id", name="uq_relay_delivery_relay_node"),)

    id: int | None = Field(default=None, primary_key=True)
    relay_id: int = Field(foreign_key="relay.id", index=True, ondelete="CASCADE")
    node_id: str = Field(foreign_key="node.id", index=True, max_length=63, ondelete="CASCADE")
    command_id: str = Field(index=True, max_length=64)
    state: str = Field(default=DeliveryState.PENDING, max_length=16)
    updated_at: datetime = _utc_field()
    detail: str | None = Field(default=None, max_length=500)


class RelayDeliveryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    node_id: str
    state: str
    updated_at: datetime
    detail: str | None


class RelayPublic(BaseModel):
    id: int
    relay_id: str
    """The id nodes see (`relay:{id}`); `cancel` with `occurrences=[relay_id]` withdraws it."""
    url: str
    title: str | None
    targets: dict[str, Any]
    start_at: datetime
    end_at: datetime
    priority: str
    status: str
    created_at: datetime
    dispatched_at: datetime | None
    cancelled_at: datetime | None
    detail: str | None
    summary: dict[str, int]
    deliveries: list[RelayDeliveryPublic] | None = None


class Lease(SQLModel, table=True):
    """A named, expiring lock in the database (see controller/lease.py)."""

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=64)
    expires_at: datetime = _utc_field()


class NodeEventRecord(SQLModel, table=True):
    """Raw log of every accepted node event, for troubleshooting and playback reports."""

    __tablename__ = "node_event"

    id: int | None = Field(default=None, primary_key=True)
    node_id: str = Field(index=True, max_length=63)
    cmd: str = Field(max_length=64)
    announcement_id: int | None = Field(default=None, index=True)
    event: str = Field(max_length=16)
    at: datetime = _utc_field()
    """When the node says it happened (its own clock)."""
    received_at: datetime = _utc_field()
    detail: str | None = Field(default=None, max_length=500)


__all__ = [
    "HARD_MAX_TEXT_CHARS",
    "STATE_RANK",
    "TERMINAL_STATES",
    "MAX_FALLBACK_REASON_CHARS",
    "MAX_VOICE_ID_CHARS",
    "PreviewPublic",
    "SpeechBase",
    "Targets",
    "VoicePublic",
    "Announcement",
    "AnnouncementBase",
    "AnnouncementCreate",
    "AnnouncementPreview",
    "AnnouncementPublic",
    "AnnouncementStatus",
    "AudioPublic",
    "AnnouncementEdit",
    "Delivery",
    "DeliveryPublic",
    "DispatchedOccurrence",
    "Lease",
    "DeliveryState",
    "Relay",
    "RelayCreate",
    "RelayDelivery",
    "RelayDeliveryPublic",
    "RelayPublic",
    "RelayStatus",
    "RelayTargets",
    "Node",
    "NodeBase",
    "NodeEventRecord",
    "NodePublic",
    "UtcDateTime",
    "Zone",
    "ZoneBase",
    "ZoneKind",
    "ZonePublic",
]
