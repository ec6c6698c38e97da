"""Storage for live activities: the secret all instances share, the wrong-code counters, and
the host view's count of check-ins by branch.

Both must hold across endpoint instances (several ``attend`` processes on one PostgreSQL
database), so both live in the database and are written by single statements that are
safe when instances race: the first secret inserted wins and every instance reads that
one; a wrong code adds one to its counter in place and reads the sum back.

These are store methods kept in a module of their own; they follow ``store.py``'s rules
(its write lock and ``BEGIN IMMEDIATE`` on SQLite, faults as ``StorageUnavailable``).
The count is a desk read, so it takes the account's scope first and filters with
``desk.in_scope`` like every desk query (``kite/storage/desk.py`` explains).
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

from sqlalchemy import Connection, case, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from ..desk.scope import Scope
from .database import is_sqlite
from .desk import in_scope
from .schema import checkins, server_secrets, wrong_codes
from .store import Store, _unavailable_on_failure

SECRET_NAME = "kite"


@dataclass(frozen=True)
class BranchCount:
    """One branch's check-ins to a live activity so far."""

    branch: str
    on_time: int  # 准时: until ``starts`` plus ``late_after``
    late: int  # 迟到

    @property
    def total(self) -> int:
        return self.on_time + self.late


class LiveStore:
    """The live codes' tables, over an open ``Store``."""

    def __init__(self, store: Store):
        self._store = store
        self._local = is_sqlite(store.engine.url)
        self._insert = sqlite.insert if self._local else postgresql.insert

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        store = self._store
        if self._local:
            # The store's own lock: SQLite has one writer, and its check-in writer queues here too.
            with store._write_lock, _unavailable_on_failure(), \
                    store.engine.execution_options(kite_write=True).begin() as connection:
                yield connection
        else:
            with _unavailable_on_failure(), store._single_statement.connect() as connection:
                yield connection

    def server_secret(self) -> str:
        """The secret shared by every instance on this database, made on first use.

        Two instances asking at once on a new database both insert a candidate; the
        database keeps the first, and both return it.
        """
        query = select(server_secrets.c.value).where(server_secrets.c.name == SECRET_NAME)
        with self._store._reading() as connection:
            found = connection.execute(query).scalar()
        if found is not None:
            return found
        candidate = self._insert(server_secrets).values(
            name=SECRET_NAME, value=secrets.token_urlsafe(32), created_at=datetime.now(timezone.utc),
        ).on_conflict_do_nothing(index_elements=["name"])
        with self._writing() as connection:
            connection.execute(candidate)
        with self._store._reading() as connection:
            return connection.execute(query).scalar_one()

    def wrong_codes(self, session: str, person: str) -> int:
        """How many wrong live codes ``person`` (an opaque key) has sent for ``session``."""
        query = select(wrong_codes.c.attempts).where(wrong_codes.c.session == session, wrong_codes.c.person == person)
        with self._store._reading() as connection:
            return connection.execute(query).scalar() or 0

    def add_wrong_code(self, session: str, person: str, at: datetime) -> int:
        """Count one more wrong code; the count after it.  Concurrent calls each add one."""
        statement = self._insert(wrong_codes).values(session=session, person=person, attempts=1, last_at=at)
        statement = statement.on_conflict_do_update(
            index_elements=["session", "person"],
            set_={"attempts": wrong_codes.c.attempts + 1, "last_at": statement.excluded.last_at},
        ).returning(wrong_codes.c.attempts)
        with self._writing() as connection:
            return connection.execute(statement).scalar_one()

    def counts_by_branch(self, scope: Scope, session: str, late_from: datetime | None) -> list[BranchCount]:
        """Check-ins to ``session`` per branch in ``scope``, split at ``late_from`` (None: all on time).

        A check-in within the second of ``late_from`` is still on time (``records.checkin_status``).
        Branches without a check-in are not listed; the order is by branch name.
        """
        c = checkins.c
        late_at = late_from.replace(microsecond=0) + timedelta(seconds=1) if late_from is not None else None
        late = case((c.checked_in_at >= late_at, 1), else_=0) if late_at is not None else literal(0)
        query = (select(c.branch, func.count(), func.sum(late))
                 .where(c.session == session, in_scope(scope, c.branch))
                 .group_by(c.branch).order_by(c.branch))
        with self._store._reading() as connection:
            return [BranchCount(branch, total - int(late_count or 0), int(late_count or 0))
                    for branch, total, late_count in connection.execute(query)]
