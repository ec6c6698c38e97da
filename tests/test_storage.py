"""The store's functions, the same on SQLite and PostgreSQL, and the --db addresses it accepts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from kite.storage import StorageError, database_url, describe, open_store


@pytest.fixture
def store(database):
    opened = open_store(database)
    yield opened
    opened.close()


def test_a_check_in_is_new_once_and_a_duplicate_after(store):
    assert store.record_checkin("lessons/a", "鼓韵堂党支部", "王建军") is True
    assert store.record_checkin("lessons/a", "鼓韵堂党支部", "王建军") is False
    assert store.record_checkin("lessons/a", "栖息栈党支部", "王建军") is True
    assert store.record_checkin("lessons/b", "鼓韵堂党支部", "王建军") is True
    assert [(c.session, c.branch) for c in store.checkins()] == [
        ("lessons/a", "鼓韵堂党支部"), ("lessons/a", "栖息栈党支部"), ("lessons/b", "鼓韵堂党支部")]
    assert [c.branch for c in store.checkins("lessons/a")] == ["鼓韵堂党支部", "栖息栈党支部"]
    assert store.checkins("lessons/none") == []


def test_times_go_in_aware_and_come_back_as_the_same_instant_in_utc(store):
    evening = datetime(2026, 12, 5, 19, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    store.record_checkin("announcements/x", "鼓韵堂党支部", "李秀英", evening)
    store.record_checkin("announcements/x", "鼓韵堂党支部", "陈国华", evening + timedelta(seconds=1))
    first, second = store.checkins()
    assert first.checked_in_at == evening
    assert first.checked_in_at.tzinfo == timezone.utc
    assert first.checked_in_at.isoformat() == "2026-12-05T11:30:15.123456+00:00"
    assert second.checked_in_at - first.checked_in_at == timedelta(seconds=1)


def test_without_a_time_the_check_in_is_stamped_now(store):
    before = datetime.now(timezone.utc)
    store.record_checkin("lessons/a", "鼓韵堂党支部", "王建军")
    (checkin,) = store.checkins()
    assert before <= checkin.checked_in_at <= datetime.now(timezone.utc)


def test_a_naive_time_is_refused_rather_than_guessed(store):
    with pytest.raises(ValueError, match="aware datetime"):
        store.record_checkin("lessons/a", "鼓韵堂党支部", "王建军", datetime(2026, 12, 5, 19, 30))
    assert store.checkins() == []


def test_names_are_stored_exactly(store):
    names = ["阿依古丽·买买提", "王 建军", "O'Brien", '=HYPERLINK("x")', "李" * 40, "🙂"]
    for name in names:
        assert store.record_checkin("lessons/a", "鼓韵堂党支部", name)
    assert [c.name for c in store.checkins()] == names


@pytest.mark.parametrize("value, backend, shown", [
    ("attendance.sqlite3", "sqlite", "attendance.sqlite3"),
    ("/var/lib/kite/签到.sqlite3", "sqlite", "/var/lib/kite/签到.sqlite3"),
    ("sqlite:////var/lib/kite/a.sqlite3", "sqlite", "/var/lib/kite/a.sqlite3"),
    ("postgresql://kite:pa%40ss@db.internal:5433/kite", "postgresql", "postgresql://kite:***@db.internal:5433/kite"),
    ("postgres://kite@localhost/kite", "postgresql", "postgresql://kite@localhost/kite"),
    ("postgresql+psycopg://kite@/kite?host=/run/postgresql", "postgresql", "postgresql://kite@/kite?host=%2Frun%2Fpostgresql"),
])
def test_database_addresses(value, backend, shown):
    url = database_url(value)
    assert url.get_backend_name() == backend
    assert describe(url) == shown
    if backend == "postgresql":
        assert url.drivername == "postgresql+psycopg"


@pytest.mark.parametrize("value", ["mysql://kite@localhost/kite", "sqlite://", "redis://localhost"])
def test_unsupported_addresses_say_what_is_supported(value):
    with pytest.raises(StorageError, match="SQLite 文件路径，或 postgresql://"):
        database_url(value)
