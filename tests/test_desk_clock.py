"""The desk's months, quarters and default year turn over at midnight in the hub's zone, not
the server's: Kiritimati (UTC+14) reaches the new year ten hours before UTC, Los Angeles eight
after, and a Berlin month starts at 22:00 UTC in summer time.  Over HTTP, with the endpoint's clock set."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from desk_client import PASSWORD, DeskClient, write_hub
from kite.attendance.sessions import RosterSource
from kite.attendance.web import create_app
from kite.desk.passwords import hash_password
from kite.storage import open_store
from kite.storage.desk import DeskStore

UTC = timezone.utc
SECOND = timedelta(seconds=1)
BRANCH = "鼓韵堂党支部"


def desk(hub, tmp_path, zone: str, checkins: dict[str, datetime], now: datetime):
    write_hub(hub, "http://127.0.0.1:8001")
    hub.write("site_config.yml", hub.config.read_text(encoding="utf-8") + f"timezone: {zone}\n")
    store = open_store(tmp_path / "attendance.sqlite3")
    DeskStore(store).add_account("admin", hash_password(PASSWORD), "all", datetime(2000, 1, 1, tzinfo=UTC))
    for name, at in checkins.items():
        store.record_checkin("lessons/签到课", BRANCH, name, at)
    source = RosterSource(hub.config)
    http = TestClient(create_app(store, lambda: source.roster, clock=lambda: now),
                      base_url="http://127.0.0.1:8001", follow_redirects=False)
    client = DeskClient(http).logged_in("admin")
    roster = "姓名,支部\n" + "".join(f"{name},{BRANCH}\n" for name in checkins)
    assert client.post("/desk/roster", files={"file": ("名册.csv", roster.encode(), "text/csv")}).status_code == 200
    return store, client


def record(client: DeskClient, query: str = "") -> dict[str, list[str]]:
    answer = client.get(f"/desk/branches/{quote(BRANCH)}/record.csv{query}")
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    header = rows[0]
    return {row[0]: [column for column, cell in zip(header[1:], row[1:]) if cell == "✓"] for row in rows[1:]}


def studied_this_month(client: DeskClient) -> int:
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", client.get("/desk/").text))
    return int(re.search(r"本月学习 (\d+) 人", text)[1])


# (zone, the instant a month begins in that zone, that month, the month before and its year)
BOUNDARIES = [
    ("Pacific/Kiritimati", datetime(2026, 12, 31, 10, 0, tzinfo=UTC), "1月", ("12月", 2026)),
    ("America/Los_Angeles", datetime(2027, 1, 1, 8, 0, tzinfo=UTC), "1月", ("12月", 2026)),
    ("Europe/Berlin", datetime(2027, 3, 31, 22, 0, tzinfo=UTC), "4月", ("3月", 2027)),  # in summer time
    ("Asia/Shanghai", datetime(2026, 12, 31, 16, 0, tzinfo=UTC), "1月", ("12月", 2026)),
]


@pytest.mark.parametrize("zone, boundary, month, before", BOUNDARIES, ids=[b[0] for b in BOUNDARIES])
def test_months_and_the_default_year_turn_at_the_hubs_midnight(hub, tmp_path, zone, boundary, month, before):
    store, client = desk(hub, tmp_path, zone, {"甲": boundary - SECOND, "乙": boundary}, now=boundary)
    table = record(client)  # no year=: the current year in the hub's zone, 2027 by a second
    assert table == record(client, "?year=2027")
    assert table["乙"] == [month]
    earlier_month, earlier_year = before
    assert record(client, f"?year={earlier_year}")["甲"] == [earlier_month]
    if earlier_year != 2027:
        assert table["甲"] == []
    assert studied_this_month(client) == 1  # 乙 only: 甲 studied last month
    store.close()


def test_a_second_earlier_the_year_is_still_the_old_one(hub, tmp_path):
    boundary = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)  # midnight in Kiritimati
    store, client = desk(hub, tmp_path, "Pacific/Kiritimati", {"甲": boundary - SECOND}, now=boundary - SECOND)
    assert record(client)["甲"] == ["12月"]
    assert studied_this_month(client) == 1
    store.close()


def test_a_desk_session_idles_out_by_the_endpoints_clock(hub, tmp_path):
    # The same clock as the login, whatever today's date is where the test runs.
    clock = {"now": datetime(2001, 1, 1, 9, 0, tzinfo=UTC)}
    write_hub(hub, "http://127.0.0.1:8001")
    store = open_store(tmp_path / "attendance.sqlite3")
    DeskStore(store).add_account("admin", hash_password(PASSWORD), "all", datetime(2000, 1, 1, tzinfo=UTC))
    source = RosterSource(hub.config)
    http = TestClient(create_app(store, lambda: source.roster, clock=lambda: clock["now"]),
                      base_url="http://127.0.0.1:8001", follow_redirects=False)
    client = DeskClient(http).logged_in("admin")
    assert client.get("/desk/").status_code == 200
    clock["now"] += timedelta(hours=7, minutes=59)  # used within 8 hours: still logged in
    assert client.get("/desk/").status_code == 200
    clock["now"] += timedelta(hours=8, seconds=1)  # then idle for more than 8 hours
    answer = client.get("/desk/")
    assert answer.status_code == 303 and answer.headers["location"].endswith("/desk/login")
    store.close()
