"""The desk (工作台): accounts, desk sessions, login failures, members, hand-made matches, audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Only new tables and one new index on checkins: a database from before keeps every row
as it is, and the endpoint's check-ins are untouched.
"""

import sqlalchemy as sa
from alembic import op

from kite.storage.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", Id, primary_key=True),
        sa.Column("login", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("login", name="uq_accounts_login"),
    )
    op.create_table(
        "desk_sessions",
        sa.Column("token_hash", sa.Text(), primary_key=True),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("csrf_token", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE",
                                name="fk_desk_sessions_account_id_accounts"),
    )
    op.create_index("ix_desk_sessions_account_id", "desk_sessions", ["account_id"])
    op.create_index("ix_desk_sessions_last_seen", "desk_sessions", ["last_seen"])
    op.create_table(
        "login_failures",
        sa.Column("id", Id, primary_key=True),
        sa.Column("login", sa.Text(), nullable=False),
        sa.Column("failed_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_login_failures_login_failed_at", "login_failures", ["login", "failed_at"])
    op.create_table(
        "members",
        sa.Column("id", Id, primary_key=True),
        sa.Column("branch", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("match_key", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("departed_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("branch", "match_key", name="uq_members_branch_match_key"),
    )
    op.create_table(
        "record_links",
        sa.Column("id", Id, primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("record_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("linked_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE",
                                name="fk_record_links_member_id_members"),
        sa.UniqueConstraint("kind", "record_id", name="uq_record_links_kind_record_id"),
    )
    op.create_index("ix_record_links_member_id", "record_links", ["member_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", Id, primary_key=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("login", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_checkins_branch_checked_in_at_name", "checkins", ["branch", "checked_in_at", "name"])


def downgrade() -> None:
    op.drop_index("ix_checkins_branch_checked_in_at_name", table_name="checkins")
    for table in ("audit_log", "record_links", "members", "login_failures", "desk_sessions", "accounts"):
        op.drop_table(table)
