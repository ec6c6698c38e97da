"""A path the endpoint does not have, or a method a path does not take: answered in Chinese,
JSON for scripts and a page in the endpoint's look for browsers, never Starlette's English."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def endpoint(hub, tmp_path, start_endpoint):
    hub.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true")
    with httpx.Client(base_url=start_endpoint(hub.config, tmp_path / "checkins.sqlite3"), timeout=30) as client:
        yield client


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/no-such-page", 404),
    ("GET", "/checkin/nothing/here", 404),
    ("POST", "/export", 404),
    ("GET", "/checkin", 405),        # a member opened the form's address directly
    ("PUT", "/report", 405),
    ("DELETE", "/health", 405),
])
def test_json_clients_get_a_chinese_error(endpoint, method, path, status):
    answer = endpoint.request(method, path, headers={"Accept": "application/json"})
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert error and all(word not in error for word in ("Not Found", "Method Not Allowed"))
    assert any("\u4e00" <= char <= "\u9fff" for char in error)
    if status == 405:
        assert "POST" in answer.headers["allow"] or "GET" in answer.headers["allow"]


@pytest.mark.parametrize("method, path, status, heading", [
    ("GET", "/no-such-page", 404, "没有这个页面"),
    ("GET", "/checkin", 405, "不支持这种访问方式"),
    ("GET", "/report", 405, "不支持这种访问方式"),
])
def test_browsers_get_a_readable_page_in_the_endpoints_look(endpoint, method, path, status, heading):
    answer = endpoint.request(method, path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert f"<title>{heading} - 测试云课堂</title>" in page
    assert '<header class="k-header"><a href="https://example.org/hub/">' in page  # the endpoint's frame
    assert 'href="https://example.org/hub/">返回页面</a>' in page
    assert "Not Found" not in page and "Method Not Allowed" not in page


def test_the_real_routes_are_unchanged(endpoint):
    assert endpoint.get("/health").status_code == 200
    answer = endpoint.post("/checkin", json={"session": "lessons/签到课", "branch": "鼓韵堂党支部", "name": "王建军"},
                           headers={"Accept": "application/json"})
    assert answer.status_code == 201
    # An unknown session stays the check-in's own 404, with the field at fault.
    answer = endpoint.post("/checkin", json={"session": "lessons/没有", "branch": "鼓韵堂党支部", "name": "王建军"},
                           headers={"Accept": "application/json"})
    assert answer.status_code == 404 and answer.json().get("field") == "session"
