"""Telemetry history: every accepted telemetry message of a node, kept for a while.

Why keep it when `Node.last_telemetry` already holds the latest: a technician asks
"when did the disk fill up / since when has it been hot" — the node page draws the
recent history. Rows are small (a JSON document of a dozen numbers, about one a minute
per node) and the expiry sweep deletes those older than `LOA_TELEMETRY_RETENTION_DAYS`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from controller.models.columns import _utc_field


class TelemetrySample(SQLModel, table=True):
    """One telemetry message as the node sent it (validated), stamped when it arrived."""

    __tablename__ = "telemetry_sample"
    __table_args__ = (Index("ix_telemetry_sample_node_at", "node_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    node_id: str = Field(max_length=63)
    at: datetime = _utc_field(index=True)
    """When the controller received it (its clock: node clocks may be wrong)."""
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    """The message's fields as JSON (its own `at` is the node's clock)."""


__all__ = ["TelemetrySample"]
