"""API request/response shapes of announcements, previews and voices (no tables here)."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator
from sqlmodel import Field, SQLModel

from protocol.commands import Priority
from schedules.rules import Rule

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


class RecordingRef(BaseModel):
    """An uploaded recording to play instead of synthesising `text` (`POST /api/v1/recordings`)."""

    model_config = ConfigDict(extra="forbid")

    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    """The `sha256` the upload answered with."""


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
    recording: RecordingRef | None = None
    """Play this uploaded recording instead of synthesising `text`; `text` is then its
    short title (kept for history), and `voice`/`rate` must be left out."""


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
    recording: RecordingRef | None = None


class ReviewBody(BaseModel):
    """Body of `POST /api/v1/announcements/{id}/approve` and `/reject`."""

    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=1000)
    """Optional for an approval; required for a rejection (the reason the author reads)."""


class RecordingPublic(BaseModel):
    """Answer of `POST /api/v1/recordings`: the mastered file, ready to announce by `sha256`."""

    sha256: str
    duration_ms: int
    size: int
    url: str
    chime: bool = False
    """Whether the attention chime was put in front when it was mastered."""


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
    source: str | None = None
    """`text` (synthesised) or `recording` (uploaded audio; `text` is its title)."""
    created_by: str | None = None
    """Who submitted it (`api` for a bearer-token client)."""
    approved_by: str | None = None
    """Who approved it or, when `rejected`, who rejected it."""
    approved_at: datetime | None = None
    review_comment: str | None = None
    skipped_approval: bool | None = None
    """True for an emergency sent without approval by someone allowed to."""


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


__all__ = [
    "HARD_MAX_TEXT_CHARS",
    "MAX_FALLBACK_REASON_CHARS",
    "MAX_VOICE_ID_CHARS",
    "AnnouncementBase",
    "AnnouncementCreate",
    "AnnouncementEdit",
    "AnnouncementPreview",
    "AnnouncementPublic",
    "AudioPublic",
    "DeliveryPublic",
    "PreviewPublic",
    "RecordingPublic",
    "RecordingRef",
    "ReviewBody",
    "Slug",
    "SpeechBase",
    "Targets",
    "VoicePublic",
]
