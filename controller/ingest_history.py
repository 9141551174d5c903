"""Telemetry history: what the node page draws, and how long it is kept.

The ingest batch (controller/ingest.py) stores every accepted telemetry message as a
`TelemetrySample`; the expiry sweep calls `prune_telemetry` so the table holds only
`LOA_TELEMETRY_RETENTION_DAYS` of history (at one sample a minute, 2,000 nodes make
about 2.9 million rows a day: retention is what keeps SQLite small).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from controller.models import TelemetrySample

log = logging.getLogger("controller.fleet")

MAX_HISTORY = 5000
"""Most samples one `telemetry_history` call returns, whatever the caller asks."""


def telemetry_history(session: Session, node_id: str, since: datetime | None = None,
                      limit: int = 500) -> list[TelemetrySample]:  # fmt: skip
    """A node's samples received at or after `since`, newest first, at most `limit` (≤ 5000)."""
    query = select(TelemetrySample).where(col(TelemetrySample.node_id) == node_id)
    if since is not None:
        query = query.where(col(TelemetrySample.at) >= since)
    limit = max(0, min(limit, MAX_HISTORY))
    rows = session.exec(query.order_by(col(TelemetrySample.at).desc(), col(TelemetrySample.id).desc()).limit(limit))
    return list(rows.all())


def prune_telemetry(session: Session, now: datetime, retention_days: float) -> int:
    """Delete samples older than `retention_days` (the caller commits); returns how many."""
    cutoff = now - timedelta(days=retention_days)
    result = session.exec(  # type: ignore[call-overload]
        delete(TelemetrySample).where(col(TelemetrySample.at) < cutoff).execution_options(synchronize_session=False)
    )
    count = int(result.rowcount or 0)
    if count:
        log.info("%d telemetry sample(s) older than %g day(s) deleted", count, retention_days)
    return count


__all__ = ["MAX_HISTORY", "prune_telemetry", "telemetry_history"]
