"""The live code library: RFC 4226/6238 arithmetic, the shared secret, agreement between instances."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from starlette.testclient import TestClient

from kite.attendance.confirmation import Confirmation, Confirmations
from kite.attendance.livecode import code_of_step, live_codes, normalise, step_of
from kite.attendance.secret import SECRET_VARIABLE, shared_secret
from kite.attendance.sessions import RosterSource
from kite.attendance.web import create_app
from kite.storage import LiveStore, open_store

SESSION = "announcements/红雁夜学"


def test_codes_are_rfc_4226_hotp_truncated_to_4_digits():
    # RFC 4226, Appendix D: the secret "12345678901234567890" gives 755224, 287082, 359152 …
    secret = b"12345678901234567890"
    assert [code_of_step(secret, count) for count in range(3)] == ["5224", "7082", "9152"]


def test_steps_are_rfc_6238_time_steps_from_the_epoch():
    # RFC 6238, Appendix B: at 59 s with 30 s steps, T = 1 (whose SHA-1 TOTP is 94287082).
    assert step_of(datetime.fromtimestamp(59, timezone.utc), 30) == 1
    assert step_of(datetime.fromtimestamp(1111111109, timezone.utc), 30) == 0x23523EC
    with pytest.raises(ValueError):
        step_of(datetime(2026, 12, 5, 19, 30), 120)  # naive: refused, not guessed


def test_typed_codes_are_normalised():
    assert normalise("０４２７") == "0427"
    assert normalise(" 04 27\t") == "0427"


def test_the_server_secret_is_made_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    db = tmp_path / "attendance.sqlite3"
    store = open_store(db)
    first = LiveStore(store).server_secret()
    assert len(first) >= 40 and first == LiveStore(store).server_secret()
    store.close()
    store = open_store(db)  # a restart
    assert LiveStore(store).server_secret() == first
    store.close()
    other = open_store(tmp_path / "other.sqlite3")
    assert LiveStore(other).server_secret() != first  # another hub's database, another secret
    other.close()


def test_instances_racing_for_a_new_secret_all_get_the_same_one(postgres_url, monkeypatch):
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    stores = [open_store(postgres_url) for _ in range(6)]
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            secrets = list(pool.map(lambda store: LiveStore(store).server_secret(), stores))
    finally:
        for store in stores:
            store.close()
    assert len(set(secrets)) == 1


def test_two_instances_on_one_database_agree_on_codes(database, monkeypatch):
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    one, two = open_store(database), open_store(database)
    at = datetime(2026, 12, 5, 11, 31, tzinfo=timezone.utc)
    try:
        first, second = (live_codes(shared_secret(store), store) for store in (one, two))
        assert first.current(SESSION, 120, at) == second.current(SESSION, 120, at)
        assert second.accepts(SESSION, 120, first.current(SESSION, 120, at).code, at)
        # Counters too: wrong codes sent to either add up.
        wrong = next(code for code in ("0000", "0001", "0002") if not first.accepts(SESSION, 120, code, at))
        verdicts = [codes.check(SESSION, "鼓韵堂党支部", "王建军", 120, wrong, at) for codes in (first, second) * 3]
        assert [v.remaining for v in verdicts] == [19, 18, 17, 16, 15, 14]
        assert LiveStore(one).wrong_codes(SESSION, first.person(SESSION, "鼓韵堂党支部", "王建军")) == 6
    finally:
        one.close()
        two.close()


def test_kite_secret_key_wins_over_the_database(tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_VARIABLE, "from-the-environment")
    store = open_store(tmp_path / "a.sqlite3")
    other = open_store(tmp_path / "b.sqlite3")
    at = datetime(2026, 12, 5, 11, 31, tzinfo=timezone.utc)
    try:
        # Two databases, one configured key: the same codes; and no secret was written.
        assert live_codes(shared_secret(store), store).current(SESSION, 120, at) == \
            live_codes(shared_secret(other), other).current(SESSION, 120, at)
        assert shared_secret(store).value() == "from-the-environment"
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM server_secrets").scalar() == 0
    finally:
        store.close()
        other.close()


def test_valid_until_is_the_next_step_and_iso_8601():
    from kite.attendance.livecode import LiveCode

    code = LiveCode("0427", datetime(2026, 12, 5, 11, 32, tzinfo=timezone.utc))
    assert code.as_json() == {"code": "0427", "valid_until": "2026-12-05T11:32:00+00:00"}


def test_a_confirmation_link_from_one_instance_reads_on_another(hub, database, monkeypatch):
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    hub.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true")
    source = RosterSource(hub.config)
    one, two = open_store(database), open_store(database)
    try:
        with TestClient(create_app(one, lambda: source.roster), follow_redirects=False) as first, \
                TestClient(create_app(two, lambda: source.roster)) as second:
            answer = first.post("/checkin", data={"session": "lessons/签到课", "branch": "鼓韵堂党支部", "name": "王建军"})
            assert answer.status_code == 303
            page = second.get("/" + answer.headers["location"])
            assert page.status_code == 200 and "签到成功" in page.text and "王建军" in page.text
    finally:
        one.close()
        two.close()


def test_confirmations_take_their_key_when_first_needed():
    asked = []

    def key() -> str:
        asked.append(1)
        return "k"

    confirmations = Confirmations(key)
    assert asked == []
    now = datetime.now(timezone.utc)
    link = confirmations.link(Confirmation("recorded", "lessons/x", "b", "n", now))
    assert Confirmations("k").read(link.split("t=", 1)[1], now + timedelta(seconds=1)).name == "n"
    assert asked == [1]
