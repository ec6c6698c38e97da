"""The checkins table, as Kite 0.1.0 created it before migrations existed.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

A database written by Kite 0.1.0 already has this table (and no alembic_version):
it is kept as it is, rows and all, and only stamped with this revision.
"""

import sqlalchemy as sa
from alembic import op

from kite.storage.types import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "checkins" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "checkins",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("session", sa.Text(), nullable=False),
        sa.Column("branch", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("checked_in_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("session", "branch", "name", name="uq_checkins_session_branch_name"),
    )


def downgrade() -> None:
    op.drop_table("checkins")
