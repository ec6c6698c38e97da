"""The check-in endpoint, in-process through Starlette's TestClient, on SQLite and on PostgreSQL.

The tests that need real concurrency or a real process (kill -9) run real servers.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import inspect
from starlette.testclient import TestClient

from attend_process import AttendProcess
from kite.attendance.sessions import RosterSource
from kite.attendance.web import create_app
from kite.storage import open_store

TOKEN = "s3cret-export-token"
SITE_ORIGIN = "https://example.org"
BEIJING = ZoneInfo("Asia/Shanghai")


def stamp(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def fill_hub(hub) -> None:
    now = datetime.now(BEIJING)
    hub.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true")
    hub.lesson("普通课", "title: 不签到的党课\ndate: 2026-03-02")
    hub.lesson("草稿课", "title: 草稿\ndate: 2026-03-03\nattendance: true\ndraft: true")
    hub.announcement("now", f"title: 正在进行的夜学\ndate: 2026-01-01\nstarts: {stamp(now + timedelta(minutes=10))}\n"
                            f"ends: {stamp(now + timedelta(hours=2))}\nattendance: true")
    hub.announcement("later", f"title: 明天的活动\ndate: 2026-01-01\nstarts: {stamp(now + timedelta(days=1, hours=1))}\nattendance: true")
    hub.announcement("over", f"title: 结束的活动\ndate: 2026-01-01\nstarts: {stamp(now - timedelta(days=2))}\n"
                             f"ends: {stamp(now - timedelta(days=2) + timedelta(hours=1))}\nattendance: true")


class Endpoint:
    """A client for the endpoint, and what its store holds."""

    def __init__(self, client, store):
        self.client = client
        self.store = store

    def post_json(self, fields, **headers) -> httpx.Response:
        return self.client.post("/checkin", json=fields, headers={"Accept": "application/json", **headers})

    def post_form(self, fields, **headers) -> httpx.Response:
        return self.client.post("/checkin", data=fields, headers=headers)

    def rows(self) -> list[tuple]:
        return [(c.session, c.branch, c.name) for c in self.store.checkins()]

    def export(self, session: str | None = None) -> httpx.Response:
        params = {"session": session} if session else {}
        return self.client.get("/export.csv", params=params, headers={"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture
def endpoint(hub, database):
    """The endpoint app in-process, over a new database of each kind."""
    fill_hub(hub)
    store = open_store(database)
    source = RosterSource(hub.config)
    app = create_app(store, lambda: source.roster, export_token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1:8001", follow_redirects=False) as client:
        yield Endpoint(client, store)
    store.close()


@pytest.fixture
def live_endpoint(hub, database, monkeypatch, start_endpoint):
    """The endpoint on a real uvicorn server, for real concurrency."""
    fill_hub(hub)
    monkeypatch.setenv("ATTENDANCE_EXPORT_TOKEN", TOKEN)
    url = start_endpoint(hub.config, database)
    store = open_store(database)
    # One client for all threads (it is thread-safe), with as many connections as there are threads.
    with httpx.Client(base_url=url, timeout=30, limits=httpx.Limits(max_connections=32)) as client:
        yield Endpoint(client, store)
    store.close()


GOOD = {"session": "lessons/签到课", "branch": "鼓韵堂党支部", "name": "王建军"}


def test_health(endpoint):
    assert endpoint.client.get("/health").status_code == 200


def test_json_checkin_is_recorded_once(endpoint):
    first = endpoint.post_json(GOOD)
    assert (first.status_code, first.json()) == (201, {"status": "recorded"})  # exactly the contract's answer
    again = endpoint.post_json({**GOOD, "name": "  王建军 "})
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    other_branch = endpoint.post_json({**GOOD, "branch": "栖息栈党支部"})
    assert other_branch.status_code == 201
    assert endpoint.rows() == [("lessons/签到课", "鼓韵堂党支部", "王建军"), ("lessons/签到课", "栖息栈党支部", "王建军")]


def test_form_post_redirects_to_a_confirmation_page(endpoint):
    first = endpoint.post_form(GOOD)
    assert first.status_code == 303
    page = endpoint.client.get("/" + first.headers["location"])
    assert "签到成功" in page.text and "已经签到" not in page.text
    assert "可以签到的党课" in page.text
    again = endpoint.post_form(GOOD)
    assert again.status_code == 303
    page = endpoint.client.get("/" + again.headers["location"])
    assert "已经签到" in page.text and "签到成功" not in page.text
    assert len(endpoint.rows()) == 1


def test_the_confirmation_link_resolves_under_the_endpoint_path(endpoint):
    response = endpoint.post_form(GOOD)
    # The form posts to …/checkin; a relative Location resolves against that.
    target = urljoin("http://127.0.0.1:8001/checkin", response.headers["location"])
    assert urlsplit(target).path == "/checkin/done"
    assert endpoint.client.get(target).status_code == 200


BAD_INPUTS = [
    ("missing name", {"session": "lessons/签到课", "branch": "鼓韵堂党支部"}, "name"),
    ("empty name", {**GOOD, "name": ""}, "name"),
    ("blank name", {**GOOD, "name": " \t "}, "name"),
    ("long name", {**GOOD, "name": "王" * 41}, "name"),
    ("number name", {**GOOD, "name": 12345}, "name"),
    ("list name", {**GOOD, "name": ["王建军"]}, "name"),
    ("null name", {**GOOD, "name": None}, "name"),
    ("nul byte", {**GOOD, "name": "王\x00建军"}, "name"),
    ("control char", {**GOOD, "name": "王\x1b[31m"}, "name"),
    ("bidi override", {**GOOD, "name": "王\u202e军"}, "name"),
    ("lone surrogate", {**GOOD, "name": "\ud800"}, "name"),
    ("missing branch", {"session": "lessons/签到课", "name": "王建军"}, "branch"),
    ("unknown branch", {**GOOD, "branch": "不存在党支部"}, "branch"),
    ("joint committee as branch", {**GOOD, "branch": "驻宁流动党员联合党委"}, "branch"),
    ("missing session", {"branch": "鼓韵堂党支部", "name": "王建军"}, "session"),
    ("long session", {**GOOD, "session": "lessons/" + "x" * 300}, "session"),
    ("object session", {**GOOD, "session": {"a": 1}}, "session"),
]


@pytest.mark.parametrize("label, fields, field", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_fields_are_refused_with_the_field_at_fault(endpoint, label, fields, field):
    response = endpoint.client.post("/checkin", content=json.dumps(fields), headers={
        "Content-Type": "application/json", "Accept": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert response.json()["error"]
    assert endpoint.rows() == []


MALFORMED = [
    ("broken json", b'{"session": "lessons/x",', "application/json", "body"),
    ("json array", b'["a"]', "application/json", "body"),
    ("bad utf-8 in json", b'{"name": "\xff\xfe"}', "application/json", "body"),
    ("bad utf-8 in form", b"session=lessons%2F%E7&branch=x&name=%FF", "application/x-www-form-urlencoded", "body"),
    ("raw bad bytes in form", b"name=\xff\xfe", "application/x-www-form-urlencoded", "body"),
    ("repeated field", "session=a&name=甲&name=乙&branch=b".encode(), "application/x-www-form-urlencoded", "name"),
    ("plain text", b"hello", "text/plain", "content-type"),
    ("multipart", b"--x\r\n", "multipart/form-data; boundary=x", "content-type"),
    ("no content type", b"a=b", "", "content-type"),
    # Deep enough to exhaust the JSON parser's recursion, well under the 16 KiB limit.
    ("deeply nested json array", b"[" * 7000 + b"]" * 7000, "application/json", "body"),
    ("deeply nested json in a field", b'{"name":' + b"[" * 7000 + b"]" * 7000 + b"}", "application/json", "body"),
]


@pytest.mark.parametrize("label, body, content_type, field", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_requests_answer_400(endpoint, label, body, content_type, field):
    headers = {"Accept": "application/json"}
    if content_type:
        headers["Content-Type"] = content_type
    response = endpoint.client.post("/checkin", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert endpoint.rows() == []


def test_form_errors_get_a_readable_page(endpoint):
    response = endpoint.post_form({**GOOD, "branch": "不存在党支部"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "请从列表中选择所在支部" in response.text


@pytest.mark.parametrize("session", ["lessons/普通课", "lessons/草稿课", "lessons/没有这课", "episodes/x", "announcements/none"])
def test_unknown_sessions_answer_404(endpoint, session):
    response = endpoint.post_json({**GOOD, "session": session})
    assert response.status_code == 404
    assert response.json()["field"] == "session"
    assert endpoint.rows() == []


def test_activities_take_check_ins_only_in_their_window(endpoint):
    assert endpoint.post_json({**GOOD, "session": "announcements/now"}).status_code == 201
    early = endpoint.post_json({**GOOD, "session": "announcements/later"})
    assert early.status_code == 403
    assert "签到还没开始" in early.json()["error"] and "开始签到" in early.json()["error"]
    late = endpoint.post_json({**GOOD, "session": "announcements/over"})
    assert late.status_code == 403
    assert "签到已经结束" in late.json()["error"]
    assert endpoint.rows() == [("announcements/now", "鼓韵堂党支部", "王建军")]


def test_oversized_bodies_answer_413(endpoint):
    big = {**GOOD, "name": "王" * 10_000}
    response = endpoint.client.post("/checkin", json=big, headers={"Accept": "application/json"})
    assert response.status_code == 413

    def chunks():
        for _ in range(20):
            yield b"x" * 1024

    streamed = endpoint.client.post("/checkin", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert endpoint.rows() == []


def test_honeypot_looks_successful_but_stores_nothing(endpoint):
    response = endpoint.post_json({**GOOD, "website": "http://spam.example"})
    assert response.status_code == 201
    assert endpoint.rows() == []


def test_cors_for_the_site_and_refusal_for_other_sites(endpoint):
    ok = endpoint.post_json(GOOD, Origin=SITE_ORIGIN)
    assert ok.status_code == 201
    assert ok.headers["access-control-allow-origin"] == SITE_ORIGIN
    preflight = endpoint.client.options("/checkin", headers={
        "Origin": SITE_ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SITE_ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    foreign = endpoint.post_json({**GOOD, "name": "李秀英"}, Origin="https://evil.example")
    assert foreign.status_code == 403
    assert foreign.json()["field"] == "origin"
    assert "access-control-allow-origin" not in foreign.headers
    assert endpoint.rows() == [("lessons/签到课", "鼓韵堂党支部", "王建军")]


def test_export_needs_the_token(endpoint):
    endpoint.post_json(GOOD)
    assert endpoint.client.get("/export.csv").status_code == 401
    wrong = endpoint.client.get("/export.csv", headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401
    assert "王建军" not in wrong.text


def test_export_says_it_is_switched_off_without_a_token(hub, tmp_path, monkeypatch):
    fill_hub(hub)
    monkeypatch.delenv("ATTENDANCE_EXPORT_TOKEN", raising=False)
    store = open_store(tmp_path / "attendance.sqlite3")
    source = RosterSource(hub.config)
    with TestClient(create_app(store, lambda: source.roster)) as client:
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
            response = client.get("/export.csv", headers=headers)
            assert response.status_code == 401
            assert "导出功能已关闭" in response.json()["error"]
            assert "ATTENDANCE_EXPORT_TOKEN" in response.json()["error"]
    store.close()


def test_export_of_an_unknown_session_is_only_the_header(endpoint):
    endpoint.post_json(GOOD)
    response = endpoint.export("lessons/没有这课")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1 and rows[0][5] == "姓名"


def test_export_is_a_spreadsheet_friendly_csv(endpoint):
    endpoint.post_json(GOOD)
    endpoint.post_json({**GOOD, "name": "=HYPERLINK(\"http://x\")"})
    endpoint.post_json({**GOOD, "name": "+86 李秀英"})
    endpoint.post_json({**GOOD, "name": "@陈国华"})
    endpoint.post_json({**GOOD, "session": "announcements/now", "name": "-张海涛"})
    response = endpoint.export()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["签到时间（北京时间）", "场次", "页面", "联合党委", "支部", "姓名"]
    names = [row[5] for row in rows[1:]]
    assert names == ["王建军", "'=HYPERLINK(\"http://x\")", "'+86 李秀英", "'@陈国华", "'-张海涛"]
    assert rows[1][1:5] == ["可以签到的党课", "lessons/签到课", "驻宁流动党员联合党委", "鼓韵堂党支部"]
    datetime.strptime(rows[1][0], "%Y-%m-%d %H:%M:%S")
    only = list(csv.reader(io.StringIO(endpoint.export("announcements/now").content.decode("utf-8-sig"))))
    assert [row[5] for row in only[1:]] == ["'-张海涛"]


def test_no_ip_addresses_are_stored(endpoint):
    endpoint.post_json(GOOD)
    columns = [column["name"] for column in inspect(endpoint.store.engine).get_columns("checkins")]
    assert columns == ["id", "session", "branch", "name", "checked_in_at"]
    assert endpoint.rows() == [("lessons/签到课", "鼓韵堂党支部", "王建军")]


def test_concurrent_check_ins_are_recorded_exactly_once(live_endpoint):
    endpoint = live_endpoint
    people = [f"党员{n:03}" for n in range(60)]
    requests = [person for person in people for _ in range(5)]  # everyone checks in five times at once

    def check_in(name: str) -> int:
        response = endpoint.client.post("/checkin", json={**GOOD, "name": name}, headers={"Accept": "application/json"})
        return response.status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(check_in, requests))
    assert statuses.count(201) == len(people)
    assert statuses.count(200) == len(requests) - len(people)
    assert sorted(name for _, _, name in endpoint.rows()) == people


def test_nothing_acknowledged_is_lost_to_kill_9(hub, database):
    # 24 members at once, so that on SQLite the group writer commits batches of many: an answer
    # 201 (or 200 for a repeat) must mean that its batch was on disk before it was sent.
    fill_hub(hub)
    process = AttendProcess(hub.config, database).wait_until_serving()
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(base_url=process.url, timeout=5) as client:
            for n in range(100_000):
                if stop.is_set():
                    return
                name = f"党员{worker}-{n - n % 2}"  # every other one a repeat of the one before
                try:
                    response = client.post("/checkin", json={**GOOD, "name": name}, headers={"Accept": "application/json"})
                except httpx.TransportError:
                    return
                if response.status_code in (200, 201):
                    with lock:
                        acknowledged.append(name)
                        if len(acknowledged) == 600:
                            # Right away, from here: an answer sent before its batch was on disk
                            # would be lost now, with its batch still in the writer's hands.
                            os.kill(process.process.pid, signal.SIGKILL)

    threads = [threading.Thread(target=load, args=(w,)) for w in range(24)]
    try:
        for thread in threads:
            thread.start()
        process.process.wait(60)
    finally:
        process.kill()
        stop.set()
        for thread in threads:
            thread.join()
        process.stop()

    store = open_store(database)
    stored = {c.name for c in store.checkins()}
    store.close()
    assert len(acknowledged) >= 600
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged check-ins lost"


def _random_value(rng):
    kind = rng.randrange(7)
    if kind == 0:
        return "".join(chr(rng.randrange(0, 0x3000)) for _ in range(rng.randrange(0, 60)))
    if kind == 1:
        return rng.choice([None, True, False, 0, -1, 1.5, 10**30, [], {}, [1, "a"], {"x": {"y": []}}])
    if kind == 2:
        return rng.choice(["lessons/签到课", "鼓韵堂党支部", "王建军", "announcements/now", "", " ", "\u0000", "\ud83d\ude00"])
    if kind == 3:
        return "x" * rng.randrange(0, 5000)
    return "".join(rng.choice("ab王%&=+;\"'<>\\/\n\t") for _ in range(rng.randrange(1, 40)))


def test_random_requests_never_get_a_5xx(endpoint):
    import random

    rng = random.Random(20261127)
    fields = ["session", "branch", "name", "website", "extra", "", "name[]"]
    for _ in range(300):
        shape = rng.randrange(4)
        headers = {"Accept": rng.choice(["application/json", "text/html", "*/*", ""])}
        if shape == 0:
            body = json.dumps({rng.choice(fields): _random_value(rng) for _ in range(rng.randrange(0, 5))}).encode()
            headers["Content-Type"] = "application/json"
        elif shape == 1:
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
            headers["Content-Type"] = rng.choice(["application/json", "application/x-www-form-urlencoded", "text/plain"])
        elif shape == 2:
            pairs = [(rng.choice(fields), str(_random_value(rng))) for _ in range(rng.randrange(0, 6))]
            body = "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        else:
            body = b"session=lessons%2F%E7%AD%BE%E5%88%B0%E8%AF%BE&branch=%E9%BC%93&name=" + bytes(rng.randrange(256) for _ in range(20))
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = endpoint.client.post("/checkin", content=body, headers=headers)
        assert response.status_code < 500, (body[:200], response.status_code, response.text[:200])
    for query in ["session=%FF", "session=" + "x" * 5000, "session=%00", "state=recorded&session=lessons/签到课&name=%FF"]:
        assert endpoint.client.get("/checkin/done?" + query).status_code < 500
        assert endpoint.client.get("/export.csv?" + query, headers={"Authorization": f"Bearer {TOKEN}"}).status_code < 500
    assert endpoint.client.get("/health").status_code == 200  # still serving


def test_the_roster_follows_added_edited_and_removed_files_and_keeps_the_last_good_one(hub):
    fill_hub(hub)
    source = RosterSource(hub.config)
    assert source.refresh() is False  # nothing changed
    added = hub.write("lessons/第二季/新课.md", "---\ntitle: 新开的签到课\ndate: 2026-03-05\nattendance: true\n---\n正文。\n")
    assert source.refresh() is True
    assert source.roster.sessions["lessons/新课"].title == "新开的签到课"
    stamp_before = added.stat().st_mtime_ns
    added.write_text("---\ntitle: 改过名的签到课\ndate: 2026-03-05\nattendance: true\n---\n正文。\n", encoding="utf-8")
    os.utime(added, ns=(stamp_before + 1_000_000_000, stamp_before + 1_000_000_000))  # a coarse clock still sees it
    assert source.refresh() is True
    assert source.roster.sessions["lessons/新课"].title == "改过名的签到课"
    hub.write("lessons/坏的.md", "---\ntitle: [没写完\n---\n")
    assert source.refresh() is False  # broken content: the last good roster stays
    assert "lessons/新课" in source.roster.sessions
    (hub.root / "lessons/坏的.md").unlink()
    added.unlink()
    assert source.refresh() is True
    assert "lessons/新课" not in source.roster.sessions
    assert "lessons/签到课" in source.roster.sessions


def test_the_roster_reads_again_only_the_files_that_changed(hub, monkeypatch):
    # An endpoint beside a hub of 10,000 lessons: reading every file again at each publish is
    # seconds of CPU, taken from the check-ins it answers meanwhile.
    from kite import loader

    fill_hub(hub)
    settled = time.time_ns() - 2 * loader.RACY_NS  # a file saved just now is read again, to be safe
    for path in hub.root.rglob("*.md"):
        os.utime(path, ns=(settled, settled))
    source = RosterSource(hub.config)
    read, load_item = [], loader.load_item
    monkeypatch.setattr(loader, "load_item", lambda kind, path, *rest: read.append(path.name) or load_item(kind, path, *rest))
    hub.write("lessons/第二季/新课.md", "---\ntitle: 新开的签到课\ndate: 2026-03-05\nattendance: true\n---\n正文。\n")
    assert source.refresh() is True
    assert read == ["新课.md"] and source.roster.sessions["lessons/新课"].title == "新开的签到课"
    assert "lessons/签到课" in source.roster.sessions
