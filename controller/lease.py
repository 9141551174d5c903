"""A named lease in the database, so that exactly one controller runs the dispatcher.

Why a database lease and not a file lock or the broker: the database is the one thing
every controller of a deployment already shares, on SQLite and PostgreSQL alike.

Design: one `lease` row per name (`holder`, `expires_at`). A process acquires or renews
it with a single conditional UPDATE:

    UPDATE lease SET holder = :me, expires_at = :now + ttl
     WHERE name = :name AND (expires_at < :now OR holder = :me)

One statement is atomic on both engines (SQLite serialises writers; PostgreSQL locks
the row and re-checks the WHERE clause after a concurrent update), so of two
processes racing for an expired lease exactly one sees `rowcount == 1`. The row is
created on first use (a racing second INSERT fails on the primary key and is ignored).
The holder renews it on every tick; if it dies, another process takes over once
`expires_at` has passed. The lease only keeps the work in one place: exactly-once
dispatch does not rely on it (the unique `dispatched_occurrence` row does), so a
paused holder whose lease was taken over cannot publish an occurrence twice.
Clocks: `now` comes from each controller's injected clock, so controllers sharing a
database must keep their clocks NTP-disciplined (a skew shorter than the TTL is harmless).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from controller.models import Lease

DISPATCHER_LEASE = "dispatcher"
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def new_holder_id() -> str:
    """A random id per process: a restarted controller is a new holder and waits like any other."""
    return secrets.token_hex(8)


def acquire(engine: Engine, name: str, holder: str, now: datetime, ttl_s: float) -> bool:
    """Take or renew lease `name` for `holder` until now + ttl; True when `holder` holds it."""
    _ensure_row(engine, name)
    with Session(engine) as session:
        result = session.exec(  # type: ignore[call-overload]
            update(Lease)
            .where(col(Lease.name) == name, (col(Lease.expires_at) < now) | (col(Lease.holder) == holder))
            .values(holder=holder, expires_at=now + timedelta(seconds=ttl_s))
        )
        session.commit()
        return int(result.rowcount or 0) == 1


def release(engine: Engine, name: str, holder: str) -> None:
    """Give the lease up at shutdown so another controller need not wait for the TTL."""
    with Session(engine) as session:
        session.exec(  # type: ignore[call-overload]
            update(Lease).where(col(Lease.name) == name, col(Lease.holder) == holder).values(expires_at=_NEVER)
        )
        session.commit()


def _ensure_row(engine: Engine, name: str) -> None:
    with Session(engine) as session:
        if session.get(Lease, name) is not None:
            return
        session.add(Lease(name=name, holder="", expires_at=_NEVER))
        try:
            session.commit()
        except IntegrityError:  # another process created it first
            session.rollback()


__all__ = ["DISPATCHER_LEASE", "acquire", "new_holder_id", "release"]
