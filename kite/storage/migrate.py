"""Bringing a database to this Kite's schema, or refusing one it must not touch.

``attend`` calls ``upgrade`` on start.  Migrations are Alembic scripts shipped in
the package (``migrations/versions``); no ``alembic.ini`` is needed.  Before
anything is written, the database's version is read: a version this Kite does not
know was written by a newer Kite, and such a database is refused untouched.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect, text

from .database import describe
from .errors import StorageError

MIGRATIONS = "kite.storage:migrations"
# Serialises PostgreSQL migrations when several `attend` processes start at once.
MIGRATION_LOCK = 0x4B495445  # "KITE"
# Tables a Kite 0.1.0 database (from before migrations) has: it is adopted as it is.
LEGACY_TABLES = {"checkins"}
LEGACY_CHECKIN_COLUMNS = ["id", "session", "branch", "name", "checked_in_at"]


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return config


def head() -> str:
    """The schema version this Kite writes."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


def upgrade(engine: Engine) -> tuple[tuple[str, ...], str]:
    """Create or upgrade the schema; the versions before and after.

    Raises StorageError, with nothing written, for a newer Kite's database or one
    that is not Kite's.
    """
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    with engine.connect() as connection:
        before = current(connection)
        _refuse_unknown(connection, script, before, engine)
    if engine.dialect.name == "sqlite":
        _use_wal(engine)
    target = script.get_current_head()
    if before == (target,):
        return before, target
    with engine.execution_options(kite_write=True).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        # Another process may have migrated while this one waited for the lock.
        _refuse_unknown(connection, script, current(connection), engine)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return before, target


def _refuse_unknown(connection: Connection, script: ScriptDirectory, versions: tuple[str, ...], engine: Engine) -> None:
    where = describe(engine.url)
    for version in versions:
        try:
            script.get_revision(version)
        except CommandError:
            raise StorageError(
                f"数据库 {where} 是更新版本的 Kite 写入的（数据库结构版本 {version}），"
                f"这个版本的 Kite 只认识到 {script.get_current_head()}。请先升级 Kite 再启动；数据库没有被改动。"
            ) from None
    if versions:
        return
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" in tables and current(connection):
        # Another instance migrated between the two reads (seen in the tests, three instances
        # started at once): its versions are checked under the migration lock.
        return
    foreign = tables - LEGACY_TABLES
    if foreign:
        raise StorageError(
            f"数据库 {where} 里已经有别的表（{'、'.join(sorted(foreign))}），不像是 Kite 的签到数据库。"
            "请换一个新的数据库文件或数据库；这个数据库没有被改动。"
        )
    if "checkins" in tables:
        columns = [column["name"] for column in inspect(connection).get_columns("checkins")]
        if columns != LEGACY_CHECKIN_COLUMNS:
            raise StorageError(
                f"数据库 {where} 里的 checkins 表不是 Kite 的格式（列：{', '.join(columns)}）。这个数据库没有被改动。"
            )


def _use_wal(engine: Engine) -> None:
    # The journal mode is kept in the file; it cannot change inside a transaction,
    # so it is set on a raw connection outside SQLAlchemy's BEGIN.
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA journal_mode = WAL").fetchone()
    finally:
        raw.close()
