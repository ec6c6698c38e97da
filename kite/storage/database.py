"""Which database ``--db`` names, and how Kite connects to it.

A plain path (or ``sqlite:///PATH``) is a SQLite file; ``postgresql://…`` is a
PostgreSQL database that several ``attend`` processes may share.  Connection
settings that make writes durable and faults quick to notice live here.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import StorageError

BUSY_TIMEOUT_MS = 5000
CHECKPOINT_SECONDS = 2.0
POSTGRES_SCHEMES = ("postgresql", "postgres")


def database_url(value: str | Path) -> URL:
    """The URL for a ``--db`` value: a file path or a database URL."""
    text = str(value)
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text)))
    try:
        url = make_url(text)
    except ArgumentError:
        raise StorageError(f"看不懂这个数据库地址：{_without_password(text)}") from None
    backend = url.get_backend_name()
    if backend in POSTGRES_SCHEMES:
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and url.database:
        return url.set(drivername="sqlite")
    raise StorageError(f"不支持这种数据库地址：{describe(url)}。请写 SQLite 文件路径，或 postgresql:// 地址。")


def _without_password(text: str) -> str:
    head, _, tail = text.rpartition("@")
    if not head:
        return text
    scheme, _, credentials = head.partition("://")
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{tail}"


def describe(url: URL) -> str:
    """The URL to show people: never the password."""
    if url.get_backend_name() == "sqlite":
        return url.database or ""
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def create(url: URL, *, autocheckpoint: bool = True) -> Engine:
    """An engine with Kite's settings for the backend.

    ``hide_parameters``: database errors are logged, and their parameters are members' names.
    """
    if is_sqlite(url):
        return _sqlite_engine(url, autocheckpoint)
    return create_engine(
        url,
        hide_parameters=True,
        pool_size=8,
        max_overflow=8,
        pool_timeout=5,
        # A connection that died with a server restart is replaced before it is used,
        # so the first check-in after a restart is stored instead of failing.
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": 5,
            "application_name": "kite",
            # A request never waits long on a stuck server: it answers 503 instead.
            "options": "-c statement_timeout=10s -c lock_timeout=5s",
        },
    )


def _sqlite_engine(url: URL, autocheckpoint: bool) -> Engine:
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, hide_parameters=True, pool_size=4, max_overflow=0, pool_timeout=10)

    @event.listens_for(engine, "connect")
    def configure(dbapi_connection: sqlite3.Connection, record) -> None:
        configure_sqlite(dbapi_connection, autocheckpoint)

    @event.listens_for(engine, "begin")
    def begin(connection) -> None:
        # A writer takes the write lock at BEGIN, so two writers never deadlock halfway
        # through; readers start a plain (deferred) snapshot.
        immediate = connection.get_execution_options().get("kite_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def configure_sqlite(connection: sqlite3.Connection, autocheckpoint: bool) -> None:
    """Settings every SQLite connection of Kite's has."""
    # Kite, not the sqlite3 module, decides when a transaction begins: SQLAlchemy's
    # "begin" hook below, or a single statement in autocommit.
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # With WAL, a commit returns only after the log is on disk: answered means kept,
    # through kill -9 and power loss alike.
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA foreign_keys = ON")
    if not autocheckpoint:
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
    cursor.close()


class Checkpointer:
    """Copies SQLite's write-ahead log into the database file on a thread of its own.

    Otherwise whichever check-in happens to fill the log does the copying (and its
    fsync) inside its request: a steadier p99 this way.
    """

    def __init__(self, path: str):
        self.path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA synchronous = FULL")
        while not self._stop.wait(CHECKPOINT_SECONDS):
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error:
                continue  # disk full or read-only for now: the next round tries again
        connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=CHECKPOINT_SECONDS + 1)
