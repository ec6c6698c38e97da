"""The 三个一 table and the overview, from plain records: cells, 积分, 未匹配, in the hub's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from kite.config import Points
from kite.desk.records import (ACTIVITY, LATE, LESSON, ON_TIME, REVIEW, BranchSummary, CheckinRecord, MemberRow,
                               Records, ReportRecord, SuggestionRecord, branch_overview, branch_table,
                               checkin_status, parse_quarter, quarter_of, session_kind)

SHANGHAI = ZoneInfo("Asia/Shanghai")
POINTS = Points(study=3, report=5, suggestion=7, review=11)  # distinct, so every sum says what it counted
BRANCH = "鼓韵堂党支部"
MEMBERS = ["王五", "张三", "李四"]  # the roster's order, which the table keeps
NO = (False,) * 12


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def checkin(name: str, at: datetime, session: str = "lessons/a", kind: str = LESSON, branch: str = BRANCH,
            **extra) -> CheckinRecord:
    return CheckinRecord(session, branch, name, at, kind, **extra)


def months(*numbers: int) -> tuple[bool, ...]:
    return tuple(month in numbers for month in range(1, 13))


def table(**records):
    return branch_table(BRANCH, 2026, SHANGHAI, POINTS, MEMBERS, **records)


def row(found, name: str) -> MemberRow:
    (match,) = [r for r in found.rows if r.name == name]
    return match


def test_months_are_calendar_months_in_the_hubs_time_zone():
    found = table(checkins=[
        checkin("张三", utc(2026, 1, 31, 16, 30)),  # 00:30 on 1 February in Shanghai
        checkin("张三", utc(2025, 12, 31, 16, 0), session="lessons/b"),  # midnight, 1 January 2026
        checkin("张三", utc(2026, 12, 31, 16, 0), session="lessons/c"),  # 2027 in Shanghai: another year
        checkin("李四", utc(2025, 12, 31, 15, 59, 59)),  # still 2025
        checkin("王五", datetime(2026, 4, 30, 23, 59, tzinfo=SHANGHAI)),  # given in local time, not UTC
    ])
    assert row(found, "张三").months == months(1, 2)
    assert row(found, "王五").months == months(4)
    assert row(found, "李四").months == NO
    assert found.unmatched == Records()


def test_another_time_zone_moves_the_month_boundary():
    found = branch_table(BRANCH, 2026, ZoneInfo("America/New_York"), POINTS, MEMBERS,
                         checkins=[checkin("张三", utc(2026, 3, 1, 4, 30))])  # 23:30 on 28 February there
    assert row(found, "张三").months == months(2)


def test_names_match_after_nfkc_without_whitespace_in_the_same_branch_only():
    found = table(checkins=[
        checkin("张 三", utc(2026, 3, 5, 2)),
        checkin("李\u3000四", utc(2026, 4, 5, 2)),
        checkin("王五", utc(2026, 5, 5, 2), branch="栖息栈党支部"),  # another branch's table
    ])
    assert [(r.name, r.months) for r in found.rows] == [("王五", NO), ("张三", months(3)), ("李四", months(4))]


def test_points_follow_the_contract_exactly():
    found = table(
        checkins=[
            checkin("张三", utc(2026, 3, 1, 2), "lessons/a"),
            checkin("张 三", utc(2026, 3, 1, 3), "lessons/a"),  # the same member again: one attendance
            checkin("张三", utc(2026, 3, 9, 2), "announcements/b", ACTIVITY),
            checkin("张三", utc(2026, 11, 20, 2), "announcements/review", REVIEW),
        ],
        reports=[ReportRecord(BRANCH, "张三", "2026Q1"), ReportRecord(BRANCH, "张三", "2026Q1"),
                 ReportRecord(BRANCH, "张三", "2026Q3"), ReportRecord(BRANCH, "张三", "2025Q4")],
        suggestions=[SuggestionRecord(BRANCH, "张三", utc(2026, 2, 1)), SuggestionRecord(BRANCH, "张三", utc(2026, 6, 1)),
                     SuggestionRecord(BRANCH, None, utc(2026, 6, 1)), SuggestionRecord(BRANCH, "张三", utc(2025, 6, 1))],
    )
    zhang = row(found, "张三")
    assert zhang.months == months(3, 11)
    assert zhang.quarters == (True, False, True, False)
    assert zhang.review is True
    # 3 sessions studied (the review is an activity too), 2 quarters, 2 suggestions, 1 review.
    assert zhang.points == 3 * 3 + 2 * 5 + 2 * 7 + 1 * 11
    assert found.unmatched == Records()


def test_a_review_alone_fills_its_month_and_counts_as_study_and_review():
    found = table(checkins=[checkin("李四", utc(2026, 12, 10, 12), "announcements/年度评议", REVIEW)])
    assert row(found, "李四") == MemberRow("李四", months(12), (False,) * 4, True, 3 + 11)
    assert row(found, "张三") == MemberRow("张三", NO, (False,) * 4, False, 0)


def test_rows_keep_the_roster_order_whatever_the_points():
    found = table(checkins=[checkin("李四", utc(2026, 3, 1)), checkin("李四", utc(2026, 4, 1), "lessons/b")])
    assert [(r.name, r.points) for r in found.rows] == [("王五", 0), ("张三", 0), ("李四", 6)]


def test_unmatched_records_are_returned_and_departed_members_kept_apart():
    stray = checkin("张山", utc(2026, 3, 1))
    late_member = checkin("赵六", utc(2026, 2, 1))
    report = ReportRecord(BRANCH, "无名", "2026Q2")
    named = SuggestionRecord(BRANCH, "钱七", utc(2026, 5, 1))
    found = branch_table(BRANCH, 2026, SHANGHAI, POINTS, MEMBERS, departed=["赵 六"], checkins=[
        stray, late_member, checkin("张山", utc(2025, 3, 1)), checkin("张山", utc(2026, 3, 1), branch="栖息栈党支部")],
        reports=[report], suggestions=[named, SuggestionRecord(BRANCH, None, utc(2026, 5, 2))])
    assert found.unmatched == Records((stray,), (report,), (named,))
    assert found.departed == Records((late_member,))
    assert len(found.unmatched) == 3
    assert all(r.points == 0 for r in found.rows)


def test_a_record_attached_by_hand_counts_for_that_member():
    found = table(checkins=[checkin("小张", utc(2026, 3, 1), member="张三", id=41)],
                  reports=[ReportRecord(BRANCH, "张同志", "2026Q2", member="张三")])
    assert row(found, "张三").months == months(3)
    assert row(found, "张三").quarters == (False, True, False, False)
    assert found.unmatched == Records()


def test_the_overview_counts_this_month_and_this_quarter_as_the_table_does():
    now = utc(2026, 5, 31, 17)  # 1 June, 01:00 in Shanghai: June, second quarter
    checkins = [
        checkin("张三", utc(2026, 6, 1, 0)),  # 08:00 on 1 June
        checkin("张 三", utc(2026, 6, 1, 1), "lessons/b"),
        checkin("李四", utc(2026, 5, 30)),  # May
        checkin("路人", utc(2026, 6, 1, 2)),  # unmatched: nobody studied
        checkin("甲", utc(2026, 6, 1, 0), branch="栖息栈党支部"),
    ]
    reports = [ReportRecord(BRANCH, "王五", "2026Q2"), ReportRecord(BRANCH, "李四", "2026Q1"),
               ReportRecord("栖息栈党支部", "甲", "2026Q2")]
    summaries = branch_overview(now, SHANGHAI, {BRANCH: MEMBERS, "栖息栈党支部": ["甲", "乙"], "空支部": []},
                                checkins=checkins, reports=reports, open_suggestions={BRANCH: 2})
    assert summaries == [
        BranchSummary(BRANCH, members=3, studied=1, reported=1, open_suggestions=2),
        BranchSummary("栖息栈党支部", members=2, studied=1, reported=1, open_suggestions=0),
        BranchSummary("空支部", members=0, studied=0, reported=0, open_suggestions=0),
    ]


def test_session_kinds():
    reviews = {"announcements/年度评议"}
    assert session_kind("lessons/a", reviews) == LESSON
    assert session_kind("announcements/b", reviews) == ACTIVITY
    assert session_kind("announcements/年度评议", reviews) == REVIEW


def test_on_time_until_starts_plus_late_after():
    starts = datetime(2026, 3, 1, 19, 30, tzinfo=SHANGHAI)
    late_after = timedelta(minutes=10)
    assert checkin_status(starts - timedelta(minutes=25), starts, late_after) == ON_TIME
    assert checkin_status(starts + late_after, starts, late_after) == ON_TIME
    assert checkin_status(starts + late_after + timedelta(seconds=1), starts, late_after) == LATE
    assert checkin_status(utc(2026, 3, 1, 11, 40, 1), starts, late_after) == LATE  # the same moment in UTC
    assert checkin_status(starts, None, late_after) == ""


def test_quarters_in_the_hubs_time_zone():
    assert quarter_of(utc(2026, 3, 31, 15, 59), SHANGHAI) == "2026Q1"
    assert quarter_of(utc(2026, 3, 31, 16, 0), SHANGHAI) == "2026Q2"
    assert quarter_of(utc(2026, 12, 31, 16, 0), SHANGHAI) == "2027Q1"
    assert parse_quarter("2026Q4") == (2026, 4)
    for bad in ("2026Q5", "2026Q0", "26Q1", "2026-Q1", "2026q1", "２０２６Q1", ""):
        with pytest.raises(ValueError):
            parse_quarter(bad)
