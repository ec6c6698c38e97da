"""Schema versions: today's databases upgrade in place, newer or foreign ones are refused untouched."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from attend_process import AttendProcess
from helpers import REPO
from kite.storage import database_url, open_store
from kite.storage.migrate import head
from kite.storage.schema import metadata

OLD_DATABASE = Path(__file__).parent / "data" / "attendance-0.1.0.sqlite3"
OLD_ROWS = [
    ("lessons/抓牢引线放风筝", "鼓韵堂党支部", "王建军", datetime(2026, 3, 1, 11, 30, tzinfo=timezone.utc)),
    ("lessons/抓牢引线放风筝", "鼓韵堂党支部", "李秀英", datetime(2026, 3, 1, 11, 31, 7, tzinfo=timezone.utc)),
    ("lessons/抓牢引线放风筝", "栖息栈党支部", "王建军", datetime(2026, 3, 1, 11, 32, tzinfo=timezone.utc)),
    ("lessons/工资支付心里有数", "栖息栈党支部", "陈国华", datetime(2026, 3, 4, 13, 30, tzinfo=timezone.utc)),
    ("announcements/冬夜学习会", "鼓韵堂党支部", "张海涛", datetime(2026, 12, 5, 11, 25, 3, tzinfo=timezone.utc)),
    ("announcements/冬夜学习会", "鼓韵堂党支部", '=HYPERLINK("x")', datetime(2026, 12, 5, 11, 26, tzinfo=timezone.utc)),
    ("announcements/冬夜学习会", "栖息栈党支部", "阿依古丽·买买提", datetime(2026, 12, 5, 11, 40, 59, tzinfo=timezone.utc)),
]


def attend(config: Path, db: str) -> subprocess.CompletedProcess:
    """`attend` run to its end: for the databases it must refuse (it exits at once)."""
    return subprocess.run([sys.executable, str(REPO / "build.py"), "attend", "-f", str(config), "--db", db, "--port", "9"],
                          capture_output=True, text=True, timeout=60)


def folder_fingerprint(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


@pytest.fixture
def old_copy(tmp_path) -> Path:
    folder = tmp_path / "db"
    folder.mkdir()
    return Path(shutil.copy(OLD_DATABASE, folder / "attendance.sqlite3"))


def test_a_database_from_kite_0_1_0_upgrades_in_place_with_every_row(hub, old_copy):
    hub.lesson("抓牢引线放风筝", "title: 抓牢引线放风筝\ndate: 2026-03-01\nattendance: true")
    process = AttendProcess(hub.config, str(old_copy), env={"ATTENDANCE_EXPORT_TOKEN": "t"}).wait_until_serving()
    try:
        # The old unique rule still holds: an old row's person is a duplicate, a new person is new.
        repeat = httpx.post(process.url + "/checkin", headers={"Accept": "application/json"},
                            json={"session": "lessons/抓牢引线放风筝", "branch": "鼓韵堂党支部", "name": "李秀英"})
        assert repeat.status_code == 200
        new = httpx.post(process.url + "/checkin", headers={"Accept": "application/json"},
                         json={"session": "lessons/抓牢引线放风筝", "branch": "鼓韵堂党支部", "name": "周立新"})
        assert new.status_code == 201
        export = httpx.get(process.url + "/export.csv", headers={"Authorization": "Bearer t"})
        assert export.text.count("\r\n") == 1 + len(OLD_ROWS) + 1
    finally:
        process.stop()
    store = open_store(old_copy)
    rows = [(c.session, c.branch, c.name, c.checked_in_at) for c in store.checkins()]
    store.close()
    assert rows[:-1] == OLD_ROWS
    assert rows[-1][2] == "周立新"
    with sqlite3.connect(old_copy) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(head(),)]
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_an_upgraded_database_and_a_new_one_have_the_schema_the_code_describes(tmp_path, old_copy, postgres_url):
    new_file = tmp_path / "new.sqlite3"
    for db in (str(old_copy), str(new_file), postgres_url):
        open_store(db).close()
        engine = create_engine(database_url(db))
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
        engine.dispose()
        if db == str(old_copy):
            # What 0.1.0's CREATE TABLE said differently, with the same effect: its UNIQUE on
            # the same columns has no name, and its INTEGER PRIMARY KEY is reported as nullable
            # although, being the rowid, it never is.
            kinds = sorted(d[0][0] if isinstance(d, list) else d[0] for d in differences)
            assert kinds == ["add_constraint", "modify_nullable"], differences
        else:
            assert differences == [], db


def make_newer(db: str) -> None:
    """What a later Kite might leave: a version this one never heard of, and a table it adds."""
    open_store(db).close()
    engine = create_engine(database_url(db))
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
        connection.execute(text("CREATE TABLE desk_accounts (login TEXT PRIMARY KEY)"))
    engine.dispose()


def test_a_newer_sqlite_database_is_refused_and_left_byte_for_byte_untouched(hub, tmp_path):
    folder = tmp_path / "db"
    folder.mkdir()
    db = folder / "attendance.sqlite3"
    make_newer(str(db))
    before = folder_fingerprint(folder)
    result = attend(hub.config, str(db))
    assert result.returncode == 1
    assert "更新版本的 Kite" in result.stderr and "9999_from_the_future" in result.stderr
    assert "没有被改动" in result.stderr
    assert folder_fingerprint(folder) == before


def test_a_newer_postgresql_database_is_refused_and_left_untouched(hub, postgres, postgres_url):
    make_newer(postgres_url)
    database = postgres_url.rsplit("/", 1)[1]
    before = postgres.dump(database)
    result = attend(hub.config, postgres_url)
    assert result.returncode == 1
    assert "更新版本的 Kite" in result.stderr and "没有被改动" in result.stderr
    assert postgres.dump(database) == before


def test_a_database_of_another_program_is_refused_untouched(hub, tmp_path):
    db = tmp_path / "other.sqlite3"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
    before = db.read_bytes()
    result = attend(hub.config, str(db))
    assert result.returncode == 1
    assert "不像是 Kite 的签到数据库" in result.stderr and "invoices" in result.stderr
    assert db.read_bytes() == before


def test_a_file_that_is_not_a_database_is_refused_untouched(hub, tmp_path):
    db = tmp_path / "notes.txt"
    db.write_text("这不是数据库\n" * 100, encoding="utf-8")
    before = db.read_bytes()
    result = attend(hub.config, str(db))
    assert result.returncode == 1
    assert "无法打开数据库" in result.stderr
    assert db.read_bytes() == before


def test_an_unreachable_postgresql_is_a_clear_message_without_the_password(hub):
    with socket_nobody_listens_on() as port:
        result = attend(hub.config, f"postgresql://kite:hunter2@127.0.0.1:{port}/kite")
    assert result.returncode == 1
    assert "无法打开数据库 postgresql://kite:***@127.0.0.1" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_a_password_on_the_command_line_gets_a_warning(hub):
    with socket_nobody_listens_on() as port:
        result = attend(hub.config, f"postgresql://kite:hunter2@127.0.0.1:{port}/kite")
    assert "KITE_DB" in result.stderr and "ps" in result.stderr


@pytest.mark.parametrize("value", ["mysql://kite@localhost/kite", "sqlite://", "https://example.org/db"])
def test_unsupported_database_addresses_are_refused(hub, value):
    result = attend(hub.config, value)
    assert result.returncode == 1
    assert "不支持这种数据库地址" in result.stderr


class socket_nobody_listens_on:
    """A loopback port that is bound (so nothing else takes it) but never accepts."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()
