"""`loa user add | list | passwd | role | disable | enable`: web accounts from the server's shell.

This is how the first admin is made (there is no default password anywhere), and how an
admin who forgot their password gets back in. It works on the database directly, found
like the controller finds it: `--state-dir` or `LOA_STATE_DIR` (SQLite `loa.db` there),
or `LOA_DATABASE_URL`. The controller need not run, and need not be fully configured.
Passwords are typed twice without echo, or read from stdin for scripts.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loa user", description="Manage the web app's accounts.")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--state-dir", type=Path, help="the controller's state directory (default: LOA_STATE_DIR)")
    where.add_argument("--database-url", help="SQLAlchemy URL instead of the state directory (default: LOA_DATABASE_URL)")
    who = argparse.ArgumentParser(add_help=False)
    who.add_argument("--username", required=True, help="login name, e.g. lan.nguyen")
    secret = argparse.ArgumentParser(add_help=False)
    secret.add_argument("--password-stdin", action="store_true", help="read the password from stdin (one line) instead of asking")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", parents=[where, who, secret], help="create an account (the first one: --role admin)")
    add.add_argument("--role", required=True, choices=_roles(), help="what the account may do")
    add.add_argument("--display-name", default="", help="full name shown in the app (default: the username)")
    sub.add_parser("list", parents=[where], help="list the accounts")
    sub.add_parser("passwd", parents=[where, who, secret], help="set a new password (ends the user's sessions)")
    role = sub.add_parser("role", parents=[where, who], help="change an account's role")
    role.add_argument("--role", required=True, choices=_roles())
    sub.add_parser("disable", parents=[where, who], help="disable an account (ends its sessions)")
    sub.add_parser("enable", parents=[where, who], help="enable a disabled account")
    return parser


def _roles() -> list[str]:
    from controller.accounts.roles import Role

    return [r.value for r in Role]


def _database_url(args: argparse.Namespace) -> str | None:
    """--database-url, else --state-dir, else LOA_DATABASE_URL, else LOA_STATE_DIR (as the controller)."""
    if args.database_url:
        return args.database_url
    if args.state_dir is not None:
        return f"sqlite:///{args.state_dir / 'loa.db'}"
    if os.environ.get("LOA_DATABASE_URL"):
        return os.environ["LOA_DATABASE_URL"]
    if os.environ.get("LOA_STATE_DIR"):
        return f"sqlite:///{Path(os.environ['LOA_STATE_DIR']) / 'loa.db'}"
    return None


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (containers)
        return "cli"


def _read_password(args: argparse.Namespace) -> str | None:
    """The new password: one stdin line, or typed twice; None (after a message) if they differ."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        print("loa user: the two passwords differ; nothing changed", file=sys.stderr)
        return None
    return first


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    url = _database_url(args)
    if url is None:
        print("loa user: say where the database is: --state-dir DIR (or LOA_STATE_DIR, or LOA_DATABASE_URL)", file=sys.stderr)
        return EXIT_USAGE
    password = None
    if args.command in ("add", "passwd"):
        password = _read_password(args)
        if password is None:
            return EXIT_USAGE
    from sqlalchemy.exc import SQLAlchemyError
    from sqlmodel import Session

    from controller.accounts import users
    from controller.db import engine_for_url, init_db
    from controller.web.i18n import t

    try:
        engine = engine_for_url(url)
        try:
            init_db(engine)  # the first admin may come before the controller's first start
            with Session(engine) as session:
                return _run(args, session, password)
        finally:
            engine.dispose()
    except users.AccountError as exc:
        print(f"loa user: {t(exc.key, 'en', **exc.params)}", file=sys.stderr)
        return EXIT_USAGE
    except (SQLAlchemyError, OSError) as exc:
        print(f"loa user: database error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return EXIT_FAILED


def _run(args: argparse.Namespace, session, password: str | None) -> int:  # noqa: ANN001  (sqlmodel Session)
    from controller.accounts import users

    now, actor = datetime.now(UTC), _actor()
    if args.command == "list":
        for u in users.list_users(session):
            last = u.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if u.last_login_at else "never"
            state = "active" if u.active else "disabled"
            print(f"{u.username:<24} {u.role:<11} {state:<9} last login {last:<21} {u.display_name}")
        return EXIT_OK
    if args.command == "add":
        user = users.add_user(
            session, username=args.username, display_name=args.display_name or args.username, role=args.role,
            password=password or "", now=now, actor=actor,
        )
        print(f"user {user.username} added ({user.role})")
    elif args.command == "passwd":
        users.set_password(session, args.username, password or "", now=now, actor=actor)
        print(f"password of {users.normalise_username(args.username)} changed; their sessions ended")
    elif args.command == "role":
        user = users.set_role(session, args.username, args.role, now=now, actor=actor)
        print(f"{user.username} is now {user.role}")
    else:
        user = users.set_active(session, args.username, args.command == "enable", now=now, actor=actor)
        print(f"{user.username} {'enabled' if user.active else 'disabled'}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
