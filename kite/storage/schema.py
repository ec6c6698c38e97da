"""The schema of Kite's database: every table, in one place.

Queries in ``store.py`` use these table objects; migrations under ``migrations/``
change a database from one version of this schema to the next.  A new table or
column goes here *and* into a new migration.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Integer, MetaData, PrimaryKeyConstraint, Table, Text, UniqueConstraint

from .types import UtcDateTime

# Constraint names fixed by convention, so that migrations can refer to them on both backends.
metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

# SQLite only makes INTEGER PRIMARY KEY the rowid; PostgreSQL gets a 64-bit identity.
Id = BigInteger().with_variant(Integer(), "sqlite")

checkins = Table(
    "checkins",
    metadata,
    Column("id", Id, primary_key=True),
    Column("session", Text, nullable=False),  # "lessons/SLUG" or "announcements/SLUG"
    Column("branch", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("checked_in_at", UtcDateTime(), nullable=False),
    # One check-in per person (name within a branch) and session: a repeat is a no-op.
    UniqueConstraint("session", "branch", "name"),
)


# --- Live check-in codes (issue 14; migration 0004) ---

# The one secret every endpoint instance shares, made by whichever instance needs it first:
# live codes and confirmation links are derived from it, so instances agree without talking.
# Not used where KITE_SECRET_KEY is set.
server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Wrong live codes per session and person.  ``person`` is a keyed digest of the branch and
# the name as the desk matches it, so this table never holds a member's name.
wrong_codes = Table(
    "wrong_codes",
    metadata,
    Column("session", Text, nullable=False),
    Column("person", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("session", "person"),
)


# ---- Member submissions (issue 13): quarterly reports and suggestions; kite/storage/submissions.py. ----

reports = Table(
    "reports",
    metadata,
    Column("id", Id, primary_key=True),
    Column("branch", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("quarter", Text, nullable=False),  # "2026Q4": the quarter received in, in the hub's time zone
    Column("text", Text, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    # A hash of branch, name and text: the same report sent again is a no-op.  A hash and not
    # the text itself, since PostgreSQL's btree cannot index a 5,000-character text.
    Column("dedupe_key", Text, nullable=False),
    UniqueConstraint("dedupe_key"),
    Index("ix_reports_branch_quarter", "branch", "quarter"),
)

suggestions = Table(
    "suggestions",
    metadata,
    Column("id", Id, primary_key=True),
    # What the member keeps to look the suggestion up: random, never a counter (see kite/attendance/refs.py).
    Column("ref", Text, nullable=False),
    Column("branch", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("name", Text),  # optional: a suggestion may be anonymous
    Column("contact", Text),  # optional; shown only to secretaries in scope
    Column("status", Text, nullable=False),  # a key of submissions.STATUSES
    Column("reply", Text),
    Column("replied_by", Text),  # the desk login that last set status or reply
    Column("replied_at", UtcDateTime()),
    Column("received_at", UtcDateTime(), nullable=False),
    # A hash of branch and text: the same text from one branch within a minute is one suggestion.
    Column("dedupe_key", Text, nullable=False),
    UniqueConstraint("ref"),
    CheckConstraint("status IN ('received', 'in_progress', 'answered')", name="ck_suggestions_status"),
    Index("ix_suggestions_dedupe_key", "dedupe_key"),
    Index("ix_suggestions_branch_status", "branch", "status"),
)
