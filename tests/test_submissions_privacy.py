"""The deployment guide's SQL for keeping and deleting members' data, run exactly as written with
the command-line tools it names (sqlite3, psql), on a database the endpoint keeps open."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from helpers import REPO
from kite.desk.scope import Scope
from kite.storage import Submissions, is_sqlite, database_url, open_store

EVERYTHING = Scope("all", (), everything=True)
GUIDE = REPO / "docs/deployment.md"
TEXT = "本季度参加党课三次，在工地带头落实安全生产责任。"


def guide_sql(name: str) -> str:
    """The ```sql block the guide marks with <!-- tested: NAME -->."""
    found = re.search(rf"<!-- tested: {name} -->\n```sql\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert found, f"docs/deployment.md has no SQL marked {name}"
    return found[1]


def run_sql(database: str, sql: str, tmp_path: Path) -> str:
    """Run the guide's SQL as the guide says: from a file, with sqlite3 or psql."""
    script = tmp_path / "guide.sql"
    script.write_text(sql, encoding="utf-8")
    if is_sqlite(database_url(database)):
        command = ["sqlite3", "-cmd", ".timeout 5000", database]
        result = subprocess.run(command, stdin=script.open("rb"), capture_output=True, timeout=60)
    else:
        command = ["psql", database, "-v", "ON_ERROR_STOP=1", "-A", "-t", "-F", "|", "-f", str(script)]
        result = subprocess.run(command, capture_output=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr.decode()
    return result.stdout.decode()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def suggest(submissions: Submissions, branch: str, name: str | None, text: str, ref: str):
    submissions.record_suggestion(branch, "其他", text, name, "13912345678" if name else None,
                                  at("2026-11-01 08:00"), lambda: ref)


@pytest.fixture
def store(database):
    opened = open_store(database)  # as the running endpoint holds it
    yield opened
    opened.close()


def test_a_members_data_is_found_and_deleted_and_nobody_elses(store, database, tmp_path):
    submissions = Submissions(store)
    for branch, name in (("鼓韵堂党支部", "王建军"), ("鼓韵堂党支部", "王 建军"), ("栖息栈党支部", "王建军"), ("鼓韵堂党支部", "李秀英")):
        store.record_checkin("lessons/a", branch, name)
        submissions.record_report(branch, name, "2026Q4", TEXT, at("2026-11-01 08:00"))
    suggest(submissions, "鼓韵堂党支部", "王建军", "希望工地宿舍能装上热水器。", "AAAAAAAAAA")
    suggest(submissions, "鼓韵堂党支部", None, "匿名的一条建议内容。", "BBBBBBBBBB")
    suggest(submissions, "栖息栈党支部", "王建军", "另一个支部的王建军的建议。", "CCCCCCCCCC")
    suggest(submissions, "鼓韵堂党支部", "李秀英", "李秀英的一条建议内容。", "DDDDDDDDDD")

    counts = run_sql(database, guide_sql("find-member"), tmp_path)
    assert counts.split() == ["checkins|2", "reports|2", "suggestions|1"]

    run_sql(database, guide_sql("forget-member"), tmp_path)
    assert sorted((c.branch, c.name) for c in store.checkins()) == [
        ("栖息栈党支部", "王建军"), ("鼓韵堂党支部", "李秀英")]
    assert sorted((r.branch, r.name) for r in submissions.reports(EVERYTHING)) == [
        ("栖息栈党支部", "王建军"), ("鼓韵堂党支部", "李秀英")]
    assert sorted(s.ref for s in submissions.suggestions(EVERYTHING)) == ["BBBBBBBBBB", "CCCCCCCCCC", "DDDDDDDDDD"]
    assert run_sql(database, guide_sql("find-member"), tmp_path).split() == ["checkins|0", "reports|0", "suggestions|0"]


def test_the_retention_sql_keeps_what_the_guide_says(store, database, tmp_path):
    submissions = Submissions(store)
    for quarter in ("2025Q3", "2025Q4", "2026Q1", "2026Q4"):
        submissions.record_report("鼓韵堂党支部", f"党员{quarter}", quarter, TEXT, at("2026-01-01 00:00"))
    replies = {"AAAAAAAAAA": "2024-12-31 23:00", "BBBBBBBBBB": "2026-09-30 12:00", "CCCCCCCCCC": "2026-10-02 12:00",
               "DDDDDDDDDD": None}
    for n, (ref, replied) in enumerate(replies.items()):
        suggest(submissions, "鼓韵堂党支部", "王建军", f"第{n}条建议的内容。", ref)
        if replied:
            (suggestion,) = [s for s in submissions.suggestions(EVERYTHING) if s.ref == ref]
            submissions.answer(EVERYTHING, suggestion.id, status="answered", reply="好", by="guyun", at=at(replied))

    run_sql(database, guide_sql("retention"), tmp_path)
    assert sorted(r.quarter for r in submissions.reports(EVERYTHING)) == ["2026Q1", "2026Q4"]
    kept = {s.ref: s.contact for s in submissions.suggestions(EVERYTHING)}
    # Answered over two years ago: gone.  Answered over 90 days ago: no contact.  Newer or open: as they were.
    assert kept == {"BBBBBBBBBB": None, "CCCCCCCCCC": "13912345678", "DDDDDDDDDD": "13912345678"}
