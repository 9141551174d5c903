"""Schema migrations (Alembic), driven from code: `controller.db.init_db` upgrades to head.

Why Alembic driven programmatically and shipped inside the package: operators install
the wheel and run `loa controller init-db` (or just start the controller); there is no
alembic.ini to find and no working directory to get right. Developers add a revision
with `python -m controller.migrations revision -m "what changed"` (see
docs/operations.md). Revisions are numbered `0001`, `0002`, …: two branches that both
add one collide on the number, which is the conflict we want to see before release.

`0001` is the baseline: the whole schema as it stood when migrations began
(`controller.migrations.baseline`). Databases made before that by `create_all` are
brought to the baseline by `controller.migrations.legacy` and stamped.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

SCRIPT_DIR = Path(__file__).resolve().parent
BASELINE = "0001"
"""The revision a database made by `create_all` before migrations is stamped with."""


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic config without an ini file; `env.py` runs on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this release knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration revisions in {SCRIPT_DIR / 'versions'}")
    return head


def is_known(revision: str) -> bool:
    """True when this release has `revision` (a database stamped by a newer release is not)."""
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        return False
    return True


def current_revision(connection: sa.Connection) -> str | None:
    """The revision the database is stamped with; None when it has no `alembic_version`."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: sa.Connection, revision: str = "head") -> None:
    """Apply every revision up to `revision`, inside the connection's current transaction."""
    command.upgrade(alembic_config(connection), revision)


def stamp(connection: sa.Connection, revision: str) -> None:
    """Record `revision` as applied without running it (for databases made the old way)."""
    command.stamp(alembic_config(connection), revision)


__all__ = [
    "BASELINE",
    "SCRIPT_DIR",
    "alembic_config",
    "current_revision",
    "head_revision",
    "is_known",
    "stamp",
    "upgrade",
]
