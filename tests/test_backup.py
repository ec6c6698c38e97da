"""`build.py backup`, and the restore drills of docs/deployment.md run step by step on both backends."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from attend_process import AttendProcess
from helpers import REPO

GOOD = {"session": "lessons/签到课", "branch": "鼓韵堂党支部"}
JSON = {"Accept": "application/json"}
TOKEN = {"ATTENDANCE_EXPORT_TOKEN": "drill-token"}


@pytest.fixture
def lesson_hub(hub):
    hub.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true")
    return hub


def backup(out: Path, db: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "build.py"), "backup", str(out), "--db", db],
                          capture_output=True, text=True, timeout=120)


def check_in(process: AttendProcess, name: str) -> int:
    return httpx.post(process.url + "/checkin", json={**GOOD, "name": name}, headers=JSON, timeout=10).status_code


def exported_names(process: AttendProcess) -> list[str]:
    response = httpx.get(process.url + "/export.csv", headers={"Authorization": "Bearer drill-token"}, timeout=10)
    assert response.status_code == 200
    return [line.rsplit(",", 1)[1] for line in response.content.decode("utf-8-sig").splitlines()[1:]]


def test_a_backup_taken_while_the_endpoint_writes_is_consistent_and_complete(lesson_hub, tmp_path):
    db = tmp_path / "attendance.sqlite3"
    process = AttendProcess(lesson_hub.config, str(db)).wait_until_serving()
    acknowledged: list[str] = []
    stop = threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(base_url=process.url, timeout=10) as client:
            n = 0
            while not stop.is_set():
                name = f"党员{worker}-{n}"
                if client.post("/checkin", json={**GOOD, "name": name}, headers=JSON).status_code == 201:
                    acknowledged.append(name)
                n += 1

    threads = [threading.Thread(target=load, args=(worker,)) for worker in range(4)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        before = list(acknowledged)
        result = backup(tmp_path / "backup.sqlite3", str(db))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        process.stop()
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "backup.sqlite3") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = {row[0] for row in copy.execute("SELECT name FROM checkins")}
    assert set(before) <= names  # everything answered before the backup began is in it
    assert f"{len(names)} 条签到" in result.stdout
    assert not list(tmp_path.glob(".backup.sqlite3.partial*"))


def test_backup_of_a_postgresql_url_points_to_pg_dump(tmp_path):
    result = backup(tmp_path / "out.dump", "postgresql://kite:hunter2@db.internal/kite")
    assert result.returncode == 2
    assert "pg_dump" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert not (tmp_path / "out.dump").exists()


def test_backup_of_a_missing_file_creates_no_database(tmp_path):
    result = backup(tmp_path / "out.sqlite3", str(tmp_path / "typo.sqlite3"))
    assert result.returncode == 1
    assert "没有这个数据库文件" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_restore_drill_sqlite(lesson_hub, tmp_path):
    """docs/deployment.md, 恢复演练 SQLite: stop, set the files aside together, restore, check, start, verify."""
    data = tmp_path / "var-lib-kite"
    db = data / "attendance.sqlite3"
    process = AttendProcess(lesson_hub.config, str(db), env=TOKEN).wait_until_serving()
    for name in ("王建军", "李秀英", "陈国华"):
        assert check_in(process, name) == 201
    assert backup(tmp_path / "attendance-2026-12-05.sqlite3", str(db)).returncode == 0
    assert check_in(process, "张海涛") == 201  # after the backup: lost by the restore, as the guide warns
    process.stop()

    broken = data / "broken-2026-12-05"
    broken.mkdir()
    for path in data.glob("attendance.sqlite3*"):
        shutil.move(path, broken / path.name)
    shutil.copy(tmp_path / "attendance-2026-12-05.sqlite3", db)
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    process = AttendProcess(lesson_hub.config, str(db), env=TOKEN).wait_until_serving()
    try:
        assert exported_names(process) == ["王建军", "李秀英", "陈国华"]
        assert check_in(process, "李秀英") == 200  # the restored rows still count as checked in
        assert check_in(process, "周立新") == 201
    finally:
        process.stop()


def test_restore_drill_postgresql(lesson_hub, tmp_path, postgres, postgres_url):
    """docs/deployment.md, 恢复演练 PostgreSQL: pg_dump, stop, set the database aside, restore into a new one, start, verify."""
    database = postgres_url.rsplit("/", 1)[1]
    process = AttendProcess(lesson_hub.config, postgres_url, env=TOKEN).wait_until_serving()
    for name in ("王建军", "李秀英", "陈国华"):
        assert check_in(process, name) == 201
    dump = tmp_path / "kite-2026-12-05.dump"
    subprocess.run([str(postgres.bin / "pg_dump"), "--format=custom", "--file", str(dump), postgres_url], check=True)
    assert check_in(process, "张海涛") == 201
    process.stop()

    postgres.rename_database(database, f"{database}_broken")
    postgres.create_database(database)
    subprocess.run([str(postgres.bin / "pg_restore"), "--no-owner", "--exit-on-error", "--dbname", postgres_url, str(dump)],
                   check=True, capture_output=True)

    process = AttendProcess(lesson_hub.config, postgres_url, env=TOKEN).wait_until_serving()
    try:
        assert exported_names(process) == ["王建军", "李秀英", "陈国华"]
        assert check_in(process, "李秀英") == 200
        assert check_in(process, "周立新") == 201  # the id sequence came back too: no clash with old rows
    finally:
        process.stop()
        postgres.drop_database(f"{database}_broken")
