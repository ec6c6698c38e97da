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
