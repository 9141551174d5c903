"""Accounts below the web pages: password policy, throttle windows, session lifetimes, user rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlmodel import Session, select

from controller.accounts import passwords, sessions, throttle, users
from controller.accounts.models import LoginFailure, WebSession
from controller.db import engine_for_url, init_db
from controller.models import AuditEntry

T0 = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)
LIMITS = throttle.Limits(window=timedelta(minutes=15), lockout=timedelta(minutes=15), per_user=5, per_ip=20)
TIMEOUTS = sessions.Timeouts(idle=timedelta(hours=2), absolute=timedelta(hours=12))
GOOD = "một câu mật khẩu dài"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: fast)
    passwords.dummy_hash.cache_clear()


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    engine = engine_for_url(f"sqlite:///{tmp_path / 'loa.db'}")
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as s:
        yield s


def _add(session: Session, name: str, role: str = "editor") -> None:
    users.add_user(session, username=name, display_name=name, role=role, password=GOOD, now=T0, actor="test")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "accounts.err.password_short"),
        ("x" * 257, "accounts.err.password_long"),
        ("MatKhau123", "accounts.err.password_common"),
        ("aaaaaaaaaaaa", "accounts.err.password_common"),
        ("ababababababab", "accounts.err.password_common"),
        ("hoa.tran-2025-xyz", "accounts.err.password_username"),
        ("một câu mật khẩu dài", None),
        ("correct horse battery", None),
    ],
)
def test_password_policy(password: str, reason: str | None) -> None:
    assert passwords.weak_password_reason(password, "hoa.tran") == reason


def test_hash_is_argon2id_and_bad_hashes_never_raise() -> None:
    digest = passwords.hash_password(GOOD)
    assert digest.startswith("$argon2id$") and passwords.verify_password(digest, GOOD)
    assert not passwords.verify_password(digest, GOOD + "!")
    assert not passwords.verify_password("not a hash", GOOD)
    assert passwords.needs_rehash("not a hash")


def _fail(session: Session, at: datetime, username: str = "lan", ip: str = "10.0.0.1") -> None:
    throttle.record_failure(session, username=username, ip=ip, now=at, limits=LIMITS)
    session.commit()


def test_lock_after_n_failures_within_the_window_and_release_after_lockout(session: Session) -> None:
    for i in range(4):
        _fail(session, T0 + timedelta(minutes=i))
    assert throttle.locked_until(session, username="lan", ip="10.0.0.9", now=T0 + timedelta(minutes=4), limits=LIMITS) is None
    _fail(session, T0 + timedelta(minutes=4))
    until = throttle.locked_until(session, username="LAN ", ip="10.0.0.9", now=T0 + timedelta(minutes=5), limits=LIMITS)
    assert until == T0 + timedelta(minutes=19)
    assert throttle.locked_until(session, username="lan", ip="10.0.0.9", now=T0 + timedelta(minutes=19), limits=LIMITS) is None
    # one more failure after the lock: the old ones are outside the window, no new lock
    _fail(session, T0 + timedelta(minutes=20))
    assert throttle.locked_until(session, username="lan", ip="10.0.0.9", now=T0 + timedelta(minutes=21), limits=LIMITS) is None


def test_failures_spread_wider_than_the_window_do_not_lock(session: Session) -> None:
    for i in range(10):
        _fail(session, T0 + timedelta(minutes=4 * i))
    assert throttle.locked_until(session, username="lan", ip="x", now=T0 + timedelta(minutes=37), limits=LIMITS) is None


def test_address_limit_spans_usernames(session: Session) -> None:
    for i in range(20):
        _fail(session, T0 + timedelta(seconds=i), username=f"name-{i}", ip="10.0.0.7")
    assert throttle.locked_until(session, username="someone-else", ip="10.0.0.7", now=T0 + timedelta(minutes=1), limits=LIMITS)
    assert throttle.locked_until(session, username="someone-else", ip="10.0.0.8", now=T0 + timedelta(minutes=1), limits=LIMITS) is None


def test_old_failures_are_pruned(session: Session) -> None:
    _fail(session, T0)
    _fail(session, T0 + timedelta(hours=2), username="other")
    assert [f.username for f in session.exec(select(LoginFailure))] == ["other"]


def test_authenticate_outcomes_and_audit(session: Session) -> None:
    _add(session, "lan")
    ok = users.authenticate(session, " Lan ", GOOD, ip="1.2.3.4", now=T0, limits=LIMITS)
    assert ok.outcome == "ok" and ok.actor is not None and ok.actor.username == "lan"
    assert ok.user is not None and ok.user.last_login_at == T0
    assert users.authenticate(session, "lan", "wrong password", ip="1.2.3.4", now=T0, limits=LIMITS).outcome == "bad"
    assert users.authenticate(session, "ghost", GOOD, ip="1.2.3.4", now=T0, limits=LIMITS).outcome == "bad"
    actions = [e.action for e in session.exec(select(AuditEntry))]
    assert actions == ["user.added", "login.ok", "login.failed", "login.failed"]


def test_successful_login_clears_the_username_count(session: Session) -> None:
    _add(session, "lan")
    for i in range(4):
        users.authenticate(session, "lan", "wrong password", ip="1.2.3.4", now=T0 + timedelta(seconds=i), limits=LIMITS)
    assert users.authenticate(session, "lan", GOOD, ip="1.2.3.4", now=T0 + timedelta(seconds=5), limits=LIMITS).outcome == "ok"
    result = users.authenticate(session, "lan", "wrong password", ip="1.2.3.4", now=T0 + timedelta(seconds=6), limits=LIMITS)
    assert result.outcome == "bad"  # not locked: the count started again


def test_session_idle_and_absolute_expiry(session: Session) -> None:
    _add(session, "lan")
    user = users.get_user(session, "lan")
    assert user is not None
    token, row = sessions.create(session, user, now=T0, timeouts=TIMEOUTS, lang="vi")
    session.commit()
    assert row.id == sessions.token_hash(token) and token not in row.id and len(token) >= 43
    assert sessions.load(session, token, now=T0 + timedelta(hours=1), timeouts=TIMEOUTS) is not None
    assert sessions.load(session, token, now=T0 + timedelta(hours=2, minutes=59), timeouts=TIMEOUTS) is not None
    assert sessions.load(session, token, now=T0 + timedelta(hours=5), timeouts=TIMEOUTS) is None  # idle > 2 h
    assert session.get(WebSession, sessions.token_hash(token)) is None  # and deleted
    token, _ = sessions.create(session, user, now=T0, timeouts=TIMEOUTS, lang="vi")
    session.commit()
    for hour in range(1, 12):
        assert sessions.load(session, token, now=T0 + timedelta(hours=hour), timeouts=TIMEOUTS) is not None
    assert sessions.load(session, token, now=T0 + timedelta(hours=12), timeouts=TIMEOUTS) is None
    assert sessions.load(session, None, now=T0, timeouts=TIMEOUTS) is None
    assert sessions.load(session, "x" * 500, now=T0, timeouts=TIMEOUTS) is None


def test_create_replaces_the_presented_session(session: Session) -> None:
    _add(session, "lan")
    user = users.get_user(session, "lan")
    assert user is not None
    first, _ = sessions.create(session, user, now=T0, timeouts=TIMEOUTS, lang="vi")
    session.commit()
    second, _ = sessions.create(session, user, now=T0, timeouts=TIMEOUTS, lang="vi", replaces=first)
    session.commit()
    assert first != second
    assert sessions.load(session, first, now=T0, timeouts=TIMEOUTS) is None
    assert sessions.load(session, second, now=T0, timeouts=TIMEOUTS) is not None


def test_flash_messages_are_shown_once(session: Session) -> None:
    _add(session, "lan")
    user = users.get_user(session, "lan")
    assert user is not None
    _, row = sessions.create(session, user, now=T0, timeouts=TIMEOUTS, lang="vi")
    sessions.push_flash(row, "success", "Đã lưu.")
    session.commit()
    assert sessions.pop_flashes(session, row) == [("success", "Đã lưu.")]
    assert sessions.pop_flashes(session, row) == []


def test_user_rules(session: Session) -> None:
    _add(session, "boss", "admin")
    _add(session, "lan")
    with pytest.raises(users.AccountError) as taken:
        _add(session, "LAN")
    assert taken.value.field == "username" and taken.value.key == "accounts.err.username_taken"
    with pytest.raises(users.AccountError, match="username_format"):
        _add(session, "Trần Lan")
    with pytest.raises(users.AccountError, match="accounts.err.role"):
        _add(session, "minh", "emperor")
    with pytest.raises(users.AccountError, match="last_admin"):
        users.set_role(session, "boss", "viewer", now=T0, actor="t")
    with pytest.raises(users.AccountError, match="last_admin"):
        users.set_active(session, "boss", False, now=T0, actor="t")
    users.set_role(session, "lan", "admin", now=T0, actor="t")
    users.set_active(session, "boss", False, now=T0, actor="t")  # another admin remains
    assert users.active_admin_count(session) == 1


def test_no_admin_is_warned(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    assert users.warn_if_no_admin(engine) is False
    assert "loa user add --username admin --role admin" in caplog.text
