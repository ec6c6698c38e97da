"""A report or suggestion the database cannot take: 503 with Retry-After, never a false success,
and recovery without a restart.  Real faults, as in test_storage_faults.py: the database files
made immutable (root, as CI runs), and the test PostgreSQL stopped and started again."""

from __future__ import annotations

import os
import subprocess

import pytest
from starlette.testclient import TestClient

from kite.attendance.sessions import RosterSource
from kite.attendance.web import create_app
from kite.desk.scope import Scope
from kite.storage import Submissions, open_store

JSON = {"Accept": "application/json"}
REPORT = {"name": "王建军", "branch": "鼓韵堂党支部", "text": "本季度参加党课三次，在工地带头落实安全生产责任。"}
SUGGESTION = {"branch": "栖息栈党支部", "category": "其他", "text": "希望工地宿舍能装上热水器。", "contact": "13912345678"}
EVERYTHING = Scope("all", (), everything=True)


def app_for(hub, database: str):
    store = open_store(database)
    source = RosterSource(hub.config)
    return TestClient(create_app(store, lambda: source.roster), follow_redirects=False), store


def assert_not_saved(client: TestClient, what: str, path: str, fields: dict) -> None:
    answer = client.post(path, json=fields, headers=JSON)
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"].isdigit()
    assert f"这份{what}没有保存" in answer.json()["error"]
    assert "status" not in answer.json() and "ref" not in answer.json()
    page = client.post(path, data=fields)
    assert page.status_code == 503 and page.headers["retry-after"].isdigit()
    assert page.headers["content-type"].startswith("text/html")
    assert f"<h1>{what}没有保存</h1>" in page.text and "已收到" not in page.text


def send_both(client: TestClient) -> None:
    assert client.post("/report", json=REPORT, headers=JSON).status_code == 201
    assert client.post("/suggestion", json=SUGGESTION, headers=JSON).status_code == 201


def test_a_read_only_database_answers_503_and_recovers(hub, tmp_path, caplog):
    if os.geteuid() != 0:
        pytest.fail("这个故障测试需要 root（chattr）：请像 CI 一样以 root 运行 make test")
    database = tmp_path / "attendance.sqlite3"
    client, store = app_for(hub, str(database))
    files = [str(database), f"{database}-wal"]
    with client:
        subprocess.run(["chattr", "+i", *files], check=True)
        try:
            assert_not_saved(client, "汇报", "/report", REPORT)
            assert_not_saved(client, "建议", "/suggestion", SUGGESTION)
            assert "503" in caplog.text
            for private in ("王建军", "13912345678", "热水器"):
                assert private not in caplog.text
        finally:
            subprocess.run(["chattr", "-i", *files], check=True)
        send_both(client)
    submissions = Submissions(store)
    assert len(submissions.reports(EVERYTHING)) == 1 and len(submissions.suggestions(EVERYTHING)) == 1
    store.close()


def test_postgresql_down_answers_503_and_recovers(hub, postgres, postgres_url):
    client, store = app_for(hub, postgres_url)
    with client:
        postgres.stop()
        try:
            assert_not_saved(client, "汇报", "/report", REPORT)
            assert_not_saved(client, "建议", "/suggestion", SUGGESTION)
            lookup = client.get("/suggestion/K7Q2-M9XD-4R", headers=JSON)
            assert lookup.status_code == 503 and lookup.headers["retry-after"].isdigit()
            page = client.get("/suggestion/K7Q2-M9XD-4R")
            assert page.status_code == 503 and "<h1>暂时查不到</h1>" in page.text
        finally:
            postgres.start()
        send_both(client)
    submissions = Submissions(store)
    assert len(submissions.reports(EVERYTHING)) == 1 and len(submissions.suggestions(EVERYTHING)) == 1
    store.close()
