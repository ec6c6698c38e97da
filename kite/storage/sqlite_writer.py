"""SQLite's check-in insert, run on a plain sqlite3 connection: the one statement that must be cheap.

Measured on this project's machine (``bench/checkin_load.py``, CPU per check-in):
executing this one-row insert through SQLAlchemy costs about as much again as SQLite's
own work, which showed as a third fewer check-ins per second than Kite 0.1.0.  So the
statement is still SQLAlchemy's, compiled once from the schema, its values converted by
the columns' own types; only its execution is the driver's.  One statement in autocommit:
it is committed, WAL synced, when ``execute`` returns.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Mapping

from sqlalchemy import Engine, Table
from sqlalchemy.sql.dml import Insert

from .database import configure_sqlite
from .errors import StorageUnavailable


class SqliteWriter:
    """One connection, used under the store's write lock; reopened after any error."""

    def __init__(self, engine: Engine, table: Table, statement: Insert, *, autocheckpoint: bool):
        compiled = statement.compile(dialect=engine.dialect)
        self._sql = str(compiled)
        # Each parameter in order, with its column type's conversion (None: taken as it is).
        self._parameters = [(name, table.c[name].type.bind_processor(engine.dialect)) for name in compiled.positiontup]
        self._path = engine.url.database
        self._autocheckpoint = autocheckpoint
        self._connection: sqlite3.Connection | None = None

    def execute(self, values: Mapping[str, Any]) -> int:
        """Run the statement once; the number of rows it changed."""
        parameters = [convert(values[name]) if convert else values[name] for name, convert in self._parameters]
        try:
            if self._connection is None:
                self._connection = sqlite3.connect(self._path, check_same_thread=False)
                configure_sqlite(self._connection, self._autocheckpoint)
            return self._connection.execute(self._sql, parameters).rowcount
        except sqlite3.Error as error:
            # A connection that met a full disk or a read-only file may stay read-only or
            # half-broken: the next write opens a new one, so recovery needs no restart.
            self.close()
            if isinstance(error, sqlite3.OperationalError) or type(error) is sqlite3.DatabaseError:
                raise StorageUnavailable(type(error).__name__) from error
            raise

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()
