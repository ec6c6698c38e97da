"""The framework-free side of reports and suggestions: references, quarters in the hub's time zone."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kite.attendance.refs import ALPHABET, LENGTH, new_ref, read_ref, show_ref
from kite.attendance.sessions import RosterSource
from kite.attendance.submissions import quarter_label, record_report
from kite.desk.scope import Scope
from kite.storage import Submissions, open_store

REPORT = {"name": "王建军", "branch": "鼓韵堂党支部", "text": "本季度参加党课三次，在工地带头落实安全生产责任。"}
NEW_YEAR_IN_BEIJING = datetime(2026, 12, 31, 16, 30, tzinfo=timezone.utc)  # 2027-01-01 00:30 in Beijing


def test_new_references_are_ten_random_crockford_characters():
    refs = {new_ref() for _ in range(2000)}
    assert len(refs) == 2000
    assert all(len(ref) == LENGTH == 10 and set(ref) <= set(ALPHABET) for ref in refs)
    assert len(ALPHABET) == 32 and not set("ILOU") & set(ALPHABET)  # 10 × 5 = 50 bits
    # Every character turns up in every position: nothing fixed, nothing counted.
    assert all(len({ref[n] for ref in refs}) == 32 for n in range(LENGTH))


@pytest.mark.parametrize("typed", ["K7Q2-M9XD-4R", "k7q2m9xd4r", " k7q2 m9xd 4r ", "K7Q2—M9XD—4R", "Ｋ７Ｑ２－Ｍ９ＸＤ－４Ｒ"])
def test_a_reference_is_read_back_however_it_was_typed(typed):
    assert read_ref(typed) == "K7Q2M9XD4R"
    assert show_ref("K7Q2M9XD4R") == "K7Q2-M9XD-4R"


def test_letters_misread_for_digits_are_taken_as_the_digits():
    assert read_ref("K7Q2-M9XD-OI") == read_ref("K7Q2-M9XD-01") == "K7Q2M9XD01"
    assert read_ref("l0l0-l0l0-l0") == "1010101010"


@pytest.mark.parametrize("typed", [None, 42, "", "K7Q2-M9XD", "K7Q2-M9XD-4R5", "K7Q2-M9XD-4U", "K7Q2/M9XD/4R", "党" * 10, "x" * 100])
def test_anything_else_is_no_reference(typed):
    assert read_ref(typed) is None


@pytest.mark.parametrize("zone, quarter", [("Asia/Shanghai", "2027Q1"), ("Europe/London", "2026Q4")])
def test_a_report_counts_in_the_quarter_of_the_hubs_time_zone(hub, tmp_path, zone, quarter):
    hub.configure(timezone=zone)
    store = open_store(tmp_path / "attendance.sqlite3")
    answer = record_report(Submissions(store), RosterSource(hub.config).roster, REPORT, NEW_YEAR_IN_BEIJING)
    assert (answer.status, answer.quarter) == (201, quarter)
    (stored,) = Submissions(store).reports(Scope("all", (), everything=True))
    assert stored.quarter == quarter
    store.close()


def test_quarters_as_members_read_them():
    assert [quarter_label(f"2026Q{n}") for n in range(1, 5)] == ["2026年第一季度", "2026年第二季度", "2026年第三季度", "2026年第四季度"]


def test_report_receipts_are_read_back_only_with_the_same_key_and_only_for_a_week():
    from datetime import timedelta

    from kite.attendance.confirmation import LinkInvalid
    from kite.attendance.receipts import ReportReceipt, ReportReceipts

    asked = []
    lazily = ReportReceipts(lambda: asked.append(1) or "shared-secret")  # e.g. the secret kept in the database
    assert asked == []  # not read until a link is made
    receipt = ReportReceipt("recorded", "鼓韵堂党支部", "王建军", "2026Q4", NEW_YEAR_IN_BEIJING)
    link = lazily.link(receipt)
    assert link.startswith("report/done?t=") and asked == [1]
    token = link.split("t=", 1)[1]
    other_instance = ReportReceipts("shared-secret")
    assert other_instance.read(token, now=NEW_YEAR_IN_BEIJING) == receipt
    with pytest.raises(LinkInvalid) as wrong_key:
        ReportReceipts("another-secret").read(token, now=NEW_YEAR_IN_BEIJING)
    assert not wrong_key.value.expired
    with pytest.raises(LinkInvalid) as old:
        other_instance.read(token, now=NEW_YEAR_IN_BEIJING + timedelta(days=8))
    assert old.value.expired
