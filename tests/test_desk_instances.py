"""The desk behind nginx: two `attend` processes on one PostgreSQL database, a browser's requests
landing on either."""

from __future__ import annotations

import httpx
import pytest

from attend_process import AttendProcess
from desk_client import PASSWORD, add_accounts, csrf_in, write_hub
from kite.storage import open_store
from kite.storage.desk import DeskStore


@pytest.fixture
def two_instances(hub, postgres_url):
    write_hub(hub, "http://127.0.0.1:8001")  # plain http: the test's client would keep a Secure cookie to itself
    store = open_store(postgres_url)
    add_accounts(DeskStore(store))
    store.close()
    processes = [AttendProcess(hub.config, postgres_url) for _ in range(2)]
    try:
        yield [process.wait_until_serving() for process in processes]
    finally:
        for process in processes:
            process.stop()


def test_a_session_from_one_instance_works_on_the_other_and_logout_ends_it_on_both(two_instances):
    first, second = (process.url for process in two_instances)
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        # The login form from one instance, posted to the other: its token needs no shared key.
        token = csrf_in(browser.get(first + "/desk/login").text)
        answer = browser.post(second + "/desk/login", data={"login": "ningbo", "password": PASSWORD, "csrf": token})
        assert answer.status_code == 303
        cookie = browser.cookies.get("kite_desk")
        assert browser.get(first + "/desk/").status_code == 200
        page = browser.get(second + "/desk/")
        assert page.status_code == 200
        assert browser.post(first + "/desk/logout", data={"csrf": csrf_in(page.text)}).status_code == 303
    with httpx.Client(follow_redirects=False, timeout=30) as replay:
        replay.cookies.set("kite_desk", cookie)
        assert replay.get(second + "/desk/").status_code == 303
        assert replay.get(first + "/desk/").status_code == 303


def test_the_failed_login_lock_holds_across_instances(two_instances):
    urls = [process.url for process in two_instances]
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        for attempt in range(11):
            url = urls[attempt % 2]
            token = csrf_in(browser.get(url + "/desk/login").text)
            answer = browser.post(url + "/desk/login", data={"login": "guyun", "password": "wrong!", "csrf": token})
            assert answer.status_code == 401
        for url in urls:
            token = csrf_in(browser.get(url + "/desk/login").text)
            answer = browser.post(url + "/desk/login", data={"login": "guyun", "password": PASSWORD, "csrf": token})
            assert answer.status_code == 429
