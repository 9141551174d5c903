"""`loa demo` makes one web login per role with a random password, in development mode only."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session

from controller.accounts import passwords, users
from controller.db import engine_for_url
from loa.stack import DEMO_WEB_USERS, Stack, StackOptions


def _users(state: Path) -> dict[str, tuple[str, str]]:
    engine = engine_for_url(f"sqlite:///{state / 'controller' / 'loa.db'}")
    try:
        with Session(engine) as session:
            return {u.username: (u.role, u.password_hash) for u in users.list_users(session)}
    finally:
        engine.dispose()


def test_demo_has_one_login_per_role_with_random_passwords(tmp_path: Path) -> None:
    stack = Stack(StackOptions(state_dir=tmp_path))
    stack.prepare()
    logins = stack.web_users
    assert set(logins) == {name for name, _, _ in DEMO_WEB_USERS}
    assert len(set(logins.values())) == len(logins)  # all different
    assert {role for _, role, _ in DEMO_WEB_USERS} == {"admin", "leader", "editor", "technician", "viewer"}
    stored = _users(tmp_path)
    for name, password in logins.items():
        assert passwords.weak_password_reason(password, name) is None
        assert passwords.verify_password(stored[name][1], password)
    assert json.loads((tmp_path / "secrets.json").read_text())["web_users"] == logins

    again = Stack(StackOptions(state_dir=tmp_path))
    again.prepare()
    assert again.web_users == logins  # a second run reuses them

    other = Stack(StackOptions(state_dir=tmp_path / "other"))
    other.prepare()
    assert other.web_users != logins  # random per installation, never built in


def test_production_stack_has_no_built_in_logins(tmp_path: Path) -> None:
    stack = Stack(StackOptions(state_dir=tmp_path, controller_env={"LOA_MODE": "production"}))
    stack.prepare()
    assert stack.web_users == {} and _users(tmp_path) == {}
