"""The store: small named functions over the database, the only code that runs SQL.

The web layer calls these and never sees SQL, a connection or a driver's error:
a database that cannot take a request raises ``StorageUnavailable``, nothing else.
Each write is one transaction, committed durably before the method returns.  A write
of several statements holds ``_write_lock`` and runs in
``engine.execution_options(kite_write=True).begin()`` (BEGIN IMMEDIATE on SQLite, as
``migrate.upgrade`` does), inside ``_unavailable_on_failure``.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import Connection, Engine, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DatabaseError, DBAPIError, InterfaceError, InternalError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from .database import Checkpointer, is_sqlite
from .errors import StorageUnavailable
from .schema import checkins
from .group_commit import GroupCommitWriter


@dataclass(frozen=True)
class Checkin:
    session: str
    branch: str
    name: str
    checked_in_at: datetime  # aware, UTC


class Store:
    """Kite's database, SQLite or PostgreSQL, safe to use from many threads."""

    def __init__(self, engine: Engine, *, checkpointer: Checkpointer | None = None):
        self.engine = engine
        self._checkpointer = checkpointer
        # A single statement needs no BEGIN and COMMIT of its own: on a server that is two
        # round trips fewer, and the statement is committed (durably) when it returns.
        self._single_statement = engine.execution_options(isolation_level="AUTOCOMMIT")
        local = is_sqlite(engine.url)
        insert = (sqlite.insert if local else postgresql.insert)(checkins)
        # Built once: building a statement costs about as much as running it.
        new_checkin = (
            insert.values({column: bindparam(column) for column in ("session", "branch", "name", "checked_in_at")})
            .on_conflict_do_nothing(index_elements=["session", "branch", "name"])
        )
        # A row comes back only when one was inserted (psycopg's rowcount is not
        # reliable once SQLAlchemy adds RETURNING of its own).
        self._insert_checkin = new_checkin.returning(checkins.c.id)
        # SQLite has one writer at a time.  Threads queue here, in order, instead of
        # polling the file lock with busy_timeout's growing sleeps (a ruinous p99).
        self._write_lock = threading.Lock() if local else contextlib.nullcontext()
        self._group_writer = GroupCommitWriter(engine, checkins, new_checkin, write_lock=self._write_lock) if local else None

    @property
    def commits_in_groups(self) -> bool:
        """True for SQLite: ``record_checkin_async`` waits for a group commit without a thread of
        its own.  On PostgreSQL a check-in is a blocking round trip: call ``record_checkin`` in a thread."""
        return self._group_writer is not None

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        with _unavailable_on_failure(), self.engine.connect() as connection:
            yield connection

    # For the storage modules beside this one (submissions.py, …): a read, and a write of several statements.
    def reading(self) -> contextlib.AbstractContextManager[Connection]:
        return self._reading()

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """One transaction, committed durably when the block ends; StorageUnavailable on a fault."""
        with self._write_lock, _unavailable_on_failure(), self.engine.execution_options(kite_write=True).begin() as connection:
            yield connection

    def record_checkin(self, session: str, branch: str, name: str, at: datetime | None = None) -> bool:
        """Store a check-in; True if it is new, False if this person had already checked in.

        One statement: a repeat is a no-op of the same insert, never a constraint error,
        and concurrent repeats (from several processes too) store exactly one row.
        Returns once the row is committed durably.
        """
        values = _checkin_values(session, branch, name, at)
        if self._group_writer is not None:
            return self._group_writer.insert(values)
        with _unavailable_on_failure(), self._single_statement.connect() as connection:
            return connection.execute(self._insert_checkin, values).first() is not None

    async def record_checkin_async(self, session: str, branch: str, name: str, at: datetime | None = None) -> bool:
        """``record_checkin`` for the event loop, SQLite only: joins the next group commit
        and returns once that transaction is on disk."""
        if self._group_writer is None:
            raise RuntimeError("record_checkin_async is for SQLite; on a server call record_checkin in a thread")
        return await self._group_writer.insert_async(_checkin_values(session, branch, name, at))

    def checkins(self, session: str | None = None) -> list[Checkin]:
        """Check-ins in the order they were recorded, of one session or all."""
        query = select(checkins.c.session, checkins.c.branch, checkins.c.name, checkins.c.checked_in_at)
        if session is not None:
            query = query.where(checkins.c.session == session)
        with self._reading() as connection:
            return [Checkin(*row) for row in connection.execute(query.order_by(checkins.c.id))]

    def ping(self) -> None:
        """Raise StorageUnavailable unless the database answers."""
        with self._reading() as connection:
            connection.execute(text("SELECT 1"))

    def close(self) -> None:
        if self._checkpointer:
            self._checkpointer.stop()
        if self._group_writer is not None:
            self._group_writer.close()
        self.engine.dispose()


def _checkin_values(session: str, branch: str, name: str, at: datetime | None) -> dict[str, object]:
    if at is not None and at.utcoffset() is None:
        raise ValueError("record_checkin needs an aware datetime")
    return {"session": session, "branch": branch, "name": name, "checked_in_at": at or datetime.now(timezone.utc)}


def _is_fault(error: DBAPIError) -> bool:
    """A fault of the database or its disk, not of Kite's SQL or of the data given."""
    # Operational: disk full, read-only, I/O error, server down or shutting down, lock timeout.
    # Interface: the connection is gone.  Internal: e.g. a read-only PostgreSQL standby.
    # A bare DatabaseError: SQLite's "not a database" or "malformed" file.
    return isinstance(error, (OperationalError, InterfaceError, InternalError)) or type(error) is DatabaseError


@contextlib.contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    try:
        yield
    except PoolTimeout as error:
        raise StorageUnavailable("PoolTimeout") from error
    except DBAPIError as error:
        if not _is_fault(error):
            raise  # a bug, which must show as one
        raise StorageUnavailable(type(error.orig).__name__) from error
