"""The check-in window and 准时/迟到 at instants either side of every boundary, in hubs whose
clocks change (Berlin, Los Angeles, Santiago) and one a day ahead of UTC (Kiritimati, UTC+14).

Over HTTP, with the endpoint's clock set: a window or lateness an hour off on the night the
clocks change turns members away, or marks them late, for an hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from starlette.testclient import TestClient

from kite.attendance.sessions import Roster
from kite.attendance.web import create_app
from kite.desk.exports import checkin_rows
from kite.desk.records import ACTIVITY, CheckinRecord
from kite.loader import load_hub
from kite.storage import open_store

UTC = timezone.utc
SECOND = timedelta(seconds=1)
CONFIG = """\
site_name: 测试
site_url: https://example.org/hub/
timezone: {zone}
attendance:
  endpoint: https://example.org/checkin
branches:
  - name: 联合党委
    branches: [工地党支部]
"""


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def endpoint(hub, tmp_path, zone: str, front: str):
    hub.write("site_config.yml", CONFIG.format(zone=zone))
    hub.announcement("夜学", f"title: 夜学\ndate: 2026-01-01\nattendance: true\n{front}")
    roster = Roster.from_hub(load_hub(hub.config))
    store = open_store(tmp_path / "attendance.sqlite3")
    clock = {"now": None}
    client = TestClient(create_app(store, lambda: roster, clock=lambda: clock["now"]))

    def check_in(now: datetime, name: str = "王建军"):
        clock["now"] = now
        return client.post("/checkin", json={"session": "announcements/夜学", "branch": "工地党支部", "name": name},
                           headers={"Accept": "application/json"})

    return roster, store, check_in


# (zone, front matter, the instant check-in opens, the instant it closes), in UTC.
WINDOWS = [
    # 19:30-21:00 Beijing time: 11:00 to 13:30 UTC.
    ("Asia/Shanghai", "starts: 2026-12-31 19:30\nends: 2026-12-31 21:00", utc(2026, 12, 31, 11, 0), utc(2026, 12, 31, 13, 30)),
    # Berlin springs forward at 02:00 (01:00 UTC): 30 minutes before 03:10 summer time is 01:40 winter time.
    ("Europe/Berlin", "starts: 2027-03-28 03:10", utc(2027, 3, 28, 0, 40), utc(2027, 3, 28, 22, 0) - SECOND),
    # Berlin falls back at 03:00 (01:00 UTC): 30 minutes after 02:50 summer time is 02:20 summer time.
    ("Europe/Berlin", "starts: 2026-10-25 01:50\nends: 2026-10-25 02:50", utc(2026, 10, 24, 23, 20), utc(2026, 10, 25, 1, 20)),
    # The second 02:30 that night, written with its offset.
    ("Europe/Berlin", "starts: 2026-10-25 02:30+01:00", utc(2026, 10, 25, 1, 0), utc(2026, 10, 25, 23, 0) - SECOND),
    # Los Angeles falls back at 02:00 PDT (09:00 UTC) on 1 November 2026.
    ("America/Los_Angeles", "starts: 2026-11-01 01:50\nends: 2026-11-01 01:59", utc(2026, 11, 1, 8, 20), utc(2026, 11, 1, 9, 29)),
    # Santiago falls back at midnight: 3 April 2027 ends at 24:00 -04:00, an hour after 24:00 -03:00.
    ("America/Santiago", "starts: 2027-04-03 22:00", utc(2027, 4, 4, 0, 30), utc(2027, 4, 4, 4, 0) - SECOND),
    # Kiritimati (UTC+14) is the first to reach the new year: its 31 December ends at 10:00 UTC.
    ("Pacific/Kiritimati", "starts: 2026-12-31 23:00", utc(2026, 12, 31, 8, 30), utc(2026, 12, 31, 10, 0) - SECOND),
]


@pytest.mark.parametrize("zone, front, opens, closes", WINDOWS, ids=[f"{w[0]}-{w[2]:%m%d}" for w in WINDOWS])
def test_the_window_opens_and_closes_at_the_right_instant(hub, tmp_path, zone, front, opens, closes):
    roster, store, check_in = endpoint(hub, tmp_path, zone, front)
    early = check_in(opens - SECOND)
    assert early.status_code == 403 and early.json()["error"].startswith("签到还没开始"), early.text
    assert check_in(opens, "甲").status_code == 201
    assert check_in(closes, "乙").status_code == 201
    late = check_in(closes + SECOND)
    assert late.status_code == 403 and late.json()["error"].startswith("签到已经结束"), late.text
    store.close()


# (zone, start as written, the last on-time instant in UTC); late_after is 10 minutes.
LATENESS = [
    # 准时 runs past midnight into the new year (with an end: without one, the window closes at midnight).
    ("Asia/Shanghai", "2026-12-31 23:55\nends: 2027-01-01 01:00", utc(2026, 12, 31, 16, 5)),
    ("Europe/Berlin", "2026-10-25 02:55", utc(2026, 10, 25, 1, 5)),  # the first 02:55; 10 minutes later is 02:05 winter time
    ("Europe/Berlin", "2027-03-28 01:55", utc(2027, 3, 28, 1, 5)),  # 10 minutes later is 03:05 summer time
    ("America/Los_Angeles", "2026-11-01 01:55", utc(2026, 11, 1, 9, 5)),
    ("Pacific/Kiritimati", "2026-12-31 23:55\nends: 2027-01-01 01:00", utc(2026, 12, 31, 10, 5)),
]


@pytest.mark.parametrize("zone, starts, last_on_time", LATENESS, ids=[f"{w[0]}-{w[1][:16]}" for w in LATENESS])
def test_on_time_until_starts_plus_late_after_and_late_a_second_later(hub, tmp_path, zone, starts, last_on_time):
    roster, store, check_in = endpoint(hub, tmp_path, zone, f"starts: {starts}")
    assert check_in(last_on_time, "甲").status_code == 201
    assert check_in(last_on_time + SECOND, "乙").status_code == 201
    stored = [CheckinRecord(c.session, c.branch, c.name, c.checked_in_at, ACTIVITY) for c in store.checkins()]
    rows = checkin_rows(stored, roster.starts, roster.config.zone, roster.config.attendance.late_after)
    assert {row[2]: row[4] for row in rows} == {"甲": "准时", "乙": "迟到"}
    store.close()
