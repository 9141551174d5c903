"""Database tables and their API shapes, one family per entity (`XBase/XPublic/X`).

Split by family: `nodes` (zones, nodes, node events), `announcements` (announcements,
deliveries, their states), `shapes` (announcement API request/response shapes),
`programme` (dispatched occurrences, leases), `relays`, and `columns` (the UTC column
type). Every name is re-exported here, so `from controller.models import X` keeps
working, and importing this package registers every table on `SQLModel.metadata`.

Ids of zones and nodes are the same slugs that appear in MQTT topics, so a node's
broker account, its topics and its row are all named alike and the topic layer can
never be smuggled a wildcard. Timestamps are stored as UTC and always come back
timezone-aware (SQLite forgets offsets; `UtcDateTime` puts UTC back).
"""

from __future__ import annotations

from controller.models.announcements import (
    MAX_REVIEW_COMMENT_CHARS,
    STATE_RANK,
    TERMINAL_STATES,
    Announcement,
    AnnouncementSource,
    AnnouncementStatus,
    Delivery,
    DeliveryState,
)
from controller.models.alerts import Alert, AlertKind, AlertPublic
from controller.models.audit import AuditEntry
from controller.models.columns import UtcDateTime
from controller.models.columns import _utc_field as _utc_field  # noqa: F401  (re-exported for old imports)
from controller.models.nodes import Node, NodeBase, NodeEventRecord, NodePublic, Zone, ZoneBase, ZoneKind, ZonePublic
from controller.models.programme import DispatchedOccurrence, Lease
from controller.models.relays import (
    Relay,
    RelayCreate,
    RelayDelivery,
    RelayDeliveryPublic,
    RelayPublic,
    RelayStatus,
    RelayTargets,
)
from controller.models.shapes import (
    HARD_MAX_TEXT_CHARS,
    MAX_FALLBACK_REASON_CHARS,
    MAX_VOICE_ID_CHARS,
    AnnouncementBase,
    AnnouncementCreate,
    AnnouncementEdit,
    AnnouncementPreview,
    AnnouncementPublic,
    AudioPublic,
    DeliveryPublic,
    PreviewPublic,
    RecordingPublic,
    RecordingRef,
    ReviewBody,
    Slug as Slug,  # noqa: F401  (used by controller.api.zones; not in __all__, as before)
    SpeechBase,
    Targets,
    VoicePublic,
)
from controller.models.telemetry import TelemetrySample

__all__ = [
    "Alert",
    "AlertKind",
    "AlertPublic",
    "AuditEntry",
    "HARD_MAX_TEXT_CHARS",
    "STATE_RANK",
    "TERMINAL_STATES",
    "MAX_FALLBACK_REASON_CHARS",
    "MAX_VOICE_ID_CHARS",
    "PreviewPublic",
    "SpeechBase",
    "Targets",
    "TelemetrySample",
    "VoicePublic",
    "Announcement",
    "AnnouncementBase",
    "AnnouncementCreate",
    "AnnouncementPreview",
    "AnnouncementPublic",
    "AnnouncementSource",
    "AnnouncementStatus",
    "AudioPublic",
    "MAX_REVIEW_COMMENT_CHARS",
    "RecordingPublic",
    "RecordingRef",
    "ReviewBody",
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

# The web accounts' tables (users, sessions, failed logins), registered with the rest. Imported
# last and as a module: controller.accounts.models itself imports controller.models.columns.
from controller.accounts import models as _accounts_models  # noqa: E402,F401
