"""The desk's storage on SQLite and PostgreSQL: scope in every query, the counted 三个一 table
against the plain one, sessions and the login throttle across instances, and the upgrade."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select

from kite.config import Points
from kite.desk.records import CheckinRecord, branch_table, session_kind
from kite.desk.roster_file import RosterFile
from kite.desk.scope import Scope
from kite.storage import database_url, open_store
from kite.storage.desk import DeskStore, OutOfScope
from kite.storage.migrate import alembic_config, head
from kite.storage.schema import checkins, members, record_links

SHANGHAI = ZoneInfo("Asia/Shanghai")
GUYUN, QIXI, PUDONG = "鼓韵堂党支部", "栖息栈党支部", "浦东项目部党支部"
EVERYTHING = Scope("all", (GUYUN, QIXI, PUDONG), everything=True)
COMMITTEE = Scope("驻宁流动党员联合党委", (GUYUN, QIXI))
ONE = Scope(GUYUN, (GUYUN,))
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
POINTS = Points(study=3, report=5, suggestion=7, review=11)


@pytest.fixture
def store(database):
    opened = open_store(database)
    yield opened
    opened.close()


@pytest.fixture
def desk(store):
    return DeskStore(store)


def roster(**branches: list[str]) -> RosterFile:
    names = {GUYUN: branches.get("guyun", []), QIXI: branches.get("qixi", []), PUDONG: branches.get("pudong", [])}
    return RosterFile({branch: tuple(found) for branch, found in names.items() if found})


def test_every_branch_query_keeps_to_the_scope(store, desk):
    desk.replace_roster(EVERYTHING, roster(guyun=["王建军"], qixi=["陈国华"], pudong=["周立新"]), NOW, actor="t", filename="f")
    for branch, name in ((GUYUN, "王建军"), (QIXI, "陈国华"), (PUDONG, "周立新")):
        store.record_checkin("lessons/a", branch, name, NOW)
    assert set(desk.members(ONE)) == {GUYUN}
    assert set(desk.members(COMMITTEE)) == {GUYUN, QIXI}
    assert set(desk.members(EVERYTHING)) == {GUYUN, QIXI, PUDONG}
    assert {record.branch for record in desk.checkins(COMMITTEE, None)} == {GUYUN, QIXI}
    assert [record.name for record in desk.checkins(ONE, "lessons/a")] == ["王建军"]
    for scope, branch in ((ONE, QIXI), (COMMITTEE, PUDONG), (EVERYTHING, "没有这个支部")):
        with pytest.raises(OutOfScope):
            desk.branch_view(scope, branch, 2026, SHANGHAI, POINTS, ())
    with pytest.raises(OutOfScope):
        desk.replace_roster(ONE, roster(qixi=["外人"]), NOW, actor="t", filename="f")
    with pytest.raises(OutOfScope):
        desk.audit(COMMITTEE)
    assert [summary.branch for summary in desk.overview(COMMITTEE, NOW, SHANGHAI).branches] == [GUYUN, QIXI]
    assert desk.branches(EVERYTHING) == [GUYUN, QIXI, PUDONG]


def test_all_also_sees_a_branch_that_left_the_config(store, desk):
    store.record_checkin("lessons/a", "改名前的支部", "王建军", NOW)
    assert desk.branches(EVERYTHING)[-1] == "改名前的支部"
    assert "改名前的支部" not in desk.branches(COMMITTEE)
    view = desk.branch_view(EVERYTHING, "改名前的支部", 2026, SHANGHAI, POINTS, ())
    assert view.unmatched_total == 1


def raw_records(store, branch: str, reviews) -> list[CheckinRecord]:
    """Every check-in of ``branch`` one by one, with the member a secretary attached it to."""
    query = (select(checkins.c.id, checkins.c.session, checkins.c.name, checkins.c.checked_in_at, members.c.name)
             .select_from(checkins)
             .outerjoin(record_links, record_links.c.record_id == checkins.c.id)
             .outerjoin(members, members.c.id == record_links.c.member_id)
             .where(checkins.c.branch == branch))
    with store.reading() as connection:
        return [CheckinRecord(session, branch, name, at, session_kind(session, reviews), member=member, id=record_id)
                for record_id, session, name, at, member in connection.execute(query)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_counted_table_is_the_table_of_every_record(store, desk, seed):
    """Counting in the database a name at a time gives exactly what the records one by one give."""
    rng = random.Random(seed)
    people = ["王建军", "李秀英", "张三", "陈国华", "阿依古丽·买买提", "O'Brien", "赵六", "孙红"]
    desk.replace_roster(EVERYTHING, roster(guyun=people[:6], qixi=["陈国华"]), NOW, actor="t", filename="f")
    # Later: two leave, one joins.
    desk.replace_roster(EVERYTHING, roster(guyun=people[:4] + ["周立新"]), NOW, actor="t", filename="f")
    variants = {"王建军": ["王 建军", "王建军 "], "张三": ["张　三", "ＺＨＡＮＧ"], "李秀英": ["李秀英"]}
    sessions = [f"lessons/l{n}" for n in range(25)] + [f"announcements/a{n}" for n in range(6)]
    reviews = {"announcements/a0", "announcements/a1"}
    start = datetime(2025, 9, 30, 15, 30, tzinfo=timezone.utc)  # just before October in Shanghai
    for _ in range(700):
        who = rng.choice(people + ["王建君", "路人甲", "周立新"])
        name = rng.choice(variants.get(who, [who]) + [who])
        at = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 450))
        store.record_checkin(rng.choice(sessions), rng.choice([GUYUN, GUYUN, GUYUN, QIXI]), name, at)
    # Secretaries attach a few unmatched records, some to members whose own name also checks in.
    view = desk.branch_view(EVERYTHING, GUYUN, 2026, SHANGHAI, POINTS, reviews)
    for first in range(0, 12, 3):
        chosen = [record.id for record in view.unmatched[first:first + 3]]
        desk.attach_checkins(EVERYTHING, chosen, rng.choice(view.members).id, NOW, actor="t")

    for year in (2025, 2026):
        view = desk.branch_view(EVERYTHING, GUYUN, year, SHANGHAI, POINTS, reviews)
        with store.reading() as connection:
            roster_rows = connection.execute(select(members.c.name, members.c.departed_at)
                                             .where(members.c.branch == GUYUN).order_by(members.c.position)).all()
        expected = branch_table(GUYUN, year, SHANGHAI, POINTS, [n for n, gone in roster_rows if gone is None],
                                checkins=raw_records(store, GUYUN, reviews),
                                departed=[n for n, gone in roster_rows if gone is not None])
        assert view.table.rows == expected.rows, year
        assert view.unmatched_total == len(expected.unmatched.checkins)
        assert {r.id for r in view.unmatched} == {r.id for r in expected.unmatched.checkins}
        assert [r.at for r in view.unmatched] == sorted((r.at for r in view.unmatched), reverse=True)
        assert any(row.points for row in view.table.rows)  # the comparison compared something


def test_a_new_roster_replaces_its_branches_and_a_departed_member_comes_back_as_the_same_one(store, desk):
    changes = desk.replace_roster(COMMITTEE, roster(guyun=["王建军", "李秀英"], qixi=["陈国华"]), NOW, actor="t", filename="f")
    assert [(c.branch, c.listed, c.added, c.departed) for c in changes] == [(GUYUN, 2, 2, 0), (QIXI, 1, 1, 0)]
    wang = desk.members(COMMITTEE)[GUYUN][0]
    changes = desk.replace_roster(COMMITTEE, roster(guyun=["李 秀英", "孙红"]), NOW, actor="t", filename="f")
    assert [(c.branch, c.listed, c.added, c.departed) for c in changes] == [(GUYUN, 2, 1, 1)]
    assert [m.name for m in desk.members(COMMITTEE)[GUYUN]] == ["李 秀英", "孙红"]  # the file's spelling and order
    assert [m.name for m in desk.members(COMMITTEE)[QIXI]] == ["陈国华"]  # not in the file: untouched
    changes = desk.replace_roster(COMMITTEE, roster(guyun=["王建军"]), NOW, actor="t", filename="f")
    assert [(c.listed, c.added, c.departed) for c in changes] == [(1, 1, 2)]
    assert desk.members(COMMITTEE)[GUYUN] == [wang]  # the same member, so hand-made matches stay his


def test_sessions_started_on_one_instance_are_known_to_another(database):
    first, second = open_store(database), open_store(database)
    try:
        account = DeskStore(first).add_account("zhang", "hash", "all", NOW)
        DeskStore(first).start_session(account.id, "a" * 64, "csrf-token", NOW)
        found = DeskStore(second).session("a" * 64, NOW + timedelta(hours=1))
        assert found is not None and found.account.login == "zhang" and found.csrf_token == "csrf-token"
        DeskStore(second).end_session("a" * 64)
        assert DeskStore(first).session("a" * 64, NOW + timedelta(hours=1)) is None
        DeskStore(first).start_session(account.id, "b" * 64, "t", NOW)
        assert DeskStore(second).session("b" * 64, NOW + timedelta(hours=8)) is None  # idle too long
    finally:
        first.close()
        second.close()


def test_the_login_throttle_holds_across_instances_under_concurrent_tries(database):
    """Forty wrong passwords at once, through two instances: exactly eleven are tried, then it is locked."""
    stores = [open_store(database), open_store(database)]
    try:
        results: list[bool] = []
        lock = threading.Lock()

        def attempt(number: int) -> None:
            allowed = DeskStore(stores[number % 2]).try_login("zhang", datetime.now(timezone.utc))
            with lock:
                results.append(allowed)

        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results.count(True) == 11
        assert DeskStore(stores[0]).try_login("other", datetime.now(timezone.utc)) is True
    finally:
        for opened in stores:
            opened.close()


def test_a_database_from_before_the_desk_upgrades_in_place(tmp_path, database):
    """A database at revision 0001 (today's main) gets the desk's tables; its check-ins stay."""
    engine = create_engine(database_url(database))
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(checkins.insert(), [{"session": "lessons/a", "branch": GUYUN, "name": "王建军",
                                                "checked_in_at": NOW}])
    engine.dispose()
    upgraded = open_store(database)
    try:
        assert [(c.session, c.name, c.checked_in_at) for c in upgraded.checkins()] == [("lessons/a", "王建军", NOW)]
        with upgraded.reading() as connection:
            tables = set(inspect(connection).get_table_names())
        assert {"accounts", "desk_sessions", "login_failures", "members", "record_links", "audit_log"} <= tables
        DeskStore(upgraded).add_account("zhang", "hash", "all", NOW)
    finally:
        upgraded.close()
    engine = create_engine(database_url(database))
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head()
    engine.dispose()
