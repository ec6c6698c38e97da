"""Reports and suggestions in the database, the same on SQLite and PostgreSQL: recording once,
looking up by reference, and the desk's scoped reads, counts and answers."""

from __future__ import annotations

import itertools
import threading
from dataclasses import fields
from datetime import datetime, timedelta, timezone

import pytest

from kite.desk.scope import Scope
from kite.storage import Submissions, open_store
from kite.storage.submissions import SuggestionProgress

AT = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
TEXT = "本季度在工地参加了三次党课学习，带头落实安全生产。"
NANJING = Scope("驻宁流动党员联合党委", ("鼓韵堂党支部", "栖息栈党支部"))
GUYUN = Scope("鼓韵堂党支部", ("鼓韵堂党支部",))
EVERYTHING = Scope("all", ("鼓韵堂党支部", "栖息栈党支部"), everything=True)
NOBODY = Scope("none", ())


@pytest.fixture
def store(database):
    opened = open_store(database)
    yield opened
    opened.close()


@pytest.fixture
def submissions(store) -> Submissions:
    return Submissions(store)


def refs(*values: str):
    """A reference maker that hands out ``values`` in turn."""
    return iter(values).__next__


def suggest(submissions: Submissions, branch="鼓韵堂党支部", text=TEXT, at=AT, ref="AAAAAAAAAA", **more):
    values = {"category": "民生实事", "name": None, "contact": None, **more}
    return submissions.record_suggestion(branch, values["category"], text, values["name"], values["contact"], at, refs(ref))


def test_a_report_is_stored_once_and_a_repeat_gives_the_first_quarter(submissions):
    first = submissions.record_report("鼓韵堂党支部", "王建军", "2026Q4", TEXT, AT)
    assert (first.new, first.quarter) == (True, "2026Q4")
    # The same report sent again next quarter is still the same report.
    again = submissions.record_report("鼓韵堂党支部", "王建军", "2027Q1", TEXT, AT + timedelta(days=40))
    assert (again.new, again.quarter) == (False, "2026Q4")
    assert submissions.record_report("栖息栈党支部", "王建军", "2026Q4", TEXT, AT).new
    assert submissions.record_report("鼓韵堂党支部", "李秀英", "2026Q4", TEXT, AT).new
    assert submissions.record_report("鼓韵堂党支部", "王建军", "2026Q4", TEXT + "补充。", AT).new
    stored = submissions.reports(EVERYTHING)
    assert len(stored) == 4
    assert stored[-1].received_at == AT and stored[-1].received_at.tzinfo == timezone.utc


def test_a_5000_character_report_is_stored_whole(submissions):
    # Longer than PostgreSQL could index: the repeat check works on a hash of it.
    text = ("党" * 4999) + "🙂"
    assert submissions.record_report("鼓韵堂党支部", "王建军", "2026Q4", text, AT).new
    assert not submissions.record_report("鼓韵堂党支部", "王建军", "2026Q4", text, AT).new
    (report,) = submissions.reports(GUYUN)
    assert report.text == text


def test_a_suggestion_repeated_within_a_minute_is_the_first_one(submissions):
    first = suggest(submissions, ref="K7Q2M9XD4R", name="王建军", contact="13800000000")
    assert (first.new, first.ref) == (True, "K7Q2M9XD4R")
    again = suggest(submissions, at=AT + timedelta(seconds=59), ref="ZZZZZZZZZZ", category="其他")
    assert (again.new, again.ref) == (False, "K7Q2M9XD4R")
    other_branch = suggest(submissions, branch="栖息栈党支部", at=AT + timedelta(seconds=5), ref="BBBBBBBBBB")
    assert (other_branch.new, other_branch.ref) == (True, "BBBBBBBBBB")
    later = suggest(submissions, at=AT + timedelta(seconds=61), ref="CCCCCCCCCC")
    assert (later.new, later.ref) == (True, "CCCCCCCCCC")
    # Within a minute of the latest copy, a repeat is that one.
    assert suggest(submissions, at=AT + timedelta(seconds=90), ref="DDDDDDDDDD").ref == "CCCCCCCCCC"
    assert [s.ref for s in submissions.suggestions(EVERYTHING)] == ["CCCCCCCCCC", "BBBBBBBBBB", "K7Q2M9XD4R"]


def test_a_reference_already_taken_is_not_reused(submissions):
    suggest(submissions, ref="K7Q2M9XD4R")
    second = submissions.record_suggestion("鼓韵堂党支部", "其他", "另一条建议的内容", None, None, AT,
                                           refs("K7Q2M9XD4R", "M9XDK7Q24R"))
    assert second.ref == "M9XDK7Q24R"
    with pytest.raises(RuntimeError, match="random"):
        submissions.record_suggestion("鼓韵堂党支部", "其他", "第三条建议的内容", None, None, AT,
                                      itertools.repeat("K7Q2M9XD4R").__next__)
    assert len(submissions.suggestions(EVERYTHING)) == 2


def test_the_lookup_by_reference_carries_nothing_personal(submissions):
    suggest(submissions, ref="K7Q2M9XD4R", name="王建军", contact="13800000000")
    progress = submissions.progress("K7Q2M9XD4R")
    assert {f.name for f in fields(SuggestionProgress)} == {
        "ref", "branch", "category", "status", "reply", "replied_at", "received_at"}
    assert (progress.status, progress.status_label, progress.reply) == ("received", "已收到", None)
    assert submissions.progress("K7Q2M9XD4S") is None
    assert submissions.progress("k7q2m9xd4r") is None  # the caller normalises references


def test_the_desk_sees_only_its_scope(submissions):
    for branch, ref in (("鼓韵堂党支部", "AAAAAAAAAA"), ("栖息栈党支部", "BBBBBBBBBB"), ("已撤销党支部", "CCCCCCCCCC")):
        suggest(submissions, branch=branch, ref=ref, name="王建军", contact="13800000000")
        submissions.record_report(branch, "王建军", "2026Q4", TEXT, AT)
    assert {s.branch for s in submissions.suggestions(GUYUN)} == {"鼓韵堂党支部"}
    assert {s.branch for s in submissions.suggestions(NANJING)} == {"鼓韵堂党支部", "栖息栈党支部"}
    # `all` also sees branches no longer in the config.
    assert {s.branch for s in submissions.suggestions(EVERYTHING)} == {"鼓韵堂党支部", "栖息栈党支部", "已撤销党支部"}
    assert submissions.suggestions(NOBODY) == [] and submissions.reports(NOBODY) == []
    assert {r.branch for r in submissions.reports(NANJING)} == {"鼓韵堂党支部", "栖息栈党支部"}
    (mine,) = submissions.suggestions(GUYUN)
    assert (mine.name, mine.contact) == ("王建军", "13800000000")  # secretaries in scope see the contact
    other = submissions.suggestions(EVERYTHING)[0]
    assert other.branch == "已撤销党支部"
    assert submissions.suggestion(GUYUN, other.id) is None
    assert submissions.suggestion(EVERYTHING, other.id) == other


def test_reports_by_quarter_and_year_newest_first(submissions):
    for n, quarter in enumerate(["2025Q4", "2026Q1", "2026Q4", "2026Q4"]):
        submissions.record_report("鼓韵堂党支部", f"党员{n}", quarter, TEXT, AT + timedelta(minutes=n))
    assert [r.name for r in submissions.reports(GUYUN)] == ["党员3", "党员2", "党员1", "党员0"]
    assert [r.name for r in submissions.reports(GUYUN, quarter="2026Q4")] == ["党员3", "党员2"]
    assert [r.name for r in submissions.reports(GUYUN, year=2026)] == ["党员3", "党员2", "党员1"]
    assert [r.name for r in submissions.reports(GUYUN, limit=1)] == ["党员3"]


def test_answering_a_suggestion_in_scope_and_refusing_one_outside(submissions):
    suggest(submissions, ref="K7Q2M9XD4R")
    (suggestion,) = submissions.suggestions(GUYUN)
    outsider = Scope("栖息栈党支部", ("栖息栈党支部",))
    assert submissions.answer(outsider, suggestion.id, status="answered", reply="越权", by="qixi", at=AT) is False
    assert submissions.progress("K7Q2M9XD4R").status == "received"
    assert submissions.answer(GUYUN, suggestion.id + 1000, status="answered", reply="x", by="guyun", at=AT) is False
    assert submissions.answer(NANJING, suggestion.id, status="in_progress", reply="", by="nanjing", at=AT)
    progress = submissions.progress("K7Q2M9XD4R")
    assert (progress.status_label, progress.reply) == ("办理中", None)
    replied = AT + timedelta(days=3)
    assert submissions.answer(GUYUN, suggestion.id, status="answered", reply="已协调解决工资拖欠问题。", by="guyun", at=replied)
    progress = submissions.progress("K7Q2M9XD4R")
    assert (progress.status_label, progress.reply, progress.replied_at) == ("已答复", "已协调解决工资拖欠问题。", replied)
    assert submissions.suggestion(GUYUN, suggestion.id).replied_by == "guyun"
    with pytest.raises(ValueError, match="unknown suggestion status"):
        submissions.answer(GUYUN, suggestion.id, status="已答复", reply="", by="guyun", at=AT)


def test_counts_for_the_overview(submissions):
    for n in range(3):
        submissions.record_report("鼓韵堂党支部", f"党员{n}", "2026Q4", TEXT, AT)
    submissions.record_report("鼓韵堂党支部", "党员9", "2026Q3", TEXT, AT)
    submissions.record_report("栖息栈党支部", "党员0", "2026Q4", TEXT, AT)
    submissions.record_report("浦东项目部党支部", "党员0", "2026Q4", TEXT, AT)
    assert submissions.report_counts(NANJING, "2026Q4") == {"鼓韵堂党支部": 3, "栖息栈党支部": 1}
    for n, branch in enumerate(["鼓韵堂党支部", "鼓韵堂党支部", "栖息栈党支部"]):
        suggest(submissions, branch=branch, text=f"第{n}条建议", ref=f"REF{n:07d}")
    first = submissions.suggestions(GUYUN)[-1]
    submissions.answer(GUYUN, first.id, status="answered", reply="好", by="guyun", at=AT)
    assert submissions.open_counts(NANJING) == {"鼓韵堂党支部": 1, "栖息栈党支部": 1}
    assert [s.status for s in submissions.suggestions(NANJING, open_only=True)] == ["received", "received"]
    assert len(submissions.suggestions(NANJING, status="answered")) == 1


def test_suggestions_received_in_a_span_of_time(submissions):
    for n, hours in enumerate([-1, 0, 5, 24]):
        suggest(submissions, text=f"第{n}条建议的内容", at=AT + timedelta(hours=hours), ref=f"REF{n:07d}")
    found = submissions.suggestions(GUYUN, received=(AT, AT + timedelta(hours=24)))
    assert [s.ref for s in found] == ["REF0000002", "REF0000001"]


def test_copies_sent_at_once_to_two_instances_make_one_suggestion(database):
    # Two stores are two endpoint processes: on PostgreSQL they share nothing but the database.
    stores = [open_store(database), open_store(database)]
    counter = itertools.count()
    lock = threading.Lock()

    def new_ref() -> str:
        with lock:
            return f"R{next(counter):09d}"

    answers = []
    barrier = threading.Barrier(8)

    def send(worker: int) -> None:
        barrier.wait()
        store = stores[worker % 2]
        answers.append(Submissions(store).record_suggestion("鼓韵堂党支部", "其他", TEXT, None, None, AT, new_ref))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert sum(answer.new for answer in answers) == 1
        assert len({answer.ref for answer in answers}) == 1
        assert len(Submissions(stores[0]).suggestions(EVERYTHING)) == 1
    finally:
        for store in stores:
            store.close()
