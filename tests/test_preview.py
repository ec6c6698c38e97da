"""`build.py serve`: live preview that follows edits, survives broken files and runs check-in."""

from __future__ import annotations

import subprocess
import sys
import time
from urllib.parse import quote

import httpx
import pytest

from conftest import REPO, free_port_pair


def wait_for(condition, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except httpx.TransportError:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def preview(hub):
    hub.lesson("第一课", "title: 第一课原标题\ndate: 2026-03-01\nseries: 风筝精神\nattendance: true", body="原来的正文。\n")
    hub.lesson("second", "title: 第二课\ndate: 2026-02-01")
    port = free_port_pair()  # the check-in endpoint takes the next port
    process = subprocess.Popen([sys.executable, str(REPO / "build.py"), "serve", "-f", str(hub.config), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}/hub/"  # served under site_url's path
    wait_for(lambda: httpx.get(base).status_code == 200, what="the preview to start")
    yield hub, base, port
    process.terminate()
    process.wait(10)


def page(url: str) -> str:
    return httpx.get(url).text


def test_an_edit_shows_up_without_restarting(preview):
    hub, base, _ = preview
    lesson_url = base + "lessons/" + quote("第一课") + "/"
    assert "第一课原标题" in page(lesson_url)
    hub.lesson("第一课", "title: 改过的标题\ndate: 2026-03-01\nseries: 风筝精神\nattendance: true", body="新的正文。\n")
    wait_for(lambda: "改过的标题" in page(lesson_url), what="the edited lesson")
    assert "新的正文" in page(lesson_url)
    wait_for(lambda: "改过的标题" in page(base + "lessons/"), what="the list to follow")
    assert "livereload" in page(lesson_url)


def test_a_broken_file_is_shown_in_the_browser_and_the_preview_survives(preview):
    hub, base, _ = preview
    hub.lesson("坏文件", "title: 坏\ndate: 三月一日")
    wait_for(lambda: 'role="alert"' in page(base), what="the problem banner")
    home = page(base)
    assert "lessons/坏文件.md:3: date: 应为 YYYY-MM-DD 格式的日期" in home
    assert "第一课原标题" in home  # the last good version is still served
    (hub.root / "lessons/坏文件.md").unlink()
    wait_for(lambda: 'role="alert"' not in page(base), what="the banner to go")


def test_template_changes_rebuild_everything(preview):
    hub, base, _ = preview
    hub.write("templates/partials/kite/footer_extra.html", "<p>预览里的新页脚</p>")
    wait_for(lambda: "预览里的新页脚" in page(base + "lessons/second/"), what="the new footer")


def test_the_check_in_form_works_in_the_preview(preview):
    hub, base, port = preview
    wait_for(lambda: httpx.get(f"http://127.0.0.1:{port + 1}/health").status_code == 200, what="the check-in endpoint")
    lesson = page(base + "lessons/" + quote("第一课") + "/")
    assert f'action="http://127.0.0.1:{port + 1}/checkin"' in lesson
    response = httpx.post(f"http://127.0.0.1:{port + 1}/checkin",
                          data={"session": "lessons/第一课", "branch": "鼓韵堂党支部", "name": "试用"},
                          headers={"Accept": "application/json", "Origin": f"http://127.0.0.1:{port}"})
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == f"http://127.0.0.1:{port}"
