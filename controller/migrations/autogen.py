"""What Alembic compares the database with, and how it writes new revisions.

Why a module of its own: `env.py` (run by Alembic), the `revision --autogenerate`
helper and the test that proves models and migrations agree must all compare against
the same metadata with the same options, or the test would pass while autogenerate
still finds work to do.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext


def target_metadata() -> sa.MetaData:
    """`SQLModel.metadata` with every table the controller declares registered on it."""
    from sqlmodel import SQLModel

    from controller import models  # noqa: F401  (registers the controller's tables, web accounts included)
    from controller.lexicon import models as lexicon_models  # noqa: F401  (the lexicon tables)

    return SQLModel.metadata


def _render_item(type_: str, obj: Any, _context: Any) -> str | bool:
    """Write SQLModel's and our column types as the plain SQLAlchemy types they create, so
    revision files do not import model code (a revision must keep working when models change)."""
    from sqlmodel.sql.sqltypes import AutoString

    from controller.models.columns import UtcDateTime

    if type_ != "type":
        return False
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length!r})" if obj.length else "sa.String()"
    if isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def context_options(dialect_name: str) -> dict[str, Any]:
    """Options for `EnvironmentContext.configure`: batch mode on SQLite, whose ALTER TABLE
    cannot drop a constraint or change a type, so Alembic rebuilds the table instead."""
    return {
        "target_metadata": target_metadata(),
        "render_as_batch": dialect_name == "sqlite",
        "compare_type": True,
        "compare_server_default": True,
        "render_item": _render_item,
    }


def differences(connection: sa.Connection) -> list[Any]:
    """What autogenerate would still write for this database: empty when it matches the models."""
    options = context_options(connection.dialect.name)
    metadata = options.pop("target_metadata")
    context = MigrationContext.configure(connection, opts=options)
    return list(compare_metadata(context, metadata))


__all__ = ["context_options", "differences", "target_metadata"]
