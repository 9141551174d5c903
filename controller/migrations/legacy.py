"""Bring a database made before migrations (by `create_all`) to the baseline, 0001.

Why this exists: releases before migrations made their tables with `create_all` and,
on upgrade, added the nullable columns a newer release declared. Such a database has
no `alembic_version` table and differs from the baseline in known ways, each fixed
here so that stamping it 0001 tells the truth and later revisions apply as anywhere:

- tables added since it was made are created, nullable (or server-defaulted) columns
  added since are added, and indexes that came with those columns are created;
- `announcement.status` was 16 characters wide before approvals (`awaiting_approval`
  has 17): PostgreSQL enforces widths, so it is widened;
- `delivery` kept the unique key (announcement_id, node_id) from before scheduled
  announcements, which refuses a recurring schedule's second occurrence on a node; it
  becomes (announcement_id, occurrence, node_id) `uq_delivery_announcement_occurrence_node`.

SQLite cannot drop a constraint or change a column's type, so there the table is
rebuilt from its baseline definition (Alembic's batch mode copies the rows over).
Callers run this inside the migration transaction with SQLite's foreign keys off,
so the rebuild's DROP TABLE cascades nowhere (see `controller.db.init_db`).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.schema import CreateColumn

from controller.migrations.baseline import baseline_metadata

log = logging.getLogger(__name__)

OLD_DELIVERY_KEY = ["announcement_id", "node_id"]
NEW_DELIVERY_KEY = ("announcement_id", "occurrence", "node_id")
NEW_DELIVERY_KEY_NAME = "uq_delivery_announcement_occurrence_node"


class SchemaError(RuntimeError):
    """The database's schema is one that neither migrations nor `legacy` can bring up."""


def is_legacy(connection: sa.Connection) -> bool:
    """True for a database with the controller's tables but no `alembic_version`."""
    names = set(sa.inspect(connection).get_table_names())
    return "alembic_version" not in names and bool(names & set(baseline_metadata().tables))


def adopt(connection: sa.Connection) -> None:
    """Make a pre-migration database match the baseline; the caller stamps it 0001."""
    baseline = baseline_metadata()
    existing = set(sa.inspect(connection).get_table_names())
    missing = [table for table in baseline.sorted_tables if table.name not in existing]
    if missing:
        log.info("creating tables missing from the old database: %s", ", ".join(t.name for t in missing))
        baseline.create_all(connection, tables=missing, checkfirst=False)
    for table in baseline.sorted_tables:
        if table.name in existing:
            _add_missing_columns(connection, table)
    if connection.execute(sa.text("SELECT count(*) FROM lexicon_state")).scalar_one() == 0:
        connection.execute(sa.insert(baseline.tables["lexicon_state"]).values(id=1, version=0))

    operations = Operations(MigrationContext.configure(connection))
    rebuild: list[sa.Table] = []
    for table in baseline.sorted_tables:
        if table.name not in existing:
            continue
        narrow = _narrow_columns(connection, table)
        old_key = _old_delivery_key(connection) if table.name == "delivery" else None
        if not narrow and old_key is None:
            continue
        if connection.dialect.name == "sqlite":
            rebuild.append(table)
            continue
        for column in narrow:
            operations.alter_column(table.name, column.name, type_=column.type, existing_nullable=column.nullable)
        if old_key is not None:
            log.warning("replacing delivery's unique key (announcement_id, node_id) with %s", NEW_DELIVERY_KEY_NAME)
            if old_key:  # a named constraint (PostgreSQL names every one)
                operations.drop_constraint(old_key, "delivery", type_="unique")
            operations.create_unique_constraint(NEW_DELIVERY_KEY_NAME, "delivery", list(NEW_DELIVERY_KEY))
    for table in rebuild:
        log.warning("rebuilding table %s in its baseline shape (old unique key or column widths)", table.name)
        with operations.batch_alter_table(table.name, copy_from=table, recreate="always"):
            pass
    for table in baseline.sorted_tables:
        _add_missing_indexes(connection, table)


def _add_missing_columns(connection: sa.Connection, table: sa.Table) -> None:
    present = {c["name"] for c in sa.inspect(connection).get_columns(table.name)}
    preparer = connection.dialect.identifier_preparer
    for column in table.columns:
        if column.name in present:
            continue
        if column.primary_key or not (column.nullable or column.server_default is not None):
            raise SchemaError(
                f"table {table.name} lacks the required column {column.name}, which no release before "
                "migrations left out; this database cannot be brought up automatically"
            )
        ddl = CreateColumn(column).compile(dialect=connection.dialect)
        connection.execute(sa.text(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {ddl}"))


def _narrow_columns(connection: sa.Connection, table: sa.Table) -> list[sa.Column]:
    """String columns the database holds narrower than the baseline declares."""
    reflected = {c["name"]: c["type"] for c in sa.inspect(connection).get_columns(table.name)}
    narrow = []
    for column in table.columns:
        want = getattr(column.type, "length", None)
        have = getattr(reflected.get(column.name), "length", None)
        if want is not None and have is not None and have < want:
            narrow.append(column)
    return narrow


def _old_delivery_key(connection: sa.Connection) -> str | None:
    """The name of delivery's old unique key ('' when unnamed); None when it is gone."""
    for key in sa.inspect(connection).get_unique_constraints("delivery"):
        if sorted(key.get("column_names") or []) == OLD_DELIVERY_KEY:
            return key.get("name") or ""
    return None


def _add_missing_indexes(connection: sa.Connection, table: sa.Table) -> None:
    present = {index["name"] for index in sa.inspect(connection).get_indexes(table.name)}
    for index in table.indexes:
        if index.name not in present:
            index.create(connection)


__all__ = ["SchemaError", "adopt", "is_legacy"]
