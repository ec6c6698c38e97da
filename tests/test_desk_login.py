"""Logging in to the desk, over HTTP, on SQLite and PostgreSQL (contract, section 5: accounts and access)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import select, update

from desk_client import PASSWORD, csrf_in, desk_app_fixture
from kite.storage.schema import desk_sessions, login_failures

desk = pytest.fixture(desk_app_fixture)


def cookies_set(answer) -> dict[str, SimpleCookie]:
    found = {}
    for header in answer.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        found.update({name: cookie for name in cookie})
    return found


def without_tokens(html: str) -> str:
    return re.sub(r'name="csrf" value="[^"]+"', "", html)


def test_the_login_form_has_login_password_and_a_token_of_its_own(desk):
    answer = desk.client().get("/desk/login")
    assert answer.status_code == 200
    html = answer.text
    assert re.search(r'<input[^>]+name="login"', html) and re.search(r'<input[^>]+type="password"[^>]+name="password"', html)
    assert re.search(r'<input type="hidden" name="csrf" value="[\w-]{40,}"', html)
    assert '<meta name="baiduspider" content="noindex, nofollow">' in html
    assert answer.headers["cache-control"] == "no-store"
    assert "kite_desk_login" in cookies_set(answer)


def test_the_right_password_gives_303_to_the_desk_and_a_guarded_session_cookie(desk):
    client = desk.client()
    answer = client.login("ningbo")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/desk/"
    cookie = cookies_set(answer)["kite_desk"]["kite_desk"]
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() in ("lax", "strict")
    assert not cookie["secure"]  # this hub's endpoint is http
    assert cookie["path"] == "/desk"
    assert client.get("/desk/").status_code == 200


@pytest.mark.parametrize("endpoint, secure", [("https://example.org/checkin", True), ("http://127.0.0.1:8001", False)])
def test_the_cookie_is_secure_exactly_when_the_endpoint_is_https(desk, endpoint, secure):
    desk.hub.write("site_config.yml", desk.hub.config.read_text(encoding="utf-8").replace(
        "endpoint: http://127.0.0.1:8001", f"endpoint: {endpoint}"))
    desk.source.refresh()
    client = desk.client()
    form = client.get("/desk/login")
    nonce = cookies_set(form)["kite_desk_login"]["kite_desk_login"]
    assert bool(nonce["secure"]) is secure
    # Sent by hand: the test client talks plain http, where a browser would not send a Secure cookie.
    answer = client.http.post("/desk/login", data={"login": "ningbo", "password": PASSWORD, "csrf": csrf_in(form.text)},
                              headers={"Cookie": f"kite_desk_login={nonce.value}"})
    assert answer.status_code == 303
    assert bool(cookies_set(answer)["kite_desk"]["kite_desk"]["secure"]) is secure


def test_behind_the_proxy_the_desk_lives_under_the_endpoints_path(desk):
    # nginx passes Host on: a request through the public address is answered with its paths.
    desk.hub.write("site_config.yml", desk.hub.config.read_text(encoding="utf-8").replace(
        "endpoint: http://127.0.0.1:8001", "endpoint: https://example.org/checkin"))
    desk.source.refresh()
    answer = desk.client().get("/desk/", headers={"Host": "example.org"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/checkin/desk/login"
    form = desk.client().get("/desk/login", headers={"Host": "example.org"})
    assert 'action="/checkin/desk/login"' in form.text


def test_a_wrong_password_and_an_unknown_login_get_the_same_401_page(desk):
    wrong = desk.client().login("ningbo", "not-the-password")
    unknown = desk.client().login("nobody-here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "登录名或密码不对" in wrong.text
    # The same words; only the login typed in is filled in again.
    assert without_tokens(wrong.text).replace("ningbo", "X") == without_tokens(unknown.text).replace("nobody-here", "X")
    assert "kite_desk" not in cookies_set(wrong)


def test_logins_are_compared_as_a_phone_keyboard_types_them(desk):
    assert desk.client().login("Ｎｉｎｇｂｏ ").status_code == 303


def test_ten_failures_still_let_the_right_password_in(desk):
    client = desk.client()
    for _ in range(10):
        assert client.login("guyun", "wrong-password").status_code == 401
    assert client.login("guyun").status_code == 303


def test_more_than_ten_failures_lock_that_login_for_15_minutes_after_the_last(desk):
    client = desk.client()
    for _ in range(11):
        assert client.login("guyun", "wrong-password").status_code == 401
    locked = client.login("guyun")  # the right password
    assert locked.status_code == 429
    assert "暂停登录" in locked.text
    # Per login, not per address: the same browser logs in to another account.
    assert client.login("ningbo").status_code == 303
    # An unknown login is locked the same way: locking tells nobody which logins exist.
    stranger = desk.client()
    for _ in range(11):
        assert stranger.login("nobody-here", "wrong-password").status_code == 401
    assert stranger.login("nobody-here", "wrong-password").status_code == 429

    def age_failures(minutes: float) -> None:
        with desk.store.writing() as connection:
            rows = connection.execute(select(login_failures.c.id, login_failures.c.failed_at)
                                      .where(login_failures.c.login == "guyun")).all()
            for row_id, failed_at in rows:
                connection.execute(update(login_failures).where(login_failures.c.id == row_id)
                                   .values(failed_at=failed_at - timedelta(minutes=minutes)))

    age_failures(14)
    assert desk.client().login("guyun").status_code == 429
    age_failures(1.1)
    assert desk.client().login("guyun").status_code == 303


def test_each_login_starts_a_session_of_its_own(desk):
    phone, office = desk.client("ningbo"), desk.client("ningbo")
    assert phone.http.cookies.get("kite_desk") != office.http.cookies.get("kite_desk")
    assert phone.post("/desk/logout").status_code == 303
    assert phone.get("/desk/").status_code == 303
    assert office.get("/desk/").status_code == 200


def test_a_cookie_planted_before_login_is_never_the_session(desk):
    client = desk.client()
    client.http.cookies.set("kite_desk", "planted-by-someone-else", path="/desk")
    answer = client.login("ningbo")
    assert cookies_set(answer)["kite_desk"]["kite_desk"].value != "planted-by-someone-else"


def test_logout_ends_the_session_and_a_replayed_cookie_no_longer_works(desk):
    client = desk.client("ningbo")
    token = client.http.cookies.get("kite_desk")
    answer = client.post("/desk/logout")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/desk/login"
    assert client.get("/desk/").status_code == 303
    replay = desk.client()
    replay.http.cookies.set("kite_desk", token, path="/desk")
    assert replay.get("/desk/").status_code == 303
    assert replay.get("/desk/branches/鼓韵堂党支部").status_code == 303


def test_the_database_keeps_only_a_hash_of_the_session_token(desk):
    client = desk.client("ningbo")
    token = client.http.cookies.get("kite_desk")
    with desk.store.reading() as connection:
        stored = connection.execute(select(desk_sessions.c.token_hash)).scalars().all()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64


def test_a_session_idle_for_8_hours_has_ended(desk):
    client = desk.client("ningbo")
    assert client.get("/desk/").status_code == 200
    with desk.store.writing() as connection:
        connection.execute(update(desk_sessions).values(
            last_seen=datetime.now(timezone.utc) - timedelta(hours=7, minutes=58)))
    assert client.get("/desk/").status_code == 200  # and that use counts as activity
    with desk.store.writing() as connection:
        connection.execute(update(desk_sessions).values(
            last_seen=datetime.now(timezone.utc) - timedelta(hours=8, seconds=1)))
    assert client.get("/desk/").status_code == 303


def test_removing_an_account_ends_its_sessions(desk):
    client = desk.client("guyun")
    desk.desk.remove_account("guyun", datetime.now(timezone.utc))
    assert client.get("/desk/").status_code == 303
    assert client.login("guyun").status_code == 401


def test_a_new_password_ends_the_sessions_with_the_old_one(desk):
    from kite.desk.passwords import hash_password

    client = desk.client("guyun")
    desk.desk.set_password("guyun", hash_password("another-password-2026"), datetime.now(timezone.utc))
    assert client.get("/desk/").status_code == 303
    assert client.login("guyun").status_code == 401
    assert client.login("guyun", "another-password-2026").status_code == 303


def test_a_new_password_lifts_the_lock_on_that_login_only(desk):
    from kite.desk.passwords import hash_password

    client = desk.client()
    for login in ("guyun", "ningbo"):
        for _ in range(11):
            assert client.login(login, "wrong-password").status_code == 401
        assert client.login(login).status_code == 429
    # The secretary, locked out, asks for a new password (account password LOGIN).
    desk.desk.set_password("guyun", hash_password("another-password-2026"), datetime.now(timezone.utc))
    assert client.login("guyun", "another-password-2026").status_code == 303
    assert desk.client().login("ningbo").status_code == 429  # nobody else's lock
    # A guesser starts again from nothing, and is locked after ten more tries as before.
    guesser = desk.client()
    for _ in range(11):
        assert guesser.login("guyun", "wrong-password").status_code == 401
    assert guesser.login("guyun", "another-password-2026").status_code == 429


def test_the_login_form_without_its_token_is_refused(desk):
    client = desk.client()
    client.get("/desk/login")
    answer = client.http.post("/desk/login", data={"login": "ningbo", "password": PASSWORD})
    assert answer.status_code == 403
    forged = client.http.post("/desk/login", data={"login": "ningbo", "password": PASSWORD, "csrf": "x" * 43})
    assert forged.status_code == 403
    # Another browser's token is no use either: it is bound to that browser's cookie.
    other = csrf_in(desk.client().get("/desk/login").text)
    assert client.http.post("/desk/login", data={"login": "ningbo", "password": PASSWORD, "csrf": other}).status_code == 403
    assert "kite_desk" not in client.http.cookies


@pytest.mark.parametrize("fields, words", [
    ({"login": "", "password": ""}, "请填写登录名和密码"),
    ({"login": "a" * 500, "password": PASSWORD}, "太长"),
    ({"login": "ningbo", "password": "x" * 5000}, "太长"),
    ({"login": "ning\x00bo", "password": PASSWORD}, "控制字符"),
    ({"login": "ningbo", "password": "pass\x1bword-123"}, "控制字符"),
])
def test_bad_login_input_gets_a_clear_400(desk, fields, words):
    client = desk.client()
    token = csrf_in(client.get("/desk/login").text)
    answer = client.http.post("/desk/login", data={**fields, "csrf": token})
    assert answer.status_code == 400
    assert words in answer.text
    with desk.store.reading() as connection:
        assert connection.execute(select(login_failures)).first() is None  # not a try at a password
