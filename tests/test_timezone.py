"""The configured time zone everywhere: pages, feeds, calendar, check-in messages, export, drafts.

The same hub is built in two zones; an activity written as 19:30 must read 19:30 in
that zone, said to be in that zone, and 北京时间 only where the zone is Asia/Shanghai.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest
from starlette.testclient import TestClient

from kite.attendance.checkin import record
from kite.attendance.sessions import Roster
from kite.storage import open_store
from kite.attendance.web import create_app
from kite.build import build
from kite.errors import ContentErrors
from kite.formatting import Dates, zone_label
from kite.loader import load_hub
from kite.scaffold import new_draft

ZONES = [("Asia/Shanghai", "北京时间"), ("Asia/Dubai", "迪拜时间")]
BUILT_AT = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(params=ZONES, ids=[zone for zone, _ in ZONES])
def zoned_hub(request, hub):
    zone, label = request.param
    hub.configure(timezone=zone)
    hub.announcement("夜学", """
        title: 红雁e站夜学
        date: 2026-11-20
        starts: 2026-12-05 19:30
        ends: 2026-12-05 21:00
        location: 项目部会议室
        attendance: true
    """)
    hub.lesson("第一课", "title: 第一课\ndate: 2026-03-01\nattendance: true")
    return hub, ZoneInfo(zone), label


def test_the_label_names_the_zone():
    assert zone_label(ZoneInfo("Asia/Shanghai")) == "北京时间"
    assert zone_label(ZoneInfo("Asia/Dubai")) == "迪拜时间"
    assert zone_label(ZoneInfo("Europe/London")) == "伦敦时间"
    assert zone_label(ZoneInfo("Etc/GMT-4")) == "UTC+04:00"
    assert zone_label(ZoneInfo("UTC")) == "UTC"


def test_a_span_of_days_is_read_in_the_zone_and_says_the_year_once():
    dates = Dates(ZoneInfo("Asia/Shanghai"))
    day = lambda *parts: datetime(*parts, tzinfo=timezone.utc)
    assert dates.span(day(2021, 3, 5), day(2021, 2, 19)) == "2021年2月19日—3月5日"
    assert dates.span(day(2021, 12, 20), day(2022, 1, 3)) == "2021年12月20日—2022年1月3日"
    # 16:00 UTC on 31 December is already New Year's Day in Beijing, as is 02:00 UTC on 1 January.
    assert dates.span(day(2021, 12, 31, 16), day(2022, 1, 1, 2)) == "2022年1月1日"


def test_pages_show_local_times_in_the_configured_zone(zoned_hub, tmp_path):
    hub, zone, label = zoned_hub
    site = tmp_path / "site"
    build(hub.config, site, now=BUILT_AT)
    page = (site / "announcements/夜学/index.html").read_text(encoding="utf-8")
    assert f'2026年12月5日（星期六）19:30</time> 至 21:00（{label}）' in page
    assert f"签到时间：2026年12月5日（星期六）19:00 至 21:30（{label}）" in page
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "2026年12月5日（星期六）19:30</time>" in home
    lesson = (site / "lessons/第一课/index.html").read_text(encoding="utf-8")
    assert '<time datetime="2026-03-01">2026年3月1日</time>' in lesson
    said = [path.relative_to(site) for path in site.rglob("*")
            if path.suffix in {".html", ".xml", ".ics", ".js", ".css"} and "北京时间" in path.read_text(encoding="utf-8")]
    if zone.key == "Asia/Shanghai":
        assert said
    else:
        assert said == []
        assert "23:30" not in page  # 19:30 in Dubai is 23:30 in Beijing


def test_feeds_and_calendar_use_the_configured_zone(zoned_hub, tmp_path):
    hub, zone, label = zoned_hub
    site = tmp_path / "site"
    build(hub.config, site, now=BUILT_AT)
    rss = (site / "announcements/rss.xml").read_text(encoding="utf-8")
    assert f"时间：2026年12月5日（星期六）19:30（{label}）" in rss
    calendar = icalendar.Calendar.from_ical((site / "announcements/calendar.ics").read_bytes())
    assert calendar["X-WR-TIMEZONE"] == zone.key
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == [zone.key]
    (event,) = calendar.walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == zone.key
    starts = event.decoded("DTSTART")
    assert (starts.hour, starts.minute) == (19, 30)
    assert starts == datetime(2026, 12, 5, 19, 30, tzinfo=zone)


def test_check_in_messages_and_the_export_use_the_configured_zone(zoned_hub, tmp_path):
    hub, zone, label = zoned_hub
    roster = Roster.from_hub(load_hub(hub.config))
    store = open_store(tmp_path / "attendance.sqlite3")
    fields = {"session": "announcements/夜学", "branch": "鼓韵堂党支部", "name": "王建军"}
    early = record(store, roster, fields, now=datetime(2026, 12, 5, 12, 0, tzinfo=zone))
    assert early.status == 403
    assert early.message == f"签到还没开始：2026年12月5日（星期六）19:00 开始签到（{label}）"
    late = record(store, roster, fields, now=datetime(2026, 12, 6, 9, 0, tzinfo=zone))
    assert late.message == f"签到已经结束：2026年12月5日（星期六）21:30 截止（{label}）"
    assert record(store, roster, fields, now=datetime(2026, 12, 5, 19, 45, tzinfo=zone)).status == 201
    client = TestClient(create_app(store, lambda: roster, export_token="token"))
    response = client.get("/export.csv", headers={"Authorization": "Bearer token"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == f"签到时间（{label}）"
    assert rows[1][0] == "2026-12-05 19:45:00"
    store.close()


def test_new_drafts_are_dated_and_labelled_in_the_configured_zone(zoned_hub):
    hub, zone, label = zoned_hub
    evening_in_dubai = datetime(2026, 11, 27, 18, 0, tzinfo=timezone.utc)  # already the 28th in Beijing
    text = new_draft("announcement", "十二月主题党日", hub.config, now=evening_in_dubai).read_text(encoding="utf-8")
    day = evening_in_dubai.astimezone(zone).day
    assert f"date: 2026-11-{day}" in text
    assert f"# 开始时间（{label}），请改成实际时间" in text
    assert ("北京时间" in text) == (zone.key == "Asia/Shanghai")


def test_errors_give_examples_in_the_configured_zone(zoned_hub):
    hub, zone, label = zoned_hub
    hub.announcement("坏", "title: 坏\ndate: 2026-11-20\nstarts: 十二月五日")
    with pytest.raises(ContentErrors) as caught:
        load_hub(hub.config)
    (problem,) = caught.value.problems
    assert f"例如 2026-03-01 19:30（{label}）" in problem.message
