"""The schema of Kite's database: every table, in one place.

Queries in ``store.py`` use these table objects; migrations under ``migrations/``
change a database from one version of this schema to the next.  A new table or
column goes here *and* into a new migration.
"""

from __future__ import annotations

from sqlalchemy import (BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, MetaData, PrimaryKeyConstraint, Table,
                        Text, UniqueConstraint)

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


# -- The desk (工作台, issue 12): accounts and their sessions, the roster, hand-made matches, the audit log.
# Other issues add their tables below this block, each in a block of its own.

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("login", Text, nullable=False, unique=True),  # as typed at `account add`, NFKC and lower case
    Column("password_hash", Text, nullable=False),  # Argon2id, encoded with its salt and parameters
    Column("scope", Text, nullable=False),  # `all`, a joint committee or a branch, resolved against the config on use
    Column("created_at", UtcDateTime(), nullable=False),
)

desk_sessions = Table(
    "desk_sessions",
    metadata,
    # SHA-256 of the cookie's random token: a copy of the database does not let anyone in.
    Column("token_hash", Text, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", Text, nullable=False),  # what this session's forms must send back
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False, index=True),  # idle expiry counts from here
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Id, primary_key=True),
    # Per login as typed (normalised), whether or not such an account exists: the throttle
    # must not tell anyone which logins exist.
    Column("login", Text, nullable=False),
    Column("failed_at", UtcDateTime(), nullable=False),
    Index(None, "login", "failed_at"),
)

members = Table(
    "members",
    metadata,
    Column("id", Id, primary_key=True),
    Column("branch", Text, nullable=False),
    Column("name", Text, nullable=False),  # as the roster file wrote it, tidied
    Column("match_key", Text, nullable=False),  # kite.desk.names.match_key(name)
    Column("position", Integer, nullable=False),  # row order in the last roster file: the table's order
    Column("departed_at", UtcDateTime(), nullable=True),  # set when a new roster no longer lists the member
    UniqueConstraint("branch", "match_key"),
)

record_links = Table(
    "record_links",
    metadata,
    Column("id", Id, primary_key=True),
    # Which kind of record ("checkin"; later issues add theirs) and its id in that kind's table.
    Column("kind", Text, nullable=False),
    Column("record_id", Id, nullable=False),
    Column("member_id", Id, ForeignKey("members.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("linked_at", UtcDateTime(), nullable=False),
    UniqueConstraint("kind", "record_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    Column("at", UtcDateTime(), nullable=False, index=True),
    Column("login", Text, nullable=False),  # whose action: an account's login, or 命令行 for the CLI
    Column("action", Text, nullable=False),  # one of kite.storage.desk.AUDIT_ACTIONS
    Column("detail", Text, nullable=False),  # for people; never a password, a token or a member's name
)

# The desk reads a branch's check-ins of one year, often all 100,000 of them: this index
# holds every column it reads, so the table behind it is never touched.
Index("ix_checkins_branch_checked_in_at_name", checkins.c.branch, checkins.c.checked_in_at, checkins.c.name)


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
