"""Check-ins to an ``attendance: code`` activity, with the endpoint's clock in the test's hands.

On SQLite and on PostgreSQL: the code rotates every ``code_seconds``, the one before is
still accepted, a wrong one is refused and counted, and after 20 wrong codes the person
gets 429 for the rest of that session, the right code included.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from kite.attendance.livecode import MAX_WRONG, live_codes
from kite.attendance.secret import SECRET_VARIABLE, shared_secret
from kite.attendance.sessions import RosterSource
from kite.attendance.web import create_app
from kite.desk.records import LATE, ON_TIME, checkin_status
from kite.storage import database_url, open_store

KEY = "live-code-test-key"
BEIJING = ZoneInfo("Asia/Shanghai")
STARTS = datetime(2026, 12, 5, 19, 30, tzinfo=BEIJING)
SESSION = "announcements/红雁夜学"
ME = {"session": SESSION, "branch": "鼓韵堂党支部", "name": "王建军"}
JSON = {"Accept": "application/json"}


class Clock:
    """The endpoint's time, moved by the test."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class LiveEndpoint:
    def __init__(self, client: TestClient, store, clock: Clock, source: RosterSource):
        self.client, self.store, self.clock = client, store, clock
        self.roster = lambda: source.roster
        self.codes = live_codes(shared_secret(store, KEY), store)

    def code(self, seconds_ago: float = 0) -> str:
        return self.codes.current(SESSION, 120, self.clock() - timedelta(seconds=seconds_ago)).code

    def post(self, code: str | None, **changes) -> object:
        fields = {**ME, **changes}
        if code is not None:
            fields["code"] = code
        return self.client.post("/checkin", json=fields, headers=JSON)

    def post_form(self, code: str | None, **changes):
        fields = {**ME, **changes}
        if code is not None:
            fields["code"] = code
        return self.client.post("/checkin", data=fields)

    def names(self) -> list[str]:
        return [c.name for c in self.store.checkins(SESSION)]


def live_hub(hub) -> None:
    hub.announcement("红雁夜学", "title: 红雁e站夜学\ndate: 2026-12-01\nstarts: 2026-12-05 19:30\n"
                                 "ends: 2026-12-05 21:00\nlocation: 红雁e站线上活动室\nattendance: code")
    hub.announcement("普通活动", "title: 不用签到码的活动\ndate: 2026-12-01\nstarts: 2026-12-05 19:30\nattendance: true")
    hub.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true")


@pytest.fixture
def live(hub, database):
    live_hub(hub)
    store = open_store(database)
    source = RosterSource(hub.config)
    clock = Clock(STARTS - timedelta(minutes=5))
    app = create_app(store, lambda: source.roster, secret_key=KEY, clock=clock)
    with TestClient(app, base_url="http://127.0.0.1:8001", follow_redirects=False) as client:
        yield LiveEndpoint(client, store, clock, source)
    store.close()


def test_the_current_code_checks_in_once(live):
    answer = live.post(live.code())
    assert (answer.status_code, answer.json()["status"]) == (201, "recorded")
    again = live.post(live.code())
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert live.names() == ["王建军"]


@pytest.mark.parametrize("code", [None, "", "   "])
def test_no_code_is_403_on_the_code_field_and_stores_nothing(live, code):
    answer = live.post(code)
    assert answer.status_code == 403
    assert answer.json()["field"] == "code"
    assert "签到码" in answer.json()["error"]
    assert live.names() == []


def test_a_wrong_code_is_403_and_never_a_check_in(live):
    wrong = f"{(int(live.code()) + 1) % 10000:04}"
    answer = live.post(wrong)
    assert answer.status_code == 403
    assert answer.json() == {"error": answer.json()["error"], "field": "code"}
    assert "签到码不对" in answer.json()["error"]
    assert live.names() == []


def test_the_code_rotates_and_the_one_before_is_still_accepted(live):
    first = live.code()
    live.clock.advance(120)
    second = live.code()
    live.clock.advance(120)
    third = live.code()
    assert len({first, second, third}) == 3  # fixed key and times: these three differ
    # Now: `third` is current, `second` the one before, `first` two steps old.
    assert live.post(first, name="甲").status_code == 403
    assert live.post(second, name="乙").status_code == 201
    assert live.post(third, name="丙").status_code == 201
    assert live.names() == ["乙", "丙"]


def test_the_code_changes_on_the_step_boundary(live):
    # code_seconds 120: steps start on whole multiples of 120 s since the epoch.
    boundary = datetime.fromtimestamp((int(live.clock().timestamp()) // 120 + 1) * 120, timezone.utc)
    live.clock.now = boundary - timedelta(seconds=1)
    before = live.code()
    live.clock.now = boundary
    assert live.code() != before
    assert live.codes.current(SESSION, 120, boundary - timedelta(seconds=1)).valid_until == boundary
    # The code from the second before the boundary is accepted until the next boundary.
    live.clock.now = boundary + timedelta(seconds=119)
    assert live.post(before, name="甲").status_code == 201
    live.clock.now = boundary + timedelta(seconds=120)
    assert live.post(before, name="乙").status_code == 403


def test_full_width_digits_and_spaces_from_chinese_keyboards_are_accepted(live):
    typed = " ".join(chr(ord("０") + int(digit)) for digit in live.code())  # "０ ４ ２ ７"
    assert live.post(typed).status_code == 201


@pytest.mark.parametrize("code", ["123", "12345", "abcd", "12a4"])
def test_a_code_that_is_not_4_digits_is_403_and_not_counted(live, code):
    for _ in range(MAX_WRONG + 1):
        answer = live.post(code)
        assert answer.status_code == 403
        assert "4 位数字" in answer.json()["error"]
    assert live.post(live.code()).status_code == 201


@pytest.mark.parametrize("code", [1234, ["1234"], "1" * 21, "12\x0034"])
def test_malformed_code_values_are_400_on_the_code_field(live, code):
    answer = live.post(code)
    assert answer.status_code == 400
    assert answer.json()["field"] == "code"
    assert live.names() == []


def test_after_20_wrong_codes_every_try_is_429_for_that_person_and_session(live):
    wrong = f"{(int(live.code()) + 5000) % 10000:04}"
    statuses = [live.post(wrong).status_code for _ in range(MAX_WRONG)]
    assert statuses == [403] * MAX_WRONG
    blocked = live.post(live.code())  # the right code included
    assert blocked.status_code == 429
    assert blocked.json()["field"] == "code"
    assert live.post(wrong).status_code == 429
    assert live.post(None).status_code == 429
    # The same person however the name is written (the desk's matching), still blocked later on.
    live.clock.advance(3600)
    assert live.post(live.code(), name="王 建军").status_code == 429
    assert live.post(live.code(), name="王建军\u3000").status_code == 429
    assert live.names() == []
    # Another name, another branch, another session: unaffected.
    assert live.post(live.code(), name="李秀英").status_code == 201
    assert live.post(live.code(), branch="栖息栈党支部").status_code == 201
    assert live.post(None, session="announcements/普通活动").status_code == 201


def test_the_last_wrong_codes_are_announced(live):
    wrong = f"{(int(live.code()) + 5000) % 10000:04}"
    messages = [live.post(wrong).json()["error"] for _ in range(MAX_WRONG)]
    assert "还可以" not in messages[0]
    assert "还可以再试 5 次" in messages[-6]
    assert "还可以再试 1 次" in messages[-2]
    assert "不能再签到" in messages[-1]


def test_a_form_post_with_a_wrong_code_gets_a_readable_page(live):
    wrong = f"{(int(live.code()) + 1) % 10000:04}"
    page = live.post_form(wrong)
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "签到码不对" in page.text and "签到成功" not in page.text
    for _ in range(MAX_WRONG - 1):
        live.post_form(wrong)
    blocked = live.post_form(live.code())
    assert blocked.status_code == 429 and "不能再签到" in blocked.text
    assert live.names() == []


def test_a_form_post_with_the_code_is_confirmed(live):
    answer = live.post_form(live.code())
    assert answer.status_code == 303
    page = live.client.get("/" + answer.headers["location"])
    assert "签到成功" in page.text and "红雁e站夜学" in page.text


def test_the_contract_order_unknown_session_then_window_then_code(live):
    assert live.post("0000", session="announcements/没有这个活动").status_code == 404
    assert live.post("0000", branch="没有这个支部").status_code == 400
    live.clock.now = STARTS - timedelta(hours=2)  # before the window opens
    early = live.post(live.code())
    assert early.status_code == 403 and early.json()["field"] == "session"
    live.clock.now = STARTS + timedelta(hours=3)  # after it closed: no code counts
    for _ in range(MAX_WRONG + 1):
        assert live.post("0000").json()["field"] == "session"
    live.clock.now = STARTS
    assert live.post(live.code()).status_code == 201  # the tries outside the window were not counted


def test_a_wrong_code_answers_the_same_whoever_is_named(live):
    # Nobody's name is looked up: an unknown name and a member who already checked in get the same answer.
    assert live.post(live.code(), name="已签到的人").status_code == 201
    wrong = f"{(int(live.code()) + 1) % 10000:04}"
    answers = [live.post(wrong, name=name) for name in ("已签到的人", "从没听说过的人")]
    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].json() == answers[1].json()


def test_sessions_without_a_live_code_ignore_the_code_field(live):
    assert live.post("0000", session="announcements/普通活动").status_code == 201
    assert live.post(None, session="lessons/签到课").status_code == 201


def test_each_activity_has_its_own_code(live):
    other = live.codes.current("announcements/另一个活动", 120, live.clock())
    mine = live.codes.current(SESSION, 120, live.clock())
    later = [live.codes.current(s, 120, live.clock() + timedelta(seconds=120 * n)).code
             for s in (SESSION, "announcements/另一个活动") for n in range(1, 4)]
    assert (mine.code, *later[:3]) != (other.code, *later[3:])


def test_wrong_codes_are_kept_without_names(live, database):
    wrong = f"{(int(live.code()) + 1) % 10000:04}"
    live.post(wrong)
    engine = create_engine(database_url(database))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT session, person, attempts FROM wrong_codes")).all()
    engine.dispose()
    assert [(row.session, row.attempts) for row in rows] == [(SESSION, 1)]
    assert "王建军" not in rows[0].person and len(rows[0].person) == 64


@pytest.mark.parametrize("minutes, status", [(10, ON_TIME), (10 + 1 / 60, LATE)])
def test_on_time_until_starts_plus_late_after(live, minutes, status):
    live.clock.now = STARTS + timedelta(minutes=minutes)
    assert live.post(live.code()).status_code == 201
    (stored,) = live.store.checkins(SESSION)
    roster = live.roster()
    starts = roster.sessions[SESSION].starts
    assert starts == STARTS
    assert checkin_status(stored.checked_in_at, starts, roster.config.attendance.late_after) == status


def test_postgresql_down_answers_503_for_a_live_code_and_recovers(hub, postgres, postgres_url, monkeypatch):
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    live_hub(hub)
    store = open_store(postgres_url)
    source = RosterSource(hub.config)
    clock = Clock(STARTS)
    codes = live_codes(shared_secret(store), store)  # the host's screen, which read the secret earlier
    code = codes.current(SESSION, 120, clock()).code
    # This endpoint has not needed the secret yet: it must read it from the database that is down.
    with TestClient(create_app(store, lambda: source.roster, clock=clock), follow_redirects=False) as client:
        postgres.stop()
        try:
            answer = client.post("/checkin", json={**ME, "code": code}, headers=JSON)
            assert answer.status_code == 503 and answer.headers["retry-after"].isdigit()
            assert "没有保存" in answer.json()["error"]
            page = client.post("/checkin", data={**ME, "code": code})
            assert page.status_code == 503 and "没有保存" in page.text
            link = client.get("/checkin/done?t=anything")
            assert link.status_code == 503 and link.headers["retry-after"].isdigit()
        finally:
            postgres.start()
        answer = client.post("/checkin", json={**ME, "code": code}, headers=JSON)
        assert answer.status_code == 201, answer.text
    assert [c.name for c in store.checkins(SESSION)] == ["王建军"]
    store.close()


def test_random_codes_never_get_a_5xx(live):
    generator = random.Random(14)
    alphabet = "0123456789０１２３４５６７８９ \t\n\u3000abc-+.%\u200b\U0001F600"
    values: list[object] = [None, True, 0, 1234, 12.5, [], {}, ["0427"], {"code": "0427"}, "0" * 10_000]
    values += ["".join(generator.choice(alphabet) for _ in range(generator.randint(0, 8))) for _ in range(120)]
    for value in values:
        answer = live.client.post("/checkin", json={**ME, "name": f"随机{generator.randint(0, 5)}", "code": value},
                                  headers=JSON)
        assert answer.status_code in (201, 200, 400, 403, 413, 429), (value, answer.status_code)
        if answer.status_code >= 400:
            assert answer.json()["field"] in ("code", "body")
    for value in values[:40]:
        if isinstance(value, str):
            form = live.client.post("/checkin", data={**ME, "code": value})
            assert form.status_code < 500
