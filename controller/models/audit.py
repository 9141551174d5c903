"""The audit log: who did what, when — logins, approvals, emergencies, remote commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import JSON, Column, Field, SQLModel

from controller.models.columns import _utc_field


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc_field()
    actor: str = Field(max_length=100, index=True)
    """Username, or `api` for a bearer-token client, or `system`."""
    action: str = Field(max_length=64, index=True)
    """Dotted verb, e.g. `login.failed`, `announcement.approved`, `announcement.emergency`, `node.volume`."""
    target: str | None = Field(default=None, max_length=200)
    """What it acted on, e.g. `announcement:12`, `node:thon-dong-1`, `user:lan`."""
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


__all__ = ["AuditEntry"]
