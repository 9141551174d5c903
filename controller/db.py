"""Database engine for SQLite (default, one file) and PostgreSQL, both through SQLModel.

The controller writes from several threads at once: API requests, the MQTT network
thread (node events) and the expiry sweep. On SQLite that needs WAL (readers never
block the writer), a busy timeout (writers queue instead of failing) and
`BEGIN IMMEDIATE` (a transaction that reads and then writes takes the write lock up
front; with a plain deferred BEGIN the lock upgrade fails at once with "database is
locked" when another writer committed in between, and the busy timeout never helps).

Tables are made with `SQLModel.metadata.create_all` for now; schema changes will go
through migrations (Alembic) once the schema settles, as the design asks. Until then
`init_db` also adds *nullable* columns that a newer release declares and an existing
database lacks (e.g. `announcement.fallback_reason`), so an upgrade does not need a
fresh database; anything else is refused with a message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, inspect, make_url, text
from sqlalchemy.schema import CreateColumn
from sqlmodel import Session, SQLModel, create_engine

from controller import models  # noqa: F401  (registers every table on SQLModel.metadata)
from controller.lexicon import models as lexicon_models  # noqa: F401  (the lexicon tables)
from controller.settings import ControllerSettings

SQLITE_BUSY_TIMEOUT_MS = 10_000

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


class SchemaError(RuntimeError):
    """The database's schema is older than the code in a way `init_db` cannot fix."""


def init_db(engine: Engine) -> None:
    """Create missing tables and add missing nullable columns (idempotent). Migrations replace this later."""
    SQLModel.metadata.create_all(engine)
    _add_missing_columns(engine)
    _warn_old_delivery_key(engine)


def _warn_old_delivery_key(engine: Engine) -> None:
    """A database made before scheduled announcements keeps the unique key (announcement,
    node) on deliveries, which refuses a recurring schedule's second occurrence on a node.
    Rebuilding a SQLite table is a migration's job; say so loudly instead of failing later."""
    with engine.connect() as conn:
        keys = inspect(conn).get_unique_constraints("delivery")
    if any(sorted(k.get("column_names") or []) == ["announcement_id", "node_id"] for k in keys):
        log.warning(
            "table delivery still has the unique key (announcement_id, node_id): recurring schedules "
            "will fail to dispatch a second occurrence; migrate or start from a fresh database"
        )


def _add_missing_columns(engine: Engine) -> None:
    with engine.begin() as conn:
        inspector = inspect(conn)
        for table in SQLModel.metadata.sorted_tables:
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                if not column.nullable or column.primary_key:
                    raise SchemaError(
                        f"table {table.name} lacks the required column {column.name}; "
                        "this database needs a migration"
                    )
                ddl = CreateColumn(column).compile(dialect=engine.dialect)
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))


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
