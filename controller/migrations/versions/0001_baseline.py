"""Baseline: every table as it stood when migrations began.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

The tables come from `controller.migrations.baseline` (frozen), which `legacy` also
uses to bring databases made by `create_all` to this same shape before stamping them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from controller.migrations.baseline import baseline_metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    metadata = baseline_metadata()
    metadata.create_all(bind, checkfirst=False)
    # The lexicon's edit counter is one row that edits only ever UPDATE (controller.lexicon.models).
    bind.execute(sa.insert(metadata.tables["lexicon_state"]).values(id=1, version=0))


def downgrade() -> None:
    baseline_metadata().drop_all(op.get_bind(), checkfirst=False)
