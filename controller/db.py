"""Database engine for SQLite (default, one file) and PostgreSQL, both through SQLModel.

The controller writes from several threads at once: API requests, the MQTT network
thread (node events) and the expiry sweep. On SQLite that needs WAL (readers never
block the writer), a busy timeout (writers queue instead of failing) and
`BEGIN IMMEDIATE` (a transaction that reads and then writes takes the write lock up
front; with a plain deferred BEGIN the lock upgrade fails at once with "database is
locked" when another writer committed in between, and the busy timeout never helps).

The schema changes through migrations (Alembic, `controller.migrations`): `init_db`
upgrades to the newest revision on every start and in `loa controller init-db`, on the
same tuned engine, so migrations take the same locks as everything else. Databases
made before migrations existed are recognised and brought up first; docs/operations.md
tells how to add a revision.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, inspect, make_url, text
from sqlmodel import Session, create_engine

from controller import migrations
from controller import models  # noqa: F401  (registers every table on SQLModel.metadata)
from controller.lexicon import models as lexicon_models  # noqa: F401  (the lexicon tables)
from controller.migrations import autogen, legacy
from controller.migrations.legacy import SchemaError
from controller.settings import ControllerSettings

SQLITE_BUSY_TIMEOUT_MS = 10_000
MIGRATION_LOCK_KEY = 0x4C6F61  # "Loa": the PostgreSQL advisory lock migrations hold

log = logging.getLogger(__name__)


def make_engine(settings: ControllerSettings) -> Engine:
    """Engine for `settings.database_url`; creates the SQLite file's directory if needed."""
    return engine_for_url(settings.database_url or f"sqlite:///{settings.state_dir / 'loa.db'}")


def engine_for_url(database_url: str) -> Engine:
    """Engine for a SQLAlchemy URL, tuned as described above (for `loa tts`, which has no state dir)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def init_db(engine: Engine) -> None:
    """Bring the database to this release's schema (idempotent); at start-up and by `init-db`.

    An empty database gets every revision from the baseline on; one made by `create_all`
    before migrations (no `alembic_version`) is first brought to the baseline by
    `controller.migrations.legacy` and stamped; a current one is left alone. All of it
    runs in one transaction, so a failed migration leaves the database as it was (SQLite
    and PostgreSQL both roll DDL back), and two processes starting at once take turns.
    """
    with engine.connect() as conn, _sqlite_foreign_keys_off(conn):
        with conn.begin():  # BEGIN IMMEDIATE on SQLite: the write lock before the first look
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            revision = migrations.current_revision(conn)
            if revision is None and legacy.is_legacy(conn):
                log.warning("database made before migrations: bringing it to revision %s", migrations.BASELINE)
                legacy.adopt(conn)
                migrations.stamp(conn, migrations.BASELINE)
            elif revision is not None and not migrations.is_known(revision):
                raise SchemaError(
                    f"the database is at schema revision {revision}, which this release does not know "
                    "(made by a newer release?); run that release or restore a backup"
                )
            if revision != migrations.head_revision():
                migrations.upgrade(conn)
                _check_foreign_keys(conn)
            _check_tables(conn)


def _check_tables(conn: Connection) -> None:
    """A table declared by a model but made by no revision would fail later as "no such
    table", far from the cause; say at start-up what is missing and how to fix it."""
    missing = set(autogen.target_metadata().tables) - set(inspect(conn).get_table_names())
    if missing:
        raise SchemaError(
            f"no migration creates the table(s) {', '.join(sorted(missing))}: add a revision with "
            "`python -m controller.migrations revision -m ...` (docs/operations.md)"
        )


def _check_foreign_keys(conn: Connection) -> None:
    """With SQLite's foreign keys off, a migration could leave rows pointing nowhere; refuse
    (and so roll back) rather than start on a database whose cascades no longer hold."""
    if conn.dialect.name != "sqlite":
        return
    dangling = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if dangling:
        table, rowid, parent = dangling[0][0], dangling[0][1], dangling[0][2]
        raise SchemaError(
            f"migrating left {len(dangling)} rows whose foreign keys point nowhere "
            f"(first: {table} row {rowid} -> {parent}); the database is unchanged"
        )


@contextmanager
def _sqlite_foreign_keys_off(conn: Connection) -> Iterator[None]:
    """SQLite rebuilds a table to alter it (drop, copy, rename); with foreign keys on, dropping
    `node` would cascade into `delivery`. The pragma is a no-op inside a transaction, so it is
    set on the driver connection before the migration transaction begins, and always restored."""
    if conn.dialect.name != "sqlite":
        yield
        return
    driver = conn.connection.driver_connection
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


def check_db(engine: Engine) -> bool:
    """True when a trivial query succeeds; for /healthz."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any driver error means "not healthy", never a 500
        return False


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A short session for background work (MQTT handlers, the sweep); rolls back on error."""
    with Session(engine) as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise


__all__ = ["SchemaError", "check_db", "engine_for_url", "init_db", "make_engine", "session_scope"]
