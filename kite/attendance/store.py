"""The check-in database: its schema, and the only code that runs SQL.

SQLite in WAL mode with ``synchronous=FULL``: a commit returns only after the
write-ahead log is on disk, so a check-in that was answered survives ``kill -9``
and power loss alike.  Only what the contract names is stored, plus the time:
no IP addresses, no user agents.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkins (
    id INTEGER PRIMARY KEY,
    session TEXT NOT NULL,
    branch TEXT NOT NULL,
    name TEXT NOT NULL,
    checked_in_at TEXT NOT NULL,  -- UTC, ISO 8601
    UNIQUE (session, branch, name)
);
"""

BUSY_TIMEOUT_MS = 5000
CHECKPOINT_SECONDS = 2.0


@dataclass(frozen=True)
class Checkin:
    session: str
    branch: str
    name: str
    checked_in_at: datetime


class Store:
    """One connection to the check-in database, used from one thread."""

    def __init__(self, path: Path | str, *, background_checkpoints: bool = False):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: every statement is its own durable transaction.
        self.connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = FULL")
        self.connection.executescript(SCHEMA)
        self._stop = threading.Event()
        if background_checkpoints:
            # Copying the log into the database (and syncing it) happens on another thread,
            # instead of inside whichever check-in happens to fill the log: a steadier p99.
            self.connection.execute("PRAGMA wal_autocheckpoint = 0")
            threading.Thread(target=self._checkpoint, name="kite-checkpoint", daemon=True).start()

    def _checkpoint(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA synchronous = FULL")
        while not self._stop.wait(CHECKPOINT_SECONDS):
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error:
                continue  # the next round will try again
        connection.close()

    def record_checkin(self, session: str, branch: str, name: str, at: datetime | None = None) -> bool:
        """Store a check-in; True if it is new, False if this person had already checked in.

        One statement: a repeat is a no-op of the same insert, never a constraint error.
        """
        at = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
        cursor = self.connection.execute(
            "INSERT INTO checkins (session, branch, name, checked_in_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (session, branch, name) DO NOTHING",
            (session, branch, name, at.isoformat(timespec="seconds")),
        )
        return cursor.rowcount == 1

    def checkins(self, session: str | None = None) -> Iterator[Checkin]:
        """Check-ins in the order they were recorded, of one session or all."""
        query = "SELECT session, branch, name, checked_in_at FROM checkins"
        parameters: tuple = ()
        if session is not None:
            query += " WHERE session = ?"
            parameters = (session,)
        for row in self.connection.execute(query + " ORDER BY id", parameters):
            yield Checkin(row[0], row[1], row[2], datetime.fromisoformat(row[3]))

    def count(self) -> int:
        return self.connection.execute("SELECT count(*) FROM checkins").fetchone()[0]

    def close(self) -> None:
        self._stop.set()
        self.connection.close()
