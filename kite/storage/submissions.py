"""Members' quarterly reports and suggestions in the database: the only code that runs their SQL.

Two sides use it.  The endpoint records what members send and answers a suggestion's
lookup by its reference (status and reply only).  The desk reads and answers within an
account's scope: every desk method takes the scope and filters by it in its query, so a
page never sees a row it may not show; a row outside the scope is reported as missing.
A scope is anything with ``branches`` and ``everything`` (``kite.desk.scope.Scope``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Collection, Protocol

from sqlalchemy import ColumnElement, func, select, true, update
from sqlalchemy import text as sql
from sqlalchemy.dialects import postgresql, sqlite

from .schema import reports, suggestions
from .store import Store

# A suggestion's status as stored, and as members and secretaries read it (contract, section 6).
STATUSES = {"received": "已收到", "in_progress": "办理中", "answered": "已答复"}
RECEIVED, IN_PROGRESS, ANSWERED = STATUSES
OPEN = (RECEIVED, IN_PROGRESS)  # not yet answered: counted on the desk's overview
# The same text from the same branch within this long is the same suggestion sent twice.
REPEAT_WINDOW = timedelta(minutes=1)
# Namespace of PostgreSQL's two-key advisory locks held while looking for such a repeat.
_REPEAT_LOCK = 0x4B4953  # "KIS"
_NEW_REF_TRIES = 5


class BranchScope(Protocol):
    branches: Collection[str]
    everything: bool  # every branch, including those no longer in the config


@dataclass(frozen=True)
class Report:
    id: int
    branch: str
    name: str
    quarter: str  # "2026Q4"
    text: str
    received_at: datetime  # aware, UTC


@dataclass(frozen=True)
class Suggestion:
    """A suggestion as a secretary in scope sees it: everything, name and contact included."""

    id: int
    ref: str  # as stored: 10 characters, no dashes
    branch: str
    category: str
    text: str
    name: str | None
    contact: str | None
    status: str  # a key of STATUSES
    reply: str | None
    replied_by: str | None
    replied_at: datetime | None
    received_at: datetime

    @property
    def status_label(self) -> str:
        return STATUSES[self.status]


@dataclass(frozen=True)
class SuggestionProgress:
    """What anyone holding the reference may see: never the name, contact, text or who replied."""

    ref: str
    branch: str
    category: str
    status: str
    reply: str | None
    replied_at: datetime | None
    received_at: datetime

    @property
    def status_label(self) -> str:
        return STATUSES[self.status]


@dataclass(frozen=True)
class Recorded:
    new: bool  # False: the same report, or the same suggestion within a minute, was already stored
    quarter: str = ""  # a report's, as stored
    ref: str = ""  # a suggestion's, as stored


def _key(*parts: str) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def _in(scope: BranchScope, column) -> ColumnElement[bool]:
    return true() if scope.everything else column.in_(sorted(scope.branches))


class Submissions:
    """Reports and suggestions over a ``Store``'s database, SQLite or PostgreSQL."""

    def __init__(self, store: Store):
        self.store = store
        self._insert = postgresql.insert if store.engine.dialect.name == "postgresql" else sqlite.insert

    # ---- The endpoint: what members send, and a suggestion's progress by its reference.

    def record_report(self, branch: str, name: str, quarter: str, text: str, at: datetime) -> Recorded:
        """Store a report once: the same branch, name and text again is not stored again.

        The answer carries the quarter of the report as first stored.
        """
        key = _key(branch, name, text)
        statement = (self._insert(reports)
                     .values(branch=branch, name=name, quarter=quarter, text=text, received_at=at, dedupe_key=key)
                     .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(reports.c.id))
        with self.store.writing() as connection:
            if connection.execute(statement).first() is not None:
                return Recorded(True, quarter=quarter)
            stored = connection.execute(select(reports.c.quarter).where(reports.c.dedupe_key == key)).scalar_one()
            return Recorded(False, quarter=stored)

    def record_suggestion(self, branch: str, category: str, text: str, name: str | None, contact: str | None,
                          at: datetime, new_ref: Callable[[], str]) -> Recorded:
        """Store a suggestion under a new reference from ``new_ref``; the same text from the same
        branch within ``REPEAT_WINDOW`` is the earlier one (its reference comes back)."""
        key = _key(branch, text)
        with self.store.writing() as connection:
            # SQLite's writers already take turns (BEGIN IMMEDIATE); PostgreSQL's instances take
            # this lock, so that two copies arriving at once still make one suggestion.
            if connection.dialect.name == "postgresql":
                connection.execute(sql("SELECT pg_advisory_xact_lock(:space, :key)"),
                                   {"space": _REPEAT_LOCK, "key": int(key[:8], 16) - (1 << 31)})
            earlier = connection.execute(
                select(suggestions.c.ref)
                .where(suggestions.c.dedupe_key == key, suggestions.c.received_at >= at - REPEAT_WINDOW)
                .order_by(suggestions.c.id.desc()).limit(1)
            ).scalar()
            if earlier is not None:
                return Recorded(False, ref=earlier)
            for _ in range(_NEW_REF_TRIES):
                ref = new_ref()
                statement = (self._insert(suggestions)
                             .values(ref=ref, branch=branch, category=category, text=text, name=name, contact=contact,
                                     status=RECEIVED, received_at=at, dedupe_key=key)
                             .on_conflict_do_nothing(index_elements=["ref"]).returning(suggestions.c.id))
                if connection.execute(statement).first() is not None:
                    return Recorded(True, ref=ref)
        raise RuntimeError(f"no unused suggestion reference in {_NEW_REF_TRIES} tries: is new_ref random?")

    def progress(self, ref: str) -> SuggestionProgress | None:
        """A suggestion's status and reply by its stored reference; None if there is none."""
        query = select(suggestions.c.ref, suggestions.c.branch, suggestions.c.category, suggestions.c.status,
                       suggestions.c.reply, suggestions.c.replied_at, suggestions.c.received_at)
        with self.store.reading() as connection:
            row = connection.execute(query.where(suggestions.c.ref == ref)).first()
        return SuggestionProgress(*row) if row else None

    # ---- The desk: always within a scope.

    def reports(self, scope: BranchScope, *, quarter: str | None = None, year: int | None = None,
                limit: int | None = None) -> list[Report]:
        """Reports in scope, newest first; of one quarter ("2026Q4") or one year if given."""
        query = select(reports.c.id, reports.c.branch, reports.c.name, reports.c.quarter, reports.c.text,
                       reports.c.received_at).where(_in(scope, reports.c.branch))
        if quarter is not None:
            query = query.where(reports.c.quarter == quarter)
        if year is not None:
            query = query.where(reports.c.quarter.like(f"{int(year):04d}Q_"))
        query = query.order_by(reports.c.received_at.desc(), reports.c.id.desc()).limit(limit)
        with self.store.reading() as connection:
            return [Report(*row) for row in connection.execute(query)]

    def suggestions(self, scope: BranchScope, *, status: str | None = None, open_only: bool = False,
                    received: tuple[datetime, datetime] | None = None, limit: int | None = None) -> list[Suggestion]:
        """Suggestions in scope, newest first, with name and contact; of one status, or only
        those not yet answered, or received from ``received[0]`` up to (not including)
        ``received[1]`` (a year in the hub's time zone, say), if asked."""
        query = select(*_SUGGESTION_COLUMNS).where(_in(scope, suggestions.c.branch))
        if status is not None:
            query = query.where(suggestions.c.status == _known(status))
        if open_only:
            query = query.where(suggestions.c.status.in_(OPEN))
        if received is not None:
            query = query.where(suggestions.c.received_at >= received[0], suggestions.c.received_at < received[1])
        query = query.order_by(suggestions.c.received_at.desc(), suggestions.c.id.desc()).limit(limit)
        with self.store.reading() as connection:
            return [Suggestion(*row) for row in connection.execute(query)]

    def suggestion(self, scope: BranchScope, suggestion_id: int) -> Suggestion | None:
        """One suggestion, or None if there is none in scope (the page answers 404 either way)."""
        query = select(*_SUGGESTION_COLUMNS).where(suggestions.c.id == suggestion_id, _in(scope, suggestions.c.branch))
        with self.store.reading() as connection:
            row = connection.execute(query).first()
        return Suggestion(*row) if row else None

    def answer(self, scope: BranchScope, suggestion_id: int, *, status: str, reply: str | None, by: str,
               at: datetime) -> bool:
        """Set a suggestion's status and reply (None or "" clears it), signed by the desk login ``by``.

        False, with nothing changed, if there is no such suggestion in scope.
        """
        statement = (update(suggestions)
                     .where(suggestions.c.id == suggestion_id, _in(scope, suggestions.c.branch))
                     .values(status=_known(status), reply=reply or None, replied_by=by, replied_at=at)
                     .returning(suggestions.c.id))
        with self.store.writing() as connection:
            return connection.execute(statement).first() is not None

    def report_counts(self, scope: BranchScope, quarter: str) -> dict[str, int]:
        """Reports received for ``quarter``, per branch in scope (branches without any left out)."""
        query = (select(reports.c.branch, func.count()).where(_in(scope, reports.c.branch), reports.c.quarter == quarter)
                 .group_by(reports.c.branch))
        with self.store.reading() as connection:
            return dict(connection.execute(query).all())

    def open_counts(self, scope: BranchScope) -> dict[str, int]:
        """Suggestions not yet answered (已收到 or 办理中), per branch in scope."""
        query = (select(suggestions.c.branch, func.count())
                 .where(_in(scope, suggestions.c.branch), suggestions.c.status.in_(OPEN))
                 .group_by(suggestions.c.branch))
        with self.store.reading() as connection:
            return dict(connection.execute(query).all())


_SUGGESTION_COLUMNS = (suggestions.c.id, suggestions.c.ref, suggestions.c.branch, suggestions.c.category,
                       suggestions.c.text, suggestions.c.name, suggestions.c.contact, suggestions.c.status,
                       suggestions.c.reply, suggestions.c.replied_by, suggestions.c.replied_at,
                       suggestions.c.received_at)


def _known(status: str) -> str:
    if status not in STATUSES:
        raise ValueError(f"unknown suggestion status {status!r}; one of {', '.join(STATUSES)}")
    return status
