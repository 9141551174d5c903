"""Tables of the web accounts: users, their login sessions and recent failed logins.

Why sessions live in the database and not in a signed cookie: logout, disabling a user
and resetting a password must end a login at once, on every device, which a stateless
cookie cannot do. The cookie carries a random token; the table keeps only its sha256,
so a leaked database (or backup) does not hand out live logins.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from controller.models.columns import _utc_field

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,31}$"
"""2–32 characters: lowercase letters, digits, `.`, `_`, `-`; starts with a letter or digit.
Kept ASCII and case-folded so `Lan` and `lan` are one account and audit logs read plainly."""


class User(SQLModel, table=True):
    __tablename__ = "web_user"  # `user` is a reserved word in PostgreSQL

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=32, unique=True, index=True)
    display_name: str = Field(max_length=100)
    """Shown in the page header and next to what the user did; free text (escaped on output)."""
    role: str = Field(max_length=20)
    """A `Role` value; checked on every request, so a change takes effect at once."""
    password_hash: str = Field(max_length=200)
    """argon2id hash (argon2-cffi's encoded form, parameters included)."""
    active: bool = True
    """False once disabled: the user cannot log in and every session of theirs is gone."""
    created_at: datetime = _utc_field()
    last_login_at: datetime | None = _utc_field(default=None, nullable=True)


class WebSession(SQLModel, table=True):
    __tablename__ = "web_session"

    id: str = Field(primary_key=True, max_length=64)
    """sha256 (hex) of the cookie token; the token itself is never stored."""
    user_id: int = Field(foreign_key="web_user.id", index=True, ondelete="CASCADE")
    created_at: datetime = _utc_field()
    last_seen_at: datetime = _utc_field()
    """Moved forward by requests (at most every few seconds); idle timeout counts from here."""
    expires_at: datetime = _utc_field()
    """Absolute end: created_at + session_max_s, however active the user is."""
    csrf_token: str = Field(max_length=64)
    """Echoed by every form (`csrf_token` field) and JS request (`X-CSRF-Token` header)."""
    lang: str = Field(default="vi", max_length=5)
    flash: str | None = Field(default=None, max_length=2000)
    """JSON list of [kind, text] shown once on the next page (post/redirect/get)."""


class LoginFailure(SQLModel, table=True):
    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc_field(index=True)
    username: str = Field(max_length=64, index=True)
    """As typed (case-folded, truncated): unknown names count too, so probing names is throttled alike."""
    ip: str = Field(max_length=64, index=True)


__all__ = ["USERNAME_PATTERN", "LoginFailure", "User", "WebSession"]
