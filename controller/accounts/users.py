"""Account operations shared by the web pages and `loa user`: add, change, disable, log in.

Every change writes an audit entry in the same transaction, so the log and the accounts
never disagree. Errors are `AccountError(field, key)`: `key` names a message in the web
catalogue (Vietnamese and English), so the form and the command line explain the same
problem in the user's language.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from controller import audit
from controller.accounts import passwords, sessions, throttle
from controller.accounts.actor import Actor
from controller.accounts.models import USERNAME_PATTERN, User
from controller.accounts.roles import Role

MAX_DISPLAY_NAME = 100

log = logging.getLogger(__name__)


class AccountError(ValueError):
    """A refused account change: which form field, and the catalogue key of the reason."""

    def __init__(self, field: str, key: str, **params: Any) -> None:
        super().__init__(key)
        self.field = field
        self.key = key
        self.params = params


def normalise_username(username: str) -> str:
    return username.strip().casefold()


def check_username(username: str) -> str:
    name = normalise_username(username)
    if not re.fullmatch(USERNAME_PATTERN, name):
        raise AccountError("username", "accounts.err.username_format")
    return name


def check_display_name(display_name: str) -> str:
    text = " ".join(display_name.split())
    if not text:
        raise AccountError("display_name", "accounts.err.display_name_empty")
    if len(text) > MAX_DISPLAY_NAME or not text.isprintable():
        raise AccountError("display_name", "accounts.err.display_name_long", max=MAX_DISPLAY_NAME)
    return text


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError("role", "accounts.err.role") from None


def check_password(password: str, username: str) -> None:
    reason = passwords.weak_password_reason(password, username)
    if reason is not None:
        raise AccountError("password", reason, min=passwords.MIN_CHARS, max=passwords.MAX_CHARS)


def add_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    now: datetime,
    actor: str,
) -> User:
    """Create an active user (and commit); AccountError names the field to fix."""
    name = check_username(username)
    shown = check_display_name(display_name or name)
    the_role = check_role(role)
    check_password(password, name)
    if session.exec(select(User).where(User.username == name)).first() is not None:
        raise AccountError("username", "accounts.err.username_taken", username=name)
    user = User(
        username=name,
        display_name=shown,
        role=the_role.value,
        password_hash=passwords.hash_password(password),
        created_at=now,
    )
    session.add(user)
    audit.record(session, at=now, actor=actor, action="user.added", target=f"user:{name}", detail={"role": the_role.value})
    try:
        session.commit()
    except IntegrityError:  # a concurrent add of the same name
        session.rollback()
        raise AccountError("username", "accounts.err.username_taken", username=name) from None
    session.refresh(user)
    return user


def get_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == normalise_username(username))).first()


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.active).desc(), col(User.username))))


def active_admin_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User).where(User.active, User.role == Role.ADMIN.value)).one()


def _require(session: Session, username: str) -> User:
    user = get_user(session, username)
    if user is None:
        raise AccountError("username", "accounts.err.no_such_user", username=username)
    return user


def set_password(session: Session, username: str, password: str, *, now: datetime, actor: str, keep_session: str | None = None) -> User:
    """New password (and commit); every other login of the user ends."""
    user = _require(session, username)
    check_password(password, user.username)
    user.password_hash = passwords.hash_password(password)
    session.add(user)
    sessions.delete_for_user(session, user.id or 0, keep=keep_session)
    audit.record(session, at=now, actor=actor, action="user.password_set", target=f"user:{user.username}")
    session.commit()
    return user


def _last_admin_guard(session: Session, user: User) -> None:
    """Refuse to demote or disable the last active admin: nobody could manage accounts then."""
    if user.active and user.role == Role.ADMIN.value and active_admin_count(session) <= 1:
        raise AccountError("role", "accounts.err.last_admin")


def set_role(session: Session, username: str, role: str, *, now: datetime, actor: str) -> User:
    user = _require(session, username)
    new = check_role(role)
    if new.value == user.role:
        return user
    if new is not Role.ADMIN:
        _last_admin_guard(session, user)
    old, user.role = user.role, new.value
    session.add(user)
    audit.record(session, at=now, actor=actor, action="user.role_set", target=f"user:{user.username}", detail={"from": old, "to": new.value})
    session.commit()
    return user


def set_active(session: Session, username: str, active: bool, *, now: datetime, actor: str) -> User:
    """Disable (every login ends at once) or re-enable a user; users are never deleted,
    so the audit log and `created_by` fields keep pointing at someone."""
    user = _require(session, username)
    if user.active == active:
        return user
    if not active:
        _last_admin_guard(session, user)
        sessions.delete_for_user(session, user.id or 0)
    user.active = active
    session.add(user)
    audit.record(session, at=now, actor=actor, action="user.enabled" if active else "user.disabled", target=f"user:{user.username}")
    session.commit()
    return user


@dataclass(frozen=True)
class LoginResult:
    outcome: Literal["ok", "bad", "locked", "disabled"]
    user: User | None = None
    retry_at: datetime | None = None
    """When `locked`: the earliest time to try again."""
    actor: Actor | None = field(default=None)


def authenticate(
    session: Session, username: str, password: str, *, ip: str, now: datetime, limits: throttle.Limits
) -> LoginResult:
    """Check a login attempt against the throttle and the stored hash; audits it and commits.

    Unknown names and wrong passwords are one outcome (`bad`) with the same cost (a dummy
    hash is verified), so neither the message nor the timing tells which names exist.
    A disabled account is only reported as such after the right password.
    """
    name = normalise_username(username)[:64]
    until = throttle.locked_until(session, username=name, ip=ip, now=now, limits=limits)
    if until is not None:  # not audited again: a locked-out flood must not fill the log
        return LoginResult("locked", retry_at=until)
    user = get_user(session, name) if name else None
    ok = passwords.verify_password(user.password_hash if user else passwords.dummy_hash(), password[: passwords.MAX_CHARS * 4])
    if user is None or not ok:
        throttle.record_failure(session, username=name, ip=ip, now=now, limits=limits)
        audit.record(session, at=now, actor=name or "?", action="login.failed", detail={"ip": ip})
        session.commit()
        until = throttle.locked_until(session, username=name, ip=ip, now=now, limits=limits)
        if until is None:
            return LoginResult("bad")
        audit.record(session, at=now, actor=name or "?", action="login.locked", detail={"ip": ip, "until": until.isoformat()})
        session.commit()
        return LoginResult("locked", retry_at=until)
    if not user.active:
        audit.record(session, at=now, actor=name, action="login.disabled", detail={"ip": ip})
        session.commit()
        return LoginResult("disabled")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = now
    session.add(user)
    throttle.clear_user(session, name)
    audit.record(session, at=now, actor=name, action="login.ok", detail={"ip": ip})
    session.commit()
    session.refresh(user)
    return LoginResult("ok", user=user, actor=Actor(user.username, Role(user.role)))




def warn_if_no_admin(engine: Engine) -> bool:
    """Log how to make the first admin when none is active; True when one exists.

    Why not refuse to start: the loudspeakers and the REST API must keep working while
    the web accounts are being set up; the login page shows the same hint.
    """
    with Session(engine) as session:
        if active_admin_count(session) > 0:
            return True
    log.warning("no active admin account: create one with `loa user add --username admin --role admin`")
    return False


__all__ = [
    "AccountError",
    "LoginResult",
    "active_admin_count",
    "add_user",
    "authenticate",
    "check_password",
    "check_username",
    "get_user",
    "list_users",
    "normalise_username",
    "set_active",
    "set_password",
    "set_role",
    "warn_if_no_admin",
]
