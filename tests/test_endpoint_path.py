"""``attend`` reached with nothing in front of it.  The contract's paths are relative to the
``attendance.endpoint`` URL (section 4): with ``https://example.org/checkin`` the built pages post
to ``/checkin/checkin`` and the desk is ``/checkin/desk/``; a proxy that strips the path must work too."""

from __future__ import annotations

from urllib.parse import quote, urljoin

import httpx
import pytest

from attend_process import AttendProcess
from helpers import CONFIG

JSON = {"Accept": "application/json"}
GOOD = {"session": "lessons/签到课", "branch": "鼓韵堂党支部", "name": "王建军"}


@pytest.mark.parametrize("path", ["/checkin", "/签到/v1"])
def test_the_endpoint_answers_under_its_configured_path_as_well_as_at_its_root(hub, tmp_path, path):
    hub.write("site_config.yml", CONFIG.replace("https://example.org/checkin", "https://example.org" + path))
    root = quote(path)
    hub.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true")
    process = AttendProcess(hub.config, str(tmp_path / "attendance.sqlite3")).wait_until_serving()
    try:
        with httpx.Client(base_url=process.url, timeout=10) as client:
            assert client.get(root + "/health").status_code == 200
            # What it prints is where the built pages post and where the desk is.
            assert f"签到服务已启动：{process.url}{root}/checkin  工作台：{process.url}{root}/desk/" in process.output()
            assert client.get("/health").status_code == 200
            first = client.post(root + "/checkin", data=GOOD, headers=JSON)
            assert first.status_code == 201 and first.json()["status"] == "recorded"
            # The same endpoint as a stripping proxy passes it on: one check-in, now a repeat.
            again = client.post("/checkin", data=GOOD, headers=JSON)
            assert again.status_code == 200 and again.json()["status"] == "duplicate"
            form = client.post(root + "/checkin", data=GOOD)
            assert form.status_code == 303
            done = client.get(urljoin(process.url + root + "/checkin", form.headers["location"]))
            assert done.status_code == 200 and "已经签到" in done.text
            report = client.post(root + "/report", headers=JSON,
                                 data={"name": "王建军", "branch": "鼓韵堂党支部", "text": "本季度按时参加了组织生活。"})
            assert report.status_code == 201
            assert client.get(root + "/desk/login").status_code == 200
            assert client.get(root + "/desk/", follow_redirects=False).status_code == 303
            assert client.get(root + "/nothing-here").status_code == 404
    finally:
        process.stop()


def test_a_chinese_endpoint_path_gives_the_desk_an_encoded_cookie_path_and_a_working_login(hub, database):
    # Reached at its public address (Host is the endpoint's), the desk's cookies carry the endpoint's path:
    # a header is ASCII, so a Chinese path there must be percent-encoded, as the browser sends it.
    from starlette.testclient import TestClient

    from desk_client import PASSWORD, DeskApp, csrf_in, write_hub

    write_hub(hub, "https://example.org/签到")
    desk = DeskApp(hub, database)
    root = quote("/签到")
    try:
        with TestClient(desk.app, base_url="https://example.org", follow_redirects=False) as browser:
            form = browser.get(root + "/desk/login")
            assert form.status_code == 200
            assert f"Path={root}/desk" in form.headers["set-cookie"]
            answer = browser.post(root + "/desk/login", headers={"Origin": "https://example.org"},
                                  data={"login": "guyun", "password": PASSWORD, "csrf": csrf_in(form.text)})
            assert answer.status_code == 303 and answer.headers["location"].endswith(root + "/desk/")
            assert browser.get(root + "/desk/").status_code == 200
    finally:
        desk.close()
