"""A branch's year of check-ins as the 三个一 table takes them, without fetching them all.

A big branch's year is 100,000 check-ins, more than can be handed over one by one in the
time a page has.  So ``study`` lets the database count them a name and a month at a time
(``StudyTally``), and fetches one by one only the few that need it.  ``kite.storage.desk``
calls it for a branch page, after the scope check; nothing here looks at scopes.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from datetime import datetime
from typing import Collection
from zoneinfo import ZoneInfo

from sqlalchemy import Text, and_, bindparam, func, literal, select, true, tuple_, union_all
from sqlalchemy.dialects.postgresql import ARRAY

from ..desk.names import match_key
from ..desk.records import CheckinRecord, StudyTally, session_kind
from .schema import checkins, members, record_links

CHECKIN = "checkin"  # record_links.kind for a check-in
# A condition on checkin_records' rows: not attached to a member by hand.
UNLINKED = record_links.c.id.is_(None)


def month_starts(year: int, zone: ZoneInfo) -> list[datetime]:
    """Midnight on the first of each month of ``year`` and of the next January, in the hub's zone."""
    return [datetime(year + (month > 12), (month - 1) % 12 + 1, 1, tzinfo=zone) for month in range(1, 14)]


def study(connection, branch: str, in_year, bounds: list[datetime], member_keys: set[str], reviews: Collection[str],
          *, postgres: bool) -> tuple[list[StudyTally], list[CheckinRecord], set[str]]:
    """A year of a branch's check-ins as ``branch_table`` takes them, without fetching them all.

    A big branch's year is 100,000 check-ins, more than can be handed over one by one in
    the time a page has.  So the database counts them a name and a month at a time
    (``StudyTally``), and only these come one by one: those attached to a member by hand;
    for a member who wrote their name more than one way, all but the most used way; and
    the check-ins of that most used way to sessions those records share (which are then
    left out of its tally).  So no session of a member is in a tally and a record both,
    and a session counts once (``records.branch_table`` relies on it).

    Returns the tallies, the records, and the names that match nobody (listed as 未匹配).
    """
    c = checkins.c
    # A month at a time, put together: each a range of the index on (branch, time, name) and
    # a small sort, twice as fast as one pass that works out every row's month with a CASE.
    by_month = union_all(*(
        select(c.name, literal(number), func.count())
        .where(c.branch == branch, c.checked_in_at >= bounds[number - 1], c.checked_in_at < bounds[number])
        .group_by(c.name) for number in range(1, 13)))
    by_name: dict[str, list[int]] = {}
    for name, number, count in connection.execute(by_month):
        by_name.setdefault(name, [0] * 12)[number - 1] = count
    reviewed: dict[str, set[str]] = {}
    if reviews:
        # Found through the unique index that starts with the session; the year is checked here,
        # since given to the database it would pick the year's index and read all 100,000.
        for name, session, at in connection.execute(select(c.name, c.session, c.checked_in_at)
                                                    .where(c.branch == branch, c.session.in_(sorted(reviews)))):
            if bounds[0] <= at < bounds[12]:
                reviewed.setdefault(name, set()).add(session)

    keys: dict[str, str] = {}

    def key_of(name: str) -> str:
        if name not in keys:
            keys[name] = match_key(name)
        return keys[name]

    def take_out_of_tally(record: CheckinRecord) -> None:
        by_name[record.name][bisect_right(bounds, record.at) - 1] -= 1
        reviewed.get(record.name, set()).discard(record.session)

    records = [record for record in checkin_records(connection, members.c.branch == branch, reviews=reviews,
                                                          linked_only=True)
               if bounds[0] <= record.at < bounds[12]]
    for record in records:
        take_out_of_tally(record)
    attached_keys = {key_of(record.member) for record in records}
    names_of_key: dict[str, list[str]] = {}
    for name, months in by_name.items():
        if any(months):
            names_of_key.setdefault(key_of(name), []).append(name)
    mains: dict[str, str] = {}  # the most used way of writing a member's name -> the member's key
    others: list[str] = []
    for key, names in names_of_key.items():
        if key in member_keys and (len(names) > 1 or key in attached_keys):
            main = max(names, key=lambda name: (sum(by_name[name]), name))
            mains[main] = key
            others.extend(name for name in names if name != main)
    if others:
        records += checkin_records(connection, in_year, c.name.in_(sorted(others)), UNLINKED,
                                         reviews=reviews)
    main_of = {key: main for main, key in mains.items()}
    wanted: dict[str, set[str]] = {}  # the most used way -> sessions its member has records of
    for record in records:
        if (key := key_of(record.member or record.name)) in main_of:
            wanted.setdefault(main_of[key], set()).add(record.session)
    known = {record.id for record in records}
    for main, record_id, session, at in _shared_sessions(connection, branch, wanted, postgres=postgres):
        # The year is checked here: given to the database, its index would read them all.
        if record_id not in known and bounds[0] <= at < bounds[12]:
            record = CheckinRecord(session, branch, main, at, session_kind(session, reviews), id=record_id)
            take_out_of_tally(record)
            records.append(record)
    taken = set(others)
    tallies = [StudyTally(branch, name, tuple(months), frozenset(reviewed.get(name, ())))
               for name, months in by_name.items() if name not in taken and any(months)]
    unmatched = {name for name, months in by_name.items() if any(months) and key_of(name) not in member_keys}
    return tallies, records, unmatched


def _shared_sessions(connection, branch: str, wanted: dict[str, set[str]], *, postgres: bool) -> list[tuple]:
    """(name, id, session, time) of the check-ins of each name in ``wanted`` to the sessions given for it.

    One statement of index seeks in the unique index on (session, branch, name), written for
    each backend: what either plans well, the other plans as a scan of every check-in.
    """
    if not wanted:
        return []
    c = checkins.c
    pairs = [(session, name) for name, sessions in sorted(wanted.items()) for session in sorted(sessions)]
    if postgres:
        # Two arrays unnested side by side, each pair looked up by a LATERAL subquery (LIMIT 1,
        # true of a unique key anyway, keeps the planner from making it a hash join of everything).
        each = func.unnest(bindparam("sessions", [session for session, _ in pairs], type_=ARRAY(Text)),
                           bindparam("names", [name for _, name in pairs], type_=ARRAY(Text))
                           ).table_valued("session", "name").render_derived()
        found = select(c.id, c.session, c.checked_in_at).where(
            c.session == each.c.session, c.branch == branch, c.name == each.c.name).limit(1).lateral()
        query = (select(each.c.name, found.c.id, found.c.session, found.c.checked_in_at)
                 .select_from(each.join(found, true())))
    else:
        # The pairs as one JSON array: a row-value IN over json_each, which SQLite answers with
        # a seek per pair (a literal list of row values it would scan for instead).
        each = func.json_each(json.dumps(pairs, ensure_ascii=False)).table_valued("value")
        query = select(c.name, c.id, c.session, c.checked_in_at).where(
            c.branch == branch, tuple_(c.session, c.name).in_(
                select(func.json_extract(each.c.value, "$[0]"), func.json_extract(each.c.value, "$[1]"))))
    return connection.execute(query).all()


def checkin_records(connection, *conditions, reviews: Collection[str] = (), newest_first: bool = False,
                    limit: int | None = None, linked_only: bool = False) -> list[CheckinRecord]:
    """Check-ins one by one (see ``_record_query``), in the order they came or newest first."""
    query = _record_query(*conditions, linked_only=linked_only)
    query = query.order_by(checkins.c.checked_in_at.desc() if newest_first else checkins.c.id).limit(limit)
    return _records(connection.execute(query), reviews)


def _record_query(*conditions, linked_only: bool = False):
    """Check-ins one by one, each with the member a secretary attached it to, if any.

    ``linked_only``: only those attached, found from the members and their (few) matches rather
    than from the check-ins: give conditions on ``members``, not on ``checkins``, or the
    database reads the check-ins first.
    """
    c = checkins.c
    join = and_(record_links.c.kind == CHECKIN, record_links.c.record_id == c.id)
    source = (members.join(record_links, members.c.id == record_links.c.member_id).join(checkins, join) if linked_only
              else checkins.outerjoin(record_links, join).outerjoin(members, members.c.id == record_links.c.member_id))
    return (select(c.id, c.session, c.branch, c.name, c.checked_in_at, members.c.name.label("member"))
            .select_from(source).where(*conditions))


def _records(rows, reviews: Collection[str]) -> list[CheckinRecord]:
    return [CheckinRecord(session, branch, name, at, session_kind(session, reviews), member=member, id=record_id)
            for record_id, session, branch, name, at, member in rows]
