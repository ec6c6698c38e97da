"""Two ``attend`` processes on one PostgreSQL database agree on live codes, wrong-code counts and
confirmation links, with no KITE_SECRET_KEY and without talking to each other."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

from attend_process import AttendProcess
from kite.attendance.livecode import MAX_WRONG, live_codes
from kite.attendance.secret import SECRET_VARIABLE, shared_secret
from kite.storage import open_store

BEIJING = ZoneInfo("Asia/Shanghai")
SESSION = "announcements/红雁夜学"
JSON = {"Accept": "application/json"}


@pytest.fixture
def instances(hub, postgres_url, monkeypatch):
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    starts = datetime.now(BEIJING) + timedelta(minutes=5)
    hub.announcement("红雁夜学", f"title: 红雁e站夜学\ndate: 2026-12-01\nstarts: {starts:%Y-%m-%d %H:%M}\nattendance: code")
    processes = [AttendProcess(hub.config, postgres_url) for _ in range(2)]
    try:
        yield [process.wait_until_serving() for process in processes]
    finally:
        for process in processes:
            process.stop()


def current_code(postgres_url: str) -> str:
    """What a host's screen shows now: derived from the secret the instances keep in the database."""
    store = open_store(postgres_url)
    try:
        return live_codes(shared_secret(store), store).current(SESSION, 120, datetime.now(timezone.utc)).code
    finally:
        store.close()


def post(url: str, name: str, code: str) -> httpx.Response:
    fields = {"session": SESSION, "branch": "鼓韵堂党支部", "name": name, "code": code}
    return httpx.post(url + "/checkin", json=fields, headers=JSON, timeout=30)


def test_instances_agree_on_codes_counters_and_links(instances, postgres_url):
    first, second = instances
    # Both need the secret at once on a new database: they race to make it, and must end up with one.
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: post(instances[i % 2].url, f"试探{i}", "abcd"), range(8)))
    assert [a.status_code for a in answers] == [403] * 8

    code = current_code(postgres_url)
    assert post(first.url, "王建军", code).status_code == 201
    assert post(second.url, "李秀英", code).status_code == 201
    assert post(second.url, "王建军", code).status_code == 200  # the same person, on the other instance

    wrong = next(f"{n:04}" for n in range(10000) if f"{n:04}" not in (code, current_code(postgres_url)))
    statuses = [post(instances[i % 2].url, "陈国华", wrong).status_code for i in range(MAX_WRONG)]
    assert statuses == [403] * MAX_WRONG  # counted together: 10 on each instance
    code = current_code(postgres_url)
    assert post(first.url, "陈国华", code).status_code == 429
    assert post(second.url, "陈 国华", code).status_code == 429

    # A confirmation link made by one instance shows on the other.
    answer = httpx.post(first.url + "/checkin", timeout=30, follow_redirects=False,
                        data={"session": SESSION, "branch": "栖息栈党支部", "name": "周立新", "code": code})
    assert answer.status_code == 303
    page = httpx.get(second.url + "/" + answer.headers["location"], timeout=30)
    assert page.status_code == 200 and "签到成功" in page.text and "周立新" in page.text

    store = open_store(postgres_url)
    names = sorted(c.name for c in store.checkins(SESSION))
    store.close()
    assert names == sorted(["王建军", "李秀英", "周立新"])
