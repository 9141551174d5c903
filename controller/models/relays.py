"""Relays (tiếp sóng): the table, its per-node deliveries and their API shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlmodel import JSON, Column, Field, SQLModel, UniqueConstraint

from controller.models.announcements import DeliveryState
from controller.models.columns import _utc_field
from controller.models.shapes import Slug
from protocol.commands import Priority


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


__all__ = ["Relay", "RelayCreate", "RelayDelivery", "RelayDeliveryPublic", "RelayPublic", "RelayStatus", "RelayTargets"]
