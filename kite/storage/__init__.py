"""Kite's database: one storage layer for SQLite and PostgreSQL.

``open_store`` connects, creates or upgrades the schema, and returns the ``Store``
whose methods are the only way the rest of Kite reads or writes data.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import DBAPIError

from .database import Checkpointer, create, database_url, describe, is_sqlite
from .errors import StorageError, StorageUnavailable
from .migrate import upgrade
from .live import LiveStore
from .store import Checkin, Store
from .submissions import Submissions

__all__ = ["Checkin", "LiveStore", "Store", "StorageError", "StorageUnavailable", "Submissions", "database_url", "describe", "is_sqlite",
           "open_store"]


def open_store(db: str | Path, *, background_checkpoints: bool = False) -> Store:
    """Open the database that ``db`` (a file path or a URL) names, at this Kite's schema.

    Raises StorageError for a database that must not be used (a newer Kite's, not
    Kite's, or unreachable), with nothing written to it.
    """
    url = database_url(db)
    engine = create(url, autocheckpoint=not background_checkpoints)
    try:
        upgrade(engine)
    except DBAPIError as error:
        engine.dispose()
        reason = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else type(error.orig).__name__
        raise StorageError(f"无法打开数据库 {describe(url)}：{reason}") from error
    except BaseException:
        engine.dispose()
        raise
    checkpointer = Checkpointer(url.database) if background_checkpoints and is_sqlite(url) else None
    return Store(engine, checkpointer=checkpointer)
