"""Storage for live check-in codes: the secret all instances share, and the wrong-code counters.

Both must hold across endpoint instances (several ``attend`` processes on one PostgreSQL
database), so both live in the database and are written by single statements that are
safe when instances race: the first secret inserted wins and every instance reads that
one; a wrong code adds one to its counter in place and reads the sum back.

These are store methods kept in a module of their own; they follow ``store.py``'s rules
(its write lock and ``BEGIN IMMEDIATE`` on SQLite, faults as ``StorageUnavailable``).
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from .database import is_sqlite
from .schema import server_secrets, wrong_codes
from .store import Store, _unavailable_on_failure

SECRET_NAME = "kite"


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
