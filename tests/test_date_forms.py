"""Every way an editor or a script writes a date-time in front matter reads as the instant meant.

ISO 8601 extended and basic forms, RFC 3339's lower-case letters, YAML 1.1's own timestamp
(one-digit fields, spaces before the offset), and wall times in a zone that changes its clocks.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kite.errors import ContentErrors
from kite.loader import load_hub

UTC = timezone.utc


def starts(hub, written: str, zone: str = "Asia/Shanghai") -> datetime:
    hub.configure(timezone=zone)
    hub.announcement("a", f"title: 活动\ndate: 2026-11-01\nstarts: {written}")
    # In UTC: an aware time in a repeated hour never equals one in another zone (PEP 495).
    return load_hub(hub.config).announcements[0].starts.astimezone(UTC)


def problems(hub) -> list[str]:
    with pytest.raises(ContentErrors) as caught:
        load_hub(hub.config)
    return [str(p) for p in caught.value.problems]


# 19:30 in Shanghai on 12 December 2026, written every way ISO 8601, RFC 3339 and YAML allow.
@pytest.mark.parametrize("written", [
    "2026-12-12 19:30",
    "2026-12-12T19:30:00",
    "2026-12-12t19:30",
    "2026-12-12 19:30:00.000",
    "2026-12-12T11:30Z",
    "2026-12-12t11:30:00z",
    "2026-12-12T19:30+08:00",
    "2026-12-12T19:30+0800",
    "2026-12-12T19:30+08",
    "20261212T193000",
    "20261212T1930",
    "20261212T193000+0800",
    "20261212t113000z",
    "2026-12-12 19:30:00 +08:00",
    "2026-12-12 19:30:00 +8",
    "2026-12-12 11:30:00 Z",
    "2026-12-12   19:30:00",
    '"2026-12-12T06:30:00-05:00"',
    "2026-12-12 6:30:00 -5",
    "2026－12－12　19：30",  # full-width hyphens, space and colon from a Chinese input method
    "２０２６-１２-１２ １９:３０",
])
def test_every_written_form_is_the_same_instant(hub, written):
    assert starts(hub, written) == datetime(2026, 12, 12, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize("written, meant", [
    ("2026-12-05 9:30", datetime(2026, 12, 5, 1, 30, tzinfo=UTC)),
    ("2026-01-05 9:05:30.5", datetime(2026, 1, 5, 1, 5, 30, tzinfo=UTC)),  # a fraction of a second is dropped
])
def test_yaml_one_digit_hours_are_read(hub, written, meant):
    assert starts(hub, written) == meant


def test_a_full_width_date_is_read_too(hub):
    hub.lesson("a", "title: 课\ndate: ２０２６－０３－０１")
    assert load_hub(hub.config).lessons[0].date.date().isoformat() == "2026-03-01"


def test_a_time_the_clocks_skip_is_an_error_at_its_line(hub):
    # Berlin springs forward from 02:00 to 03:00 on 28 March 2027: there is no 02:30 that day.
    hub.configure(timezone="Europe/Berlin")
    hub.announcement("a", "title: 活动\ndate: 2027-03-01\nstarts: 2027-03-28 02:30")
    [problem] = problems(hub)
    assert problem.startswith("content/announcements/a.md:4: starts: 柏林时间没有 2027-03-28 02:30 这个时刻")
    assert "60 分钟" in problem


def test_a_skipped_time_with_an_offset_is_what_it_says(hub):
    assert starts(hub, "2027-03-28 02:30+01:00", "Europe/Berlin") == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("written, meant", [
    ("2027-03-28 01:59", datetime(2027, 3, 28, 0, 59, tzinfo=UTC)),  # the last minute of winter time
    ("2027-03-28 03:00", datetime(2027, 3, 28, 1, 0, tzinfo=UTC)),  # the first of summer time
    # Clocks fall back from 03:00 to 02:00 on 25 October 2026: 02:30 happens twice.  It is the first
    # (summer time), as RFC 5545 reads it; the second is written with its offset.
    ("2026-10-25 02:30", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ("2026-10-25 02:30+01:00", datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
])
def test_wall_times_either_side_of_berlins_changes(hub, written, meant):
    assert starts(hub, written, "Europe/Berlin") == meant


def test_a_date_time_for_date_in_a_skipped_hour_is_an_error_too(hub):
    hub.configure(timezone="America/Los_Angeles")
    hub.lesson("a", "title: 课\ndate: 2027-03-14 02:15")
    [problem] = problems(hub)
    assert problem.startswith("lessons/a.md:3: date: 洛杉矶时间没有 2027-03-14 02:15 这个时刻")


def test_a_bare_date_is_never_a_skipped_time(hub):
    # Santiago springs forward at midnight: 6 September 2026 has no 00:00, but a date is a date.
    hub.configure(timezone="America/Santiago")
    hub.lesson("a", "title: 课\ndate: 2026-09-06")
    assert load_hub(hub.config).lessons[0].date.date().isoformat() == "2026-09-06"


@pytest.mark.parametrize("written, said", [
    ("2027-02-29 10:00", "日期不存在"),
    ("20270229T100000", "日期不存在"),
    ("2026-12-12T24:00", "时间不存在"),
    ("2026-12-12T19:30+25:00", "时间不存在"),
    ("2026-12-12 19:30 北京时间", "应为日期和时间"),
    ("2026-12-5 19:30", "应为日期和时间"),  # the date is YYYY-MM-DD, as for `date`
    ("2026-12-12T19:30:00+08:00[Asia/Shanghai]", "应为日期和时间"),
    ("2026-12-12", "应为日期和时间"),
])
def test_impossible_or_unreadable_times_are_errors(hub, written, said):
    hub.announcement("a", f"title: 活动\ndate: 2026-11-01\nstarts: {written}")
    [problem] = problems(hub)
    assert problem.startswith(f"content/announcements/a.md:4: starts: {said}")


def test_29_february_in_a_leap_year(hub):
    assert starts(hub, "2028-02-29 23:30") == datetime(2028, 2, 29, 15, 30, tzinfo=UTC)
