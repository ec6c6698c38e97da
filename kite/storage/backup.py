"""A consistent copy of a SQLite database, taken while the endpoint keeps writing.

SQLite's online backup API copies a snapshot of committed data, WAL included;
copying the file with ``cp`` would miss what is still in the log, or catch a page
half-written.  PostgreSQL has ``pg_dump`` for the same job.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from .database import BUSY_TIMEOUT_MS
from .errors import StorageError


def backup_sqlite(database: Path, out: Path) -> int:
    """Write a checked copy of ``database`` to ``out`` (replacing it whole); the number of check-ins in it."""
    if not database.is_file():
        raise StorageError(f"没有这个数据库文件：{database}")
    partial = out.with_name(f".{out.name}.partial")
    # mode=rw: a mistyped path must not become a new, empty database.
    source = sqlite3.connect(f"file:{quote(str(database.resolve()))}?mode=rw", uri=True)
    try:
        source.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        partial.unlink(missing_ok=True)
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
            if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise StorageError(f"备份文件没有通过完整性检查：{out}")
            has_checkins = copy.execute("SELECT count(*) FROM sqlite_master WHERE name = 'checkins'").fetchone()[0]
            count = copy.execute("SELECT count(*) FROM checkins").fetchone()[0] if has_checkins else 0
        finally:
            copy.close()
    except sqlite3.Error as error:
        partial.unlink(missing_ok=True)
        raise StorageError(f"无法备份 {database}：{error}") from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    _durably_replace(partial, out)
    return count


def _durably_replace(partial: Path, out: Path) -> None:
    # The copy is complete on disk before it takes the name, so a crash never leaves half a backup.
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, out)
    directory = os.open(out.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
