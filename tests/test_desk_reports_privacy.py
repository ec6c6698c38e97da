"""The deployment guide's SQL that deletes a member on request also removes them from the desk:
their roster rows (current or departed), the check-ins a secretary attached to them by hand, and
those matches; nobody else's.  Run exactly as written, with sqlite3 or psql, on both backends."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from kite.config import Points
from kite.desk.roster_file import RosterFile
from kite.desk.scope import Scope
from kite.storage import Submissions, open_store
from kite.storage.desk import DeskStore
from kite.storage.schema import checkins, members, record_links
from test_submissions_privacy import guide_sql, run_sql

GUYUN, QIXI = "鼓韵堂党支部", "栖息栈党支部"
EVERYTHING = Scope("all", (GUYUN, QIXI), everything=True)
NOW = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(database):
    opened = open_store(database)  # as the running endpoint holds it
    yield opened
    opened.close()


def ids(store, query) -> list:
    with store.reading() as connection:
        return sorted(connection.execute(query).all())


def test_forgetting_a_member_removes_their_roster_rows_and_hand_made_matches_and_nobody_elses(store, database, tmp_path):
    desk = DeskStore(store)
    desk.replace_roster(EVERYTHING, RosterFile({GUYUN: ("王建军", "李秀英"), QIXI: ("王建军",)}), NOW, actor="admin",
                        filename="名册.csv")
    for branch, name in ((GUYUN, "王建军"), (GUYUN, "王建君"), (GUYUN, "李秀英"), (GUYUN, "李秀音"), (QIXI, "王建军")):
        store.record_checkin("lessons/a", branch, name, NOW)
    Submissions(store).record_report(GUYUN, "王建军", "2026Q4", "本季度参加党课三次，带头落实安全生产。", NOW)
    by_name = dict(ids(store, select(checkins.c.name, checkins.c.id).where(checkins.c.branch == GUYUN)))
    member_ids = dict(ids(store, select(members.c.name, members.c.id).where(members.c.branch == GUYUN)))
    # 王建君 is 王建军 misspelt; 李秀音 is 李秀英: attached by hand to each.
    desk.attach_checkins(EVERYTHING, [by_name["王建君"]], member_ids["王建军"], NOW, actor="admin")
    desk.attach_checkins(EVERYTHING, [by_name["李秀音"]], member_ids["李秀英"], NOW, actor="admin")
    # A check-in typed as 王建军 that a secretary attached to 李秀英: its match must not dangle.
    store.record_checkin("lessons/b", GUYUN, "王建军", NOW)
    stray = max(ids(store, select(checkins.c.id)))[0]
    desk.attach_checkins(EVERYTHING, [stray], member_ids["李秀英"], NOW, actor="admin")

    assert run_sql(database, guide_sql("find-member"), tmp_path).split() == [
        "checkins|2", "reports|1", "suggestions|0", "members|1", "record_links|1"]
    run_sql(database, guide_sql("forget-member"), tmp_path)

    assert ids(store, select(members.c.branch, members.c.name)) == [(QIXI, "王建军"), (GUYUN, "李秀英")]
    assert ids(store, select(checkins.c.branch, checkins.c.name)) == [(QIXI, "王建军"), (GUYUN, "李秀英"), (GUYUN, "李秀音")]
    assert ids(store, select(record_links.c.record_id)) == [(by_name["李秀音"],)]
    assert run_sql(database, guide_sql("find-member"), tmp_path).split() == [
        "checkins|0", "reports|0", "suggestions|0", "members|0", "record_links|0"]
    # The desk still works, and 李秀英's hand-made match still counts for her.
    table = desk.branch_view(EVERYTHING, GUYUN, 2026, ZoneInfo("Asia/Shanghai"), Points(), ()).table
    assert [(row.name, row.points) for row in table.rows] == [("李秀英", 1)]
