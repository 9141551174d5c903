"""Login throttling: too many failed logins lock a username, or a client address, for a while.

Why both: a per-username limit stops guessing one official's password (from anywhere),
and a per-address limit stops one machine from trying a few passwords on every name.
Failures are rows in `login_failure` (not memory), so a restart does not reset the count
and the numbers hold with two controllers on one database. Unknown usernames count
exactly like real ones: the answer must not reveal which names exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from controller.accounts.models import LoginFailure
from controller.settings import ControllerSettings

MAX_KEY_CHARS = 64


@dataclass(frozen=True)
class Limits:
    window: timedelta
    lockout: timedelta
    per_user: int
    per_ip: int

    @classmethod
    def from_settings(cls, settings: ControllerSettings) -> Limits:
        return cls(
            window=timedelta(seconds=settings.login_window_s),
            lockout=timedelta(seconds=settings.login_lockout_s),
            per_user=settings.login_max_failures_user,
            per_ip=settings.login_max_failures_ip,
        )


def _key(username: str) -> str:
    return username.strip().casefold()[:MAX_KEY_CHARS]


def _locked_until(times: list[datetime], limit: int, limits: Limits) -> datetime | None:
    """The end of the latest lock: `limit` failures within one window lock until the last + lockout."""
    until: datetime | None = None
    for i in range(limit - 1, len(times)):
        if times[i] - times[i - limit + 1] <= limits.window:
            end = times[i] + limits.lockout
            until = end if until is None or end > until else until
    return until


def locked_until(session: Session, *, username: str, ip: str, now: datetime, limits: Limits) -> datetime | None:
    """When this username or address may try again, or None if it may try now."""
    since = now - limits.window - limits.lockout
    ends = []
    for column, value, limit in (
        (LoginFailure.username, _key(username), limits.per_user),
        (LoginFailure.ip, ip[:MAX_KEY_CHARS], limits.per_ip),
    ):
        times = list(
            session.exec(
                select(LoginFailure.at).where(column == value, LoginFailure.at > since).order_by(col(LoginFailure.at))
            )
        )
        end = _locked_until(times, limit, limits)
        if end is not None and end > now:
            ends.append(end)
    return max(ends) if ends else None


def record_failure(session: Session, *, username: str, ip: str, now: datetime, limits: Limits) -> None:
    """Count a failed login and forget failures too old to matter; the caller commits."""
    session.add(LoginFailure(at=now, username=_key(username), ip=ip[:MAX_KEY_CHARS]))
    session.exec(delete(LoginFailure).where(col(LoginFailure.at) < now - limits.window - limits.lockout))  # type: ignore[call-overload]


def clear_user(session: Session, username: str) -> None:
    """After a successful login the username's count starts again (the address keeps its count)."""
    session.exec(delete(LoginFailure).where(col(LoginFailure.username) == _key(username)))  # type: ignore[call-overload]


__all__ = ["Limits", "clear_user", "locked_until", "record_failure"]
