"""Members' quarterly reports (每季一汇报) and suggestions (意见建议).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Two new tables; nothing existing changes.
"""

import sqlalchemy as sa
from alembic import op

from kite.storage.types import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", Id, primary_key=True),
        sa.Column("branch", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("quarter", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("dedupe_key", sa.Text(), nullable=False),
        sa.UniqueConstraint("dedupe_key", name="uq_reports_dedupe_key"),
    )
    op.create_index("ix_reports_branch_quarter", "reports", ["branch", "quarter"])
    op.create_table(
        "suggestions",
        sa.Column("id", Id, primary_key=True),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("branch", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("replied_by", sa.Text(), nullable=True),
        sa.Column("replied_at", UtcDateTime(), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("dedupe_key", sa.Text(), nullable=False),
        sa.UniqueConstraint("ref", name="uq_suggestions_ref"),
        sa.CheckConstraint("status IN ('received', 'in_progress', 'answered')", name="ck_suggestions_status"),
    )
    op.create_index("ix_suggestions_dedupe_key", "suggestions", ["dedupe_key"])
    op.create_index("ix_suggestions_branch_status", "suggestions", ["branch", "status"])


def downgrade() -> None:
    op.drop_table("suggestions")
    op.drop_table("reports")
