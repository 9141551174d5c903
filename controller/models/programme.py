"""Bookkeeping tables of the dispatcher: published occurrences and database leases."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel, UniqueConstraint

from controller.models.columns import _utc_field


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


class Lease(SQLModel, table=True):
    """A named, expiring lock in the database (see controller/lease.py)."""

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=64)
    expires_at: datetime = _utc_field()


__all__ = ["DispatchedOccurrence", "Lease"]
