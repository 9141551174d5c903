"""A throwaway PostgreSQL server on loopback, for tests that need the real database.

Why a real server and not SQLite standing in: PostgreSQL enforces column widths and
types and names every constraint, and migrations must work on it exactly (design:
"SQLite and PostgreSQL are real databases"). The server comes from Debian's
`postgresql` package (debian-packages.txt; scripts/bootstrap.sh installs it): `initdb`
into a temp dir, `pg_ctl start` on a free 127.0.0.1 port with fsync off, one database
per test, `pg_ctl stop` at the end. PostgreSQL refuses to run as root, so under root
(CI) it runs as the `postgres` system user the package creates, in a directory it owns.

Missing binaries fail the test with a message rather than skip it: bootstrap installs
them, so their absence is a broken machine, not an optional feature.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SERVER_USER = "postgres"
START_TIMEOUT_S = 30


def find_bindir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin with initdb and pg_ctl."""
    found = Path("/usr/lib/postgresql").glob("*/bin")
    candidates = [p for p in found if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    if not candidates:
        raise RuntimeError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; "
            "run scripts/bootstrap.sh (debian-packages.txt lists postgresql)"
        )
    return max(candidates, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    """One running server; `database()` hands out a fresh empty database."""

    root: Path
    port: int
    bindir: Path
    as_user: list[str]
    _names: Iterator[int] = field(default_factory=itertools.count)

    @classmethod
    def start(cls) -> PostgresServer:
        bindir = find_bindir()
        root = Path(tempfile.mkdtemp(prefix="loa-pg-"))
        as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(SERVER_USER)
            except KeyError:
                shutil.rmtree(root)
                raise RuntimeError(f"no {SERVER_USER!r} system user (Debian's postgresql package creates it)") from None
            os.chown(root, account.pw_uid, account.pw_gid)
            as_user = ["runuser", "-u", SERVER_USER, "--"]
        server = cls(root=root, port=_free_port(), bindir=bindir, as_user=as_user)
        try:
            server._run("initdb", "-D", str(root / "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                        "--no-locale", "--no-sync")  # fmt: skip
            options = f"-h 127.0.0.1 -p {server.port} -k {root} -F -c full_page_writes=off -c synchronous_commit=off"
            server._run("pg_ctl", "-D", str(root / "data"), "-l", str(root / "server.log"), "-w",
                        "-t", str(START_TIMEOUT_S), "-o", options, "start")  # fmt: skip
        except BaseException:
            server._cleanup()
            raise
        return server

    def _run(self, tool: str, *args: str) -> None:
        command = [*self.as_user, str(self.bindir / tool), *args]
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        import psycopg

        name = f"loa_test_{next(self._names)}"
        admin = {"host": "127.0.0.1", "port": self.port, "user": "postgres", "dbname": "postgres"}
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            self._cleanup()

    def _cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One server for the whole session (starting one costs about a second); always stopped."""
    try:
        server = PostgresServer.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's server, as a `postgresql+psycopg://` URL."""
    return postgres_server.database()


__all__ = ["PostgresServer", "find_bindir", "postgres_server", "postgres_url"]
