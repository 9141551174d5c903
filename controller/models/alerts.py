"""Alerts a technician must see: for now, a node that has been offline too long."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from controller.models.columns import _utc_field


class AlertKind(StrEnum):
    OFFLINE = "offline"


class AlertBase(SQLModel):
    node_id: str = Field(index=True, max_length=63)
    """No foreign key: the history of a node stays readable after the node is removed."""
    kind: str = Field(default=AlertKind.OFFLINE.value, max_length=16)
    offline_since: datetime = _utc_field()
    """When the controller last heard the node before it went silent."""
    opened_at: datetime = _utc_field(index=True)
    closed_at: datetime | None = _utc_field(default=None, index=True)
    """When the node was seen back; None while the alert is open."""
    notify_opened: str | None = Field(default=None, max_length=300)
    """Webhook outcome of the `opened` notice: `pending`, `sent`, `failed: …`; None without a webhook."""
    notify_closed: str | None = Field(default=None, max_length=300)
    """Webhook outcome of the `closed` notice, likewise."""


class Alert(AlertBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class AlertPublic(AlertBase):
    id: int
    node_name: str | None = None
    zone_id: str | None = None


__all__ = ["Alert", "AlertBase", "AlertKind", "AlertPublic"]
