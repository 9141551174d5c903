"""Web login sessions: a random token in a cookie, its sha256 in `web_session`.

Why these rules:
- a fresh token on every login (and the presented one deleted), so a session id planted
  in a browser before login (session fixation) never becomes a logged-in one;
- an idle timeout and an absolute lifetime, both checked on the server, so a phone left
  logged in at the commune office does not stay logged in for ever;
- logout, disabling a user and resetting a password delete rows: the login ends at once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col

from controller.accounts.models import User, WebSession
from controller.settings import ControllerSettings

TOUCH_EVERY = timedelta(seconds=15)
"""last_seen_at is written at most this often: an idle timeout needs minutes, not every request."""

MAX_FLASHES = 5


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def new_token() -> str:
    """256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: ControllerSettings) -> Timeouts:
        return cls(idle=timedelta(seconds=settings.session_idle_s), absolute=timedelta(seconds=settings.session_max_s))


def create(
    session: Session, user: User, *, now: datetime, timeouts: Timeouts, lang: str, replaces: str | None = None
) -> tuple[str, WebSession]:
    """A new session for `user`; returns (cookie token, row). `replaces` (a token the browser
    presented) is deleted first: the id always changes at login. The caller commits."""
    if replaces:
        delete_token(session, replaces)
    if user.id is None:
        raise ValueError("a session needs a stored user")
    token = new_token()
    row = WebSession(
        id=token_hash(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timeouts.absolute,
        csrf_token=secrets.token_urlsafe(32),
        lang=lang,
    )
    session.add(row)
    return token, row


def load(session: Session, token: str | None, *, now: datetime, timeouts: Timeouts) -> tuple[WebSession, User] | None:
    """The live session and its active user for a cookie token, or None.

    An expired session (idle or absolute) or one whose user was disabled is deleted here;
    a live one has its last_seen_at moved forward. Commits when it changed anything.
    """
    if not token or len(token) > 100:
        return None
    row = session.get(WebSession, token_hash(token))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or now >= row.expires_at or now - row.last_seen_at > timeouts.idle:
        session.delete(row)
        session.commit()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
        session.commit()
        session.refresh(row)
    return row, user


def delete_token(session: Session, token: str) -> None:
    """Forget the session behind `token`, if any (logout). The caller commits."""
    session.exec(delete(WebSession).where(col(WebSession.id) == token_hash(token)))  # type: ignore[call-overload]


def delete_for_user(session: Session, user_id: int, *, keep: str | None = None) -> None:
    """End every login of a user (disabled, password reset), except the session id `keep`."""
    stmt = delete(WebSession).where(col(WebSession.user_id) == user_id)
    if keep is not None:
        stmt = stmt.where(col(WebSession.id) != keep)
    session.exec(stmt)  # type: ignore[call-overload]


def purge_expired(session: Session, *, now: datetime, timeouts: Timeouts) -> None:
    """Drop sessions past either limit (called at login, so the table stays small)."""
    session.exec(  # type: ignore[call-overload]
        delete(WebSession).where(
            (col(WebSession.expires_at) <= now) | (col(WebSession.last_seen_at) < now - timeouts.idle)
        )
    )


def push_flash(row: WebSession, kind: str, text: str) -> None:
    """Queue a one-time message for the next page; the caller adds `row` and commits."""
    items = json.loads(row.flash) if row.flash else []
    items = (items + [[kind, text[:300]]])[-MAX_FLASHES:]
    row.flash = json.dumps(items, ensure_ascii=False)


def pop_flashes(session: Session, row: WebSession) -> list[tuple[str, str]]:
    """The queued messages, removed from the row (commits only when there were any)."""
    if not row.flash:
        return []
    try:
        items = [(str(k), str(t)) for k, t in json.loads(row.flash)]
    except (ValueError, TypeError):
        items = []
    row.flash = None
    session.add(row)
    session.commit()
    return items


__all__ = [
    "Timeouts",
    "create",
    "delete_for_user",
    "delete_token",
    "load",
    "new_token",
    "pop_flashes",
    "purge_expired",
    "push_flash",
    "token_hash",
]
