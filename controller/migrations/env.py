"""Alembic's environment script, run by Alembic for every command.

Why it takes a connection instead of a URL: `controller.db.init_db` runs migrations
inside the transaction it already holds (on SQLite a `BEGIN IMMEDIATE`, on PostgreSQL
with an advisory lock), so two processes starting at once migrate one after the
other, and the SQLite tuning of the engine applies. There is no alembic.ini and no
offline (SQL script) mode: operators run `loa controller init-db`.
"""

from __future__ import annotations

from alembic import context

from controller.migrations import autogen


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None or context.is_offline_mode():
        raise RuntimeError("migrations run through controller.db.init_db or `python -m controller.migrations`")
    # Both databases roll DDL back, and init_db runs everything in one transaction.
    options = autogen.context_options(connection.dialect.name)
    context.configure(connection=connection, transactional_ddl=True, **options)
    with context.begin_transaction():
        context.run_migrations()


_run()
