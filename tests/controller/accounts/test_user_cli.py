"""`loa user`: the real command in a child process, as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session

from controller.accounts import passwords, users
from controller.db import engine_for_url

ROOT = Path(__file__).resolve().parents[3]
GOOD = "một câu mật khẩu dài"


def loa_user(*args: str, stdin: str = "", state_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
    env["PYTHONPATH"] = str(ROOT)
    argv = [sys.executable, "-m", "loa.cli", "user", *args]
    if state_dir is not None:
        argv[5:5] = ["--state-dir", str(state_dir)]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def test_add_first_admin_then_list(tmp_path: Path) -> None:
    done = loa_user("add", "--username", "Lan", "--role", "admin", "--display-name", "Nguyễn Thị Lan",
                    "--password-stdin", stdin=GOOD + "\n", state_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "user lan added (admin)" in done.stdout
    engine = engine_for_url(f"sqlite:///{tmp_path / 'loa.db'}")
    try:
        with Session(engine) as session:
            user = users.get_user(session, "lan")
            assert user is not None and user.role == "admin" and user.display_name == "Nguyễn Thị Lan"
            assert user.password_hash.startswith("$argon2id$") and GOOD not in user.password_hash
            assert passwords.verify_password(user.password_hash, GOOD)
    finally:
        engine.dispose()
    listed = loa_user("list", state_dir=tmp_path)
    assert listed.returncode == 0 and "lan" in listed.stdout and "admin" in listed.stdout and "never" in listed.stdout


def test_weak_password_is_refused_with_a_reason(tmp_path: Path) -> None:
    short = loa_user("add", "--username", "lan", "--role", "admin", "--password-stdin", stdin="abc123\n", state_dir=tmp_path)
    assert short.returncode == 2
    assert "too short: at least 10 characters" in short.stderr
    common = loa_user("add", "--username", "lan", "--role", "admin", "--password-stdin", stdin="matkhau123\n", state_dir=tmp_path)
    assert common.returncode == 2 and "too common" in common.stderr
    assert "lan" not in loa_user("list", state_dir=tmp_path).stdout


def test_duplicate_and_unknown_user(tmp_path: Path) -> None:
    assert loa_user("add", "--username", "lan", "--role", "editor", "--password-stdin", stdin=GOOD, state_dir=tmp_path).returncode == 0
    again = loa_user("add", "--username", "lan", "--role", "editor", "--password-stdin", stdin=GOOD, state_dir=tmp_path)
    assert again.returncode == 2 and "is taken" in again.stderr
    missing = loa_user("disable", "--username", "ghost", state_dir=tmp_path)
    assert missing.returncode == 2 and "There is no user" in missing.stderr


def test_passwd_role_disable_enable(tmp_path: Path) -> None:
    loa_user("add", "--username", "admin", "--role", "admin", "--password-stdin", stdin=GOOD, state_dir=tmp_path)
    loa_user("add", "--username", "binh", "--role", "viewer", "--password-stdin", stdin=GOOD, state_dir=tmp_path)
    assert loa_user("passwd", "--username", "binh", "--password-stdin", stdin="mật khẩu mới của bình", state_dir=tmp_path).returncode == 0
    assert "binh is now technician" in loa_user("role", "--username", "binh", "--role", "technician", state_dir=tmp_path).stdout
    assert "binh disabled" in loa_user("disable", "--username", "binh", state_dir=tmp_path).stdout
    assert "disabled" in loa_user("list", state_dir=tmp_path).stdout
    assert "binh enabled" in loa_user("enable", "--username", "binh", state_dir=tmp_path).stdout
    last = loa_user("disable", "--username", "admin", state_dir=tmp_path)
    assert last.returncode == 2 and "last administrator" in last.stderr


def test_without_a_database_location(tmp_path: Path) -> None:
    done = loa_user("list")
    assert done.returncode == 2 and "--state-dir" in done.stderr
