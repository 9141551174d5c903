"""Zones and nodes, and the raw log of node events.

Ids of zones and nodes are the same slugs that appear in MQTT topics, so a node's
broker account, its topics and its row are all named alike and the topic layer can
never be smuggled a wildcard.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import JSON, Column, Field, SQLModel

from controller.models.columns import _utc_field


class ZoneKind(StrEnum):
    COMMUNE = "commune"
    HAMLET = "hamlet"


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
    address: str | None = Field(default=None, max_length=300)
    """Where the cluster is mounted, in words ("cột điện đầu ngõ 5"), for the technician on the road."""
    latitude: float | None = None
    """GPS latitude in degrees (WGS 84); set together with `longitude` or not at all."""
    longitude: float | None = None


class NodePublic(NodeBase):
    online: bool
    last_seen: datetime | None
    agent_version: str | None
    telemetry: dict[str, Any] | None


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


__all__ = ["Node", "NodeBase", "NodeEventRecord", "NodePublic", "Zone", "ZoneBase", "ZoneKind", "ZonePublic"]
