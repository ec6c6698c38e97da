"""SQLite's check-in insert with group commit: one transaction, one fsync, for every check-in waiting.

With ``synchronous=FULL`` each commit waits for the disk (fdatasync of the WAL), a few
hundred microseconds on an idle SSD and several milliseconds on a busy shared one.  Paying
it once per check-in, on the event loop as Kite 0.2 did, stalled every other request for the
length of each fsync: that, measured with ``bench/checkin_load.py`` and py-spy, was the tail.

So one thread owns the insert.  It takes the check-ins waiting at that moment, runs each
one's ``INSERT … ON CONFLICT DO NOTHING`` in a single ``BEGIN IMMEDIATE`` transaction
(each row's own outcome, new or already there, comes from its own statement, so a
duplicate inside one batch is seen as one), commits, and only then answers them all.
While it waits for the disk the next check-ins gather; under load a batch holds dozens.
A fault of the database or its disk fails that batch's check-ins only (StorageUnavailable:
the contract's 503); the connection is reopened for the next batch, so recovery needs no
restart.

The writer also copies the WAL into the database itself, every ``CHECKPOINT_ROWS`` check-ins,
after answering a batch and before taking the next (the next one only grows meanwhile).
Measured: with the checkpoints left to the store's background thread, a checkpoint under
steady load never caught up with the writer, so SQLite could never start the WAL over, and
it grew by about 7 MB a second (59 MB after 8 s); SQLite's own autocheckpoint keeps it at
4 MB but runs inside a COMMIT, so that batch's answers wait for the copying.

The statement is still SQLAlchemy's, compiled once from the schema, its values
converted by the columns' own types; only its execution is the driver's.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections import deque
from concurrent.futures import Future
from typing import Any, Mapping, Union

from sqlalchemy import Engine, Table
from sqlalchemy.sql.dml import Insert

from .database import configure_sqlite
from .errors import StorageUnavailable

# A batch this large already spreads one fsync thin; a longer one only delays its first answer.
MAX_BATCH = 500
# Check-ins between the writer's own checkpoints: a WAL of a few MB, reused from its start after each.
CHECKPOINT_ROWS = 1000

Waiter = Union[Future, tuple[asyncio.AbstractEventLoop, asyncio.Future]]


class GroupCommitWriter:
    """The check-in insert on a thread of its own, committing whatever is waiting as one transaction."""

    def __init__(self, engine: Engine, table: Table, statement: Insert, *, write_lock: contextlib.AbstractContextManager):
        compiled = statement.compile(dialect=engine.dialect)
        self._sql = str(compiled)
        # Each parameter in order, with its column type's conversion (None: taken as it is).
        self._parameters = [(name, table.c[name].type.bind_processor(engine.dialect)) for name in compiled.positiontup]
        self._path = engine.url.database
        self._since_checkpoint = 0
        # The store's lock for writes in this process: its other writes queue behind a batch
        # instead of polling SQLite's file lock.
        self._write_lock = write_lock
        self._connection: sqlite3.Connection | None = None
        self._waiting: deque[tuple[list[Any], Waiter]] = deque()
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="kite-group-commit", daemon=True)
        self._thread.start()

    def insert(self, values: Mapping[str, Any]) -> bool:
        """Store one row and wait until it is on disk; True if it is new."""
        future: Future = Future()
        self._enqueue(values, future)
        return future.result()

    async def insert_async(self, values: Mapping[str, Any]) -> bool:
        """The same, awaited: the event loop goes on serving while the batch commits."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._enqueue(values, (loop, future))
        return await future

    def _enqueue(self, values: Mapping[str, Any], waiter: Waiter) -> None:
        parameters = [convert(values[name]) if convert else values[name] for name, convert in self._parameters]
        with self._wake:
            if self._closed:
                raise StorageUnavailable("closed")
            self._waiting.append((parameters, waiter))
            self._wake.notify()

    def close(self) -> None:
        """Commit what is still waiting, then stop the thread and close the connection."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join()
        self._disconnect()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._waiting and not self._closed:
                    self._wake.wait()
                if not self._waiting:
                    return
                batch = [self._waiting.popleft() for _ in range(min(len(self._waiting), MAX_BATCH))]
            try:
                outcomes = self._commit([parameters for parameters, _ in batch])
            except Exception as error:  # a bug: it must show (as a 500) to this batch, and the writer go on
                outcomes = [error] * len(batch)
            _answer(batch, outcomes)
            if self._since_checkpoint >= CHECKPOINT_ROWS:
                self._checkpoint()

    def _commit(self, rows: list[list[Any]]) -> list[Union[bool, BaseException]]:
        """Each row's outcome (True: new, False: already there, or its own error), after COMMIT returned."""
        outcomes: list[Union[bool, BaseException]] = []
        with self._write_lock:
            try:
                connection = self._connect()
                connection.execute("BEGIN IMMEDIATE")
                for parameters in rows:
                    try:
                        outcomes.append(connection.execute(self._sql, parameters).rowcount == 1)
                    except (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError) as error:
                        # That row's own fault (a bug, never a repeat: a repeat is a no-op of the
                        # insert).  SQLite undid only that statement; the others go on.
                        outcomes.append(error)
                connection.execute("COMMIT")
                self._since_checkpoint += len(rows)
            except sqlite3.Error as error:
                # A connection that met a full disk or a read-only file may stay read-only or
                # half-broken; closing it also rolls back what this batch had written.
                self._disconnect()
                return [_fault(error) for _ in rows]
        return outcomes

    def _checkpoint(self) -> None:
        # PASSIVE: never waits for readers (the desk's pages); what they still use is copied next time.
        self._since_checkpoint = 0
        with contextlib.suppress(sqlite3.Error):  # a full disk, say: the batches answer for it
            self._connect().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = sqlite3.connect(self._path, check_same_thread=False)
            configure_sqlite(self._connection, autocheckpoint=False)  # see _checkpoint
        return self._connection

    def _disconnect(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with contextlib.suppress(sqlite3.Error):
                connection.close()


def _fault(error: sqlite3.Error) -> BaseException:
    """What a failed batch's check-ins are told: StorageUnavailable for a fault of the database or disk."""
    if isinstance(error, sqlite3.OperationalError) or type(error) is sqlite3.DatabaseError:
        unavailable = StorageUnavailable(type(error).__name__)
        unavailable.__cause__ = error
        return unavailable
    return error  # a bug, which must show as one


def _answer(batch: list[tuple[list[Any], Waiter]], outcomes: list[Union[bool, BaseException]]) -> None:
    # One wake-up per event loop for the whole batch, not one per check-in.
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Union[bool, BaseException]]]] = {}
    for (_, waiter), outcome in zip(batch, outcomes):
        if isinstance(waiter, Future):
            _settle(waiter, outcome)
        else:
            loop, future = waiter
            by_loop.setdefault(loop, []).append((future, outcome))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting any more
            loop.call_soon_threadsafe(_settle_all, settled)


def _settle_all(settled: list[tuple[asyncio.Future, Union[bool, BaseException]]]) -> None:
    for future, outcome in settled:
        if not future.done():  # cancelled: the member hung up; the row is stored all the same
            _settle(future, outcome)


def _settle(future: Union[Future, asyncio.Future], outcome: Union[bool, BaseException]) -> None:
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
