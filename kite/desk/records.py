"""The 三个一 table: who studied each month, reported each quarter, attended the yearly review.

Pure functions over plain records (contract, section 5).  The storage layer hands over a
branch's current members and its records; this module matches each record to a member
(same branch, same name after ``names.match_key``), fills in the cells and adds up 积分.
A record that matches nobody is returned as 未匹配, never dropped.  Rows keep the
roster's order: nothing here ranks members against each other.

Counting, following the contract's words:

- 学习 for a month: at least one check-in to a lesson or an activity in that calendar
  month, in the hub's time zone.  A yearly review is an announcement, that is an
  activity ("this activity is a yearly review"), so a review check-in counts as study
  too, and earns ``points.study`` as well as ``points.review``.
- A member is counted once per session: two check-ins that both match the same member
  (张三 and 张 三) are one attendance.
- 汇报: at least one report that quarter; ``points.report`` per quarter, however many.
- ``points.suggestion`` for each suggestion with the member's name; an anonymous one is
  nobody's and is not 未匹配 either.

A year of a big branch is 100,000 check-ins, too many to hand over one by one in the time
a page has.  So storage may count a name's check-ins per month itself and hand over a
``StudyTally`` instead of its records.  The counts are what the records would give, since
a name checks in to a session once; storage hands over one tally per member at most, and
none of its sessions is also in one of that member's records (``kite.storage.desk``
explains how), so that a session still counts once.  ``branch_table`` refuses a second
tally for one member rather than count a session twice.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Collection, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from ..config import Points
from .names import match_key

LESSON = "lesson"
ACTIVITY = "activity"
REVIEW = "review"  # an activity that is also the yearly review

ON_TIME = "准时"
LATE = "迟到"

MONTHS = tuple(f"{month}月" for month in range(1, 13))
QUARTERS = ("一季度", "二季度", "三季度", "四季度")


@dataclass(frozen=True)
class CheckinRecord:
    session: str  # "lessons/SLUG" or "announcements/SLUG"
    branch: str
    name: str  # as the member typed it
    at: datetime  # aware
    kind: str  # LESSON, ACTIVITY or REVIEW
    member: str | None = None  # the roster name a secretary attached it to by hand; wins over matching
    id: int | None = None  # the storage layer's, passed through for the pages


@dataclass(frozen=True)
class ReportRecord:
    branch: str
    name: str
    quarter: str  # "2026Q4", in the hub's time zone
    member: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class SuggestionRecord:
    branch: str
    name: str | None  # None: sent without a name
    at: datetime
    member: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class StudyTally:
    """One name's check-ins in one branch and year, counted per month by storage (see the module's docstring)."""

    branch: str
    name: str  # as the members typed it
    months: tuple[int, ...]  # 12 counts of check-ins, January first; each one a different session
    reviews: frozenset[str] = frozenset()  # the sessions among them that are yearly reviews

    @property
    def count(self) -> int:
        return sum(self.months)

    @property
    def member(self) -> None:
        """Never attached by hand: storage hands over such check-ins one by one."""
        return None


@dataclass(frozen=True)
class Records:
    checkins: tuple[CheckinRecord, ...] = ()
    reports: tuple[ReportRecord, ...] = ()
    suggestions: tuple[SuggestionRecord, ...] = ()
    tallies: tuple[StudyTally, ...] = ()

    def __len__(self) -> int:
        return (len(self.checkins) + len(self.reports) + len(self.suggestions)
                + sum(tally.count for tally in self.tallies))


@dataclass(frozen=True)
class MemberRow:
    name: str
    months: tuple[bool, ...]  # 12: studied in January … December
    quarters: tuple[bool, ...]  # 4: reported in each quarter
    review: bool  # attended a yearly review
    points: int


@dataclass(frozen=True)
class BranchTable:
    branch: str
    year: int
    rows: tuple[MemberRow, ...]  # current members, in the roster's order
    unmatched: Records = field(default_factory=Records)  # 未匹配: this branch and year, no member
    departed: Records = field(default_factory=Records)  # matched members who have left the roster


@dataclass(frozen=True)
class BranchSummary:
    """A branch on the overview page."""

    branch: str
    members: int  # current members on the roster
    studied: int  # members with a study check-in this month
    reported: int  # members with a report this quarter
    open_suggestions: int


def session_kind(session: str, reviews: Collection[str]) -> str:
    """LESSON, ACTIVITY or REVIEW for a check-in's session key.

    ``reviews`` are the sessions of announcements with ``review: true``.  Known from the
    key alone, so a check-in to a page since deleted still counts as study.
    """
    if session in reviews:
        return REVIEW
    return ACTIVITY if session.startswith("announcements/") else LESSON


def checkin_status(at: datetime, starts: datetime | None, late_after: timedelta) -> str:
    """准时 or 迟到 for a check-in to an activity starting at ``starts``; "" for a lesson.

    Judged on the whole second, as the desk and the CSV show the time: a check-in shown at
    19:40:00 is 准时 when late_after ends at 19:40, whatever its milliseconds.
    """
    if starts is None:
        return ""
    return ON_TIME if at.replace(microsecond=0) <= starts + late_after else LATE


def quarter_of(moment: datetime, zone: ZoneInfo) -> str:
    """``2026Q4``: the quarter a report sent at ``moment`` belongs to, in the hub's time zone."""
    local = moment.astimezone(zone)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def parse_quarter(quarter: str) -> tuple[int, int]:
    """``"2026Q4"`` as ``(2026, 4)``; ``ValueError`` for anything else."""
    year, separator, number = quarter.partition("Q")
    if not (separator and len(year) == 4 and year.isascii() and year.isdigit() and number in ("1", "2", "3", "4")):
        raise ValueError(f"not a quarter like 2026Q4: {quarter!r}")
    return int(year), int(number)


def branch_table(branch: str, year: int, zone: ZoneInfo, points: Points, members: Sequence[str], *,
                 checkins: Iterable[CheckinRecord] = (), reports: Iterable[ReportRecord] = (),
                 suggestions: Iterable[SuggestionRecord] = (), departed: Sequence[str] = (),
                 tallies: Iterable[StudyTally] = ()) -> BranchTable:
    """The 三个一 table of ``branch`` for ``year``: a row per current member, then 未匹配.

    Records of other branches or other years are not part of it and are ignored; so are
    tallies of other branches (a tally is of ``year`` by construction).
    """
    matcher = _Matcher(members, departed)
    months = _month_starts(year, zone)
    studied: dict[str, set[int]] = {}
    sessions: dict[str, set[str]] = {}
    reviews: dict[str, set[str]] = {}
    tallied: dict[str, int] = {}  # member -> sessions counted by storage

    for tally in tallies:
        if tally.branch != branch:
            continue
        who = matcher.member(tally, "tallies")
        if who is None:
            continue
        if who in tallied:
            raise ValueError(f"two tallies for one member in {branch}: a session could count twice")
        tallied[who] = tally.count
        studied.setdefault(who, set()).update(month for month, count in enumerate(tally.months, start=1) if count)
        if tally.reviews:
            reviews.setdefault(who, set()).update(tally.reviews)

    for record in checkins:
        month = bisect_right(months, record.at)  # 1-12 inside the year
        if record.branch != branch or not 1 <= month <= 12:
            continue
        who = matcher.member(record, "checkins")
        if who is None:
            continue
        studied.setdefault(who, set()).add(month)
        sessions.setdefault(who, set()).add(record.session)
        if record.kind == REVIEW:
            reviews.setdefault(who, set()).add(record.session)

    reported: dict[str, set[int]] = {}
    for record in reports:
        try:
            report_year, quarter = parse_quarter(record.quarter)
        except ValueError:
            report_year, quarter = None, 0
        if record.branch != branch or report_year != year:
            continue
        who = matcher.member(record, "reports")
        if who is None:
            continue
        reported.setdefault(who, set()).add(quarter)

    suggested: dict[str, int] = {}
    for record in suggestions:
        if record.branch != branch or not 1 <= bisect_right(months, record.at) <= 12:
            continue
        if record.name is None and record.member is None:
            continue  # anonymous: nobody's, and not unmatched either
        who = matcher.member(record, "suggestions")
        if who is None:
            continue
        suggested[who] = suggested.get(who, 0) + 1

    rows = []
    for name in members:
        key = matcher.key(name)
        rows.append(MemberRow(
            name=name,
            months=tuple(month in studied.get(key, ()) for month in range(1, 13)),
            quarters=tuple(quarter in reported.get(key, ()) for quarter in range(1, 5)),
            review=bool(reviews.get(key)),
            points=(points.study * (len(sessions.get(key, ())) + tallied.get(key, 0))
                    + points.report * len(reported.get(key, ()))
                    + points.suggestion * suggested.get(key, 0) + points.review * len(reviews.get(key, ()))),
        ))
    return BranchTable(branch, year, tuple(rows), matcher.filed(matcher.unmatched), matcher.filed(matcher.departed))


def branch_overview(now: datetime, zone: ZoneInfo, members: Mapping[str, Sequence[str]], *,
                    checkins: Iterable[CheckinRecord] = (), reports: Iterable[ReportRecord] = (),
                    open_suggestions: Mapping[str, int] | None = None,
                    tallies: Iterable[StudyTally] = ()) -> list[BranchSummary]:
    """The overview's figures for each branch in ``members`` (the branches in scope, in order).

    Counted exactly as the branch's table counts them, this month and this quarter.
    """
    local = now.astimezone(zone)
    by_branch: dict[str, tuple[list, list, list]] = {branch: ([], [], []) for branch in members}
    for record in checkins:
        if record.branch in by_branch:
            by_branch[record.branch][0].append(record)
    for record in reports:
        if record.branch in by_branch:
            by_branch[record.branch][1].append(record)
    for tally in tallies:
        if tally.branch in by_branch:
            by_branch[tally.branch][2].append(tally)
    summaries = []
    for branch, names in members.items():
        branch_checkins, branch_reports, branch_tallies = by_branch[branch]
        table = branch_table(branch, local.year, zone, Points(), names, checkins=branch_checkins, reports=branch_reports,
                             tallies=branch_tallies)
        summaries.append(BranchSummary(
            branch=branch,
            members=len(names),
            studied=sum(row.months[local.month - 1] for row in table.rows),
            reported=sum(row.quarters[(local.month - 1) // 3] for row in table.rows),
            open_suggestions=(open_suggestions or {}).get(branch, 0),
        ))
    return summaries


class _Matcher:
    """Finds the member a record belongs to, normalising each distinct name once.

    A record of nobody on the roster is filed as unmatched, one of a member who has left
    as departed; either way it is kept for the table to show.
    """

    def __init__(self, members: Sequence[str], departed: Sequence[str]):
        self._keys: dict[str, str] = {}
        self._current = {self.key(name) for name in members}
        self._gone = {self.key(name) for name in departed} - self._current
        self.unmatched: dict[str, list] = {"checkins": [], "reports": [], "suggestions": [], "tallies": []}
        self.departed: dict[str, list] = {"checkins": [], "reports": [], "suggestions": [], "tallies": []}

    def key(self, name: str) -> str:
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = match_key(name)
        return key

    def member(self, record, kind: str) -> str | None:
        """The key of the current member ``record`` belongs to, or None once it is filed."""
        key = self.key(record.member if record.member is not None else record.name)
        if key in self._current:
            return key
        (self.departed if key in self._gone else self.unmatched)[kind].append(record)
        return None

    @staticmethod
    def filed(found: dict[str, list]) -> Records:
        return Records(tuple(found["checkins"]), tuple(found["reports"]), tuple(found["suggestions"]),
                       tuple(found["tallies"]))


def _month_starts(year: int, zone: ZoneInfo) -> list[datetime]:
    """Midnight on the first of each month of ``year`` and of the next January, in ``zone``.

    Given in UTC: records come from storage in UTC, and two datetimes with the same
    tzinfo compare without asking the zone for offsets, several times faster.
    """
    return [datetime(year + (month > 12), (month - 1) % 12 + 1, 1, tzinfo=zone).astimezone(timezone.utc)
            for month in range(1, 14)]
