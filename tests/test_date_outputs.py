"""Dates in what a build writes, for times nobody writes in the sample: local mean time before
1900, fractions of a second, the hour Berlin shows twice.  Feed readers parse RFC 822 and RFC 3339,
browsers HTML's <time>, phones RFC 5545; each must read the instant the editor meant."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import icalendar

from kite.build import build

UTC = timezone.utc
RFC_822 = re.compile(r"<pubDate>([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4})</pubDate>")
RFC_3339 = re.compile(r"<updated>(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))</updated>")
# HTML's valid global date and time string: at most three digits of a second, an offset in minutes.
HTML_TIME = re.compile(r'<time datetime="([^"]+)"')
HTML_VALID = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$")


def test_local_mean_time_and_fractions_are_written_as_valid_instants(hub, tmp_path):
    # Kiritimati kept local mean time, 10:29:20 behind UTC, until 1901.
    hub.configure(timezone="Pacific/Kiritimati")
    hub.lesson("古", "title: 古课\ndate: 1900-01-01")
    hub.announcement("古", "title: 古活动\ndate: 1900-01-01 08:00\nstarts: 1900-01-01 09:30")
    hub.announcement("秒", "title: 精确\ndate: 2026-11-01\nstarts: 2026-12-12 19:30:00.123456")
    site = tmp_path / "site"
    build(hub.config, site, now=datetime(2026, 11, 27, tzinfo=UTC))

    lessons_rss = (site / "lessons/rss.xml").read_text(encoding="utf-8")
    written = RFC_822.findall(lessons_rss)
    assert written and len(written) == lessons_rss.count("<pubDate>")
    assert parsedate_to_datetime(written[0]) == datetime(1900, 1, 1, 10, 29, 20, tzinfo=UTC)
    for feed in ("lessons/atom.xml", "announcements/atom.xml"):
        text = (site / feed).read_text(encoding="utf-8")
        assert len(RFC_3339.findall(text)) == text.count("<updated>"), feed
    announcements_rss = (site / "announcements/rss.xml").read_text(encoding="utf-8")
    assert len(RFC_822.findall(announcements_rss)) == announcements_rss.count("<pubDate>")

    for page in ("announcements/index.html", "announcements/古/index.html", "announcements/秒/index.html"):
        stamps = HTML_TIME.findall((site / page).read_text(encoding="utf-8"))
        assert stamps and all(HTML_VALID.match(stamp) for stamp in stamps), (page, stamps)
    stamps = HTML_TIME.findall((site / "announcements/古/index.html").read_text(encoding="utf-8"))
    assert datetime.fromisoformat(stamps[0]) == datetime(1900, 1, 1, 19, 59, 20, tzinfo=UTC)


def test_the_calendar_reads_every_instant_back(hub, tmp_path):
    hub.configure(timezone="Europe/Berlin")
    hub.announcement("naive", "title: 本地时间\ndate: 2026-10-01\nstarts: 2026-12-12 19:30\nends: 2026-12-12 21:00")
    hub.announcement("offset", "title: 带偏移\ndate: 2026-10-01\nstarts: 20261212T193000+0800")
    hub.announcement("first", "title: 第一次\ndate: 2026-10-01\nstarts: 2026-10-25 02:30\nends: 2026-10-25 02:45")
    hub.announcement("second", "title: 第二次\ndate: 2026-10-01\nstarts: 2026-10-25 02:30+01:00\nends: 2026-10-25 03:30")
    expected = {
        "本地时间": (datetime(2026, 12, 12, 18, 30, tzinfo=UTC), datetime(2026, 12, 12, 20, 0, tzinfo=UTC)),
        "带偏移": (datetime(2026, 12, 12, 11, 30, tzinfo=UTC), None),
        "第一次": (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 0, 45, tzinfo=UTC)),
        "第二次": (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), datetime(2026, 10, 25, 2, 30, tzinfo=UTC)),
    }
    calendars = []
    for run, now in enumerate((datetime(2026, 10, 2, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))):
        site = tmp_path / f"site{run}"
        build(hub.config, site, now=now)
        calendars.append((site / "announcements/calendar.ics").read_bytes())
        calendar = icalendar.Calendar.from_ical(calendars[-1])
        found = {}
        for event in calendar.walk("VEVENT"):
            ends = event.decoded("DTEND").astimezone(UTC) if "DTEND" in event else None
            found[str(event["SUMMARY"])] = (event.decoded("DTSTART").astimezone(UTC), ends)
            assert isinstance(event.decoded("DTSTART"), datetime)  # a time, never an all-day event
        assert found == expected
    # Nothing in it comes from the clock: UIDs and DTSTAMPs stay, and phones see no change.
    assert calendars[0] == calendars[1]


def test_the_hour_shown_twice_says_which_one_on_the_page(hub, tmp_path):
    # Berlin's clocks go back at 03:00 on 2026-10-25: 02:30 comes first at UTC+02:00, then at UTC+01:00.
    hub.configure(timezone="Europe/Berlin")
    hub.announcement("first", "title: 第一次\ndate: 2026-10-01\nstarts: 2026-10-25 02:30\nends: 2026-10-25 02:45")
    hub.announcement("second", "title: 第二次\ndate: 2026-10-01\nstarts: 2026-10-25 02:30+01:00\nends: 2026-10-25 03:30")
    hub.announcement("plain", "title: 平常\ndate: 2026-10-01\nstarts: 2026-10-24 19:30\nends: 2026-10-24 21:00")
    site = tmp_path / "site"
    build(hub.config, site, now=datetime(2026, 10, 1, tzinfo=UTC))

    def when(slug: str) -> str:
        page = (site / f"announcements/{slug}/index.html").read_text(encoding="utf-8")
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.split("<dd>", 1)[1].split("</dd>", 1)[0])).strip()

    assert when("first") == "2026年10月25日（星期日）02:30 UTC+02:00 至 02:45 UTC+02:00（柏林时间）"
    assert when("second") == "2026年10月25日（星期日）02:30 UTC+01:00 至 03:30（柏林时间）"
    assert when("plain") == "2026年10月24日（星期六）19:30 至 21:00（柏林时间）"
