"""Writing the audit log inside the caller's transaction, so an action and its record land together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from controller.models.audit import AuditEntry


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry to `session`; the caller commits it with the action it describes."""
    entry = AuditEntry(at=at, actor=actor[:100], action=action, target=target, detail=detail)
    session.add(entry)
    return entry


__all__ = ["record"]
