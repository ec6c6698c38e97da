"""`build.py serve`: live preview that follows edits, survives broken files and runs check-in."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import httpx
import pytest

from helpers import REPO, free_port, wait_for
from kite.ports import is_free


class Preview:
    """A running `build.py serve`, with everything it printed so far."""

    def __init__(self, hub, port: int, env: dict[str, str] | None = None):
        self.hub = hub
        self.port = port
        self.base = f"http://127.0.0.1:{port}/hub/"  # served under site_url's path
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "build.py"), "serve", "-f", str(hub.config), "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        threading.Thread(target=self._read, daemon=True).start()
        # It builds the whole hub first: on a loaded two-core machine that alone took over 15 s.
        wait_for(lambda: httpx.get(self.base).status_code == 200, timeout=60, what="the preview to start",
                 ignore=(httpx.TransportError,))

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def endpoint(self) -> str:
        """The check-in endpoint's URL, as the preview printed it."""
        found = wait_for(lambda: re.search(r"签到服务（仅供预览，数据不保留）：(\S+)/checkin", self.output()),
                         what="the check-in endpoint's address")
        return found[1]

    def page(self, path: str) -> str:
        return httpx.get(self.base + path).text

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def start_preview(hub):
    hub.lesson("第一课", "title: 第一课原标题\ndate: 2026-03-01\nseries: 风筝精神\nattendance: true", body="原来的正文。\n")
    hub.lesson("second", "title: 第二课\ndate: 2026-02-01")
    started = []

    def start(port: int | None = None) -> Preview:
        started.append(Preview(hub, port or free_port()))
        return started[-1]

    yield start
    for preview in started:
        preview.stop()


@pytest.fixture
def preview(start_preview) -> Preview:
    return start_preview()


LESSON = "lessons/" + quote("第一课") + "/"


def test_an_edit_shows_up_without_restarting(preview):
    assert "第一课原标题" in preview.page(LESSON)
    preview.hub.lesson("第一课", "title: 改过的标题\ndate: 2026-03-01\nseries: 风筝精神\nattendance: true", body="新的正文。\n")
    wait_for(lambda: "改过的标题" in preview.page(LESSON), what="the edited lesson")
    assert "新的正文" in preview.page(LESSON)
    wait_for(lambda: "改过的标题" in preview.page("lessons/"), what="the list to follow")
    assert "livereload" in preview.page(LESSON)


def test_feeds_follow_an_edit_of_the_body_alone(preview):
    # The lesson has no summary, so its feed entry quotes the body.
    assert "原来的正文" in preview.page("lessons/rss.xml")
    preview.hub.lesson("第一课", "title: 第一课原标题\ndate: 2026-03-01\nseries: 风筝精神\nattendance: true", body="只改了正文。\n")
    wait_for(lambda: "只改了正文" in preview.page(LESSON), what="the edited page")
    wait_for(lambda: "只改了正文" in preview.page("lessons/rss.xml"), what="the feed to follow")


def test_a_broken_file_is_shown_in_the_browser_and_the_preview_survives(preview):
    preview.hub.lesson("坏文件", "title: 坏\ndate: 三月一日")
    wait_for(lambda: 'role="alert"' in preview.page(""), what="the problem banner")
    home = preview.page("")
    assert "lessons/坏文件.md:3: date: 应为 YYYY-MM-DD 格式的日期" in home
    assert "第一课原标题" in home  # the last good version is still served
    (preview.hub.root / "lessons/坏文件.md").unlink()
    wait_for(lambda: 'role="alert"' not in preview.page(""), what="the banner to go")


def test_template_changes_rebuild_everything(preview):
    preview.hub.write("templates/partials/kite/footer_extra.html", "<p>预览里的新页脚</p>")
    wait_for(lambda: "预览里的新页脚" in preview.page("lessons/second/"), what="the new footer")


def test_the_check_in_form_works_in_the_preview(preview):
    endpoint = preview.endpoint()
    wait_for(lambda: httpx.get(f"{endpoint}/health").status_code == 200, what="the check-in endpoint",
             ignore=(httpx.TransportError,))
    assert f'action="{endpoint}/checkin"' in preview.page(LESSON)
    response = httpx.post(f"{endpoint}/checkin",
                          data={"session": "lessons/第一课", "branch": "鼓韵堂党支部", "name": "试用"},
                          headers={"Accept": "application/json", "Origin": f"http://127.0.0.1:{preview.port}"})
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == f"http://127.0.0.1:{preview.port}"


def test_the_preview_prints_a_desk_account_to_host_a_live_activity_with(hub, start_preview):
    # An editor trying an `attendance: code` activity needs its code, which only the desk's live page shows.
    hub.announcement("夜学", "title: 红雁夜学\ndate: 2026-03-01\nstarts: 2026-03-01 19:30\nattendance: code")
    preview = start_preview()
    endpoint = preview.endpoint()
    found = wait_for(lambda: re.search(r"工作台（仅供预览）：(\S+)/desk/  账号 (\S+)，密码 (\S+)（", preview.output()),
                     what="the desk account")
    assert found[1] == endpoint
    with httpx.Client(base_url=endpoint, follow_redirects=False, timeout=10) as desk:
        form = desk.get("/desk/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]
        answer = desk.post("/desk/login", data={"login": found[2], "password": found[3], "csrf": token},
                           headers={"Origin": endpoint})
        assert answer.status_code == 303
        code = desk.get("/desk/live/announcements/" + quote("夜学") + "/code.json").json()["code"]
        assert re.fullmatch(r"\d{4}", code)


def test_a_busy_next_port_moves_the_check_in_endpoint_elsewhere(start_preview):
    busy = socket.socket()
    while True:  # a taken port whose previous port is free for the preview
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        if is_free("127.0.0.1", taken - 1):
            break
        busy.close()
        busy = socket.socket()
    with busy:
        preview = start_preview(port=taken - 1)
        endpoint = preview.endpoint()
        assert endpoint != f"http://127.0.0.1:{taken}"
        assert httpx.get(f"{endpoint}/health").status_code == 200
        assert f'action="{endpoint}/checkin"' in preview.page(LESSON)


def test_drafts_are_shown_marked_but_never_in_feeds(preview):
    preview.hub.lesson("草稿课", "title: 没写完的草稿\ndate: 2026-04-01\ndraft: true", body="草稿正文。\n")
    preview.hub.episode("草稿节目", "title: 还没录音的节目\ndate: 2026-04-02\ndraft: true")
    draft = "lessons/" + quote("草稿课") + "/"
    wait_for(lambda: httpx.get(preview.base + draft).status_code == 200, what="the draft's page")
    page = preview.page(draft)
    assert "草稿正文" in page
    assert '<p class="admonition-title">草稿</p>' in page and "lessons/草稿课.md" in page
    listing = preview.page("lessons/")
    card = listing.split("没写完的草稿")[1].split("</li>")[0]
    assert '<span class="kite-badge">草稿</span>' in card
    assert '<span class="kite-badge">草稿</span>' not in listing.split("第一课原标题")[1].split("</li>")[0]
    wait_for(lambda: httpx.get(preview.base + "episodes/" + quote("草稿节目") + "/").status_code == 200,
             what="the draft episode without media")
    for feed, published in (("lessons/rss.xml", "第一课原标题"), ("lessons/atom.xml", "第一课原标题"),
                            ("episodes/podcast.xml", "乡音e课堂"), ("sitemap.xml", quote("第一课"))):
        text = preview.page(feed)
        assert published in text, feed
        for draft in ("没写完的草稿", quote("草稿课"), "还没录音的节目", quote("草稿节目")):
            assert draft not in text, (feed, draft)


def test_a_missing_page_gets_the_sites_own_404(preview):
    response = httpx.get(preview.base + "lessons/no-such-lesson/")
    assert response.status_code == 404
    assert "找不到这个页面" in response.text
    assert "测试云课堂" in response.text  # the site's header
    assert 'name="viewport"' in response.text


def test_a_broken_template_is_shown_and_the_last_good_preview_stays(preview):
    preview.hub.write("templates/lesson.html", "{% extends 'main.html' %}{% block content %}{{ lesson.title | no_such_filter }}{% endblock %}")
    wait_for(lambda: 'role="alert"' in preview.page(LESSON), what="the problem banner")
    page = preview.page(LESSON)
    assert "templates/lesson.html:1: No filter named &#x27;no_such_filter&#x27;" in page
    assert "第一课原标题" in page  # the last good version is still served
    (preview.hub.root / "templates/lesson.html").unlink()
    wait_for(lambda: 'role="alert"' not in preview.page(LESSON), what="the banner to go")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["kill", "terminal-closed"])
def test_a_preview_stopped_from_outside_removes_its_workspace(hub, tmp_path, stop):
    # Like Ctrl+C: a preview ended by kill or by closing its terminal leaves no site in the temp folder.
    hub.lesson("第一课", "title: 第一课\ndate: 2026-03-01")
    temp = tmp_path / "temp"
    temp.mkdir()
    preview = Preview(hub, free_port(), env={**os.environ, "TMPDIR": str(temp)})

    def workspaces() -> list:
        return [path for path in temp.iterdir() if path.name.startswith("kite-preview-")]

    assert len(workspaces()) == 1  # (beside it, the templates' cache, kept on purpose)
    preview.process.send_signal(stop)
    assert preview.process.wait(30) == 0
    # Removed by a process of its own, which the preview does not wait for (see preview._remove).
    wait_for(lambda: workspaces() == [], what="the workspace to be removed")


def test_a_killed_previews_workspace_is_removed_by_the_next_preview_but_a_running_ones_is_kept(hub, tmp_path):
    # kill -9 (or running out of memory) leaves a whole site in the temp folder, 400 MB on a big hub.
    hub.lesson("第一课", "title: 第一课\ndate: 2026-03-01")
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}

    def workspaces() -> set:
        return {path for path in temp.iterdir() if path.name.startswith("kite-preview-")}

    killed = Preview(hub, free_port(), env=env)
    (dead,) = workspaces()
    running = Preview(hub, free_port(), env=env)
    (alive,) = workspaces() - {dead}
    killed.process.kill()
    killed.process.wait(10)
    # Both locks as if taken long ago: only the one nobody holds any more marks an abandoned workspace.
    for workspace in (dead, alive):
        os.utime(workspace / ".site.kite-lock", (0, 0))
    later = Preview(hub, free_port(), env=env)
    try:
        wait_for(lambda: not dead.exists(), what="the killed preview's workspace to be removed")
        assert alive.exists() and "第一课" in running.page("")
        assert len(workspaces()) == 2  # the running one's and the new one's
    finally:
        running.stop()
        later.stop()


def test_only_workspaces_locked_by_nobody_for_a_while_count_as_abandoned(tmp_path):
    from kite.preview import _remove_abandoned

    def workspace(name: str, lock: bool, age: float) -> object:
        folder = tmp_path / f"kite-preview-{name}"
        (folder / "site").mkdir(parents=True)
        if lock:
            (folder / ".site.kite-lock").write_text("")
            os.utime(folder / ".site.kite-lock", (time.time() - age,) * 2)
        return folder

    old = workspace("old", lock=True, age=3600)
    fresh = workspace("fresh", lock=True, age=0)  # its preview may be about to lock it
    unknown = workspace("unknown", lock=False, age=3600)  # a preview from before locks, perhaps running
    assert _remove_abandoned(tmp_path) == [old]
    wait_for(lambda: not old.exists(), what="the abandoned workspace to be removed")
    assert fresh.exists() and unknown.exists()


def test_an_activity_that_ends_while_the_preview_runs_moves_to_the_past_without_an_edit(hub, tmp_path):
    # The preview renders on a save; an activity ending meanwhile must not stay "upcoming" on its
    # pages until the editor happens to save something (a build then shows it past).
    ends = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=20)
    hub.announcement("soon", f"""
        title: 马上结束的活动
        date: {ends:%Y-%m-%d}
        starts: {(ends - timedelta(hours=1)).isoformat()}
        ends: {ends.isoformat()}
        """)
    preview = Preview(hub, free_port())
    try:
        listed = preview.page("announcements/")
        assert "马上结束的活动" in listed.split('id="past"')[0]  # upcoming
        assert "马上结束的活动" in preview.page("")
        wait_for(lambda: 'id="past"' in preview.page("announcements/"), timeout=60, what="the activity among the past")
        assert "马上结束的活动" in preview.page("announcements/").split('id="past"')[1]
        assert "马上结束的活动" not in preview.page("")
        assert datetime.now(timezone.utc) >= ends
    finally:
        preview.stop()


def test_the_workspace_remover_imports_nothing_from_the_folder_the_preview_was_started_in(tmp_path, monkeypatch):
    # The editor starts the preview in the hub's folder; a shutil.py (or os.py) there is not the remover's.
    from kite.preview import _remove

    started_in = tmp_path / "hub"
    started_in.mkdir()
    (started_in / "shutil.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\n", encoding="utf-8")
    workspace = tmp_path / "kite-preview-x"
    (workspace / "site").mkdir(parents=True)
    monkeypatch.chdir(started_in)
    _remove(workspace)
    wait_for(lambda: not workspace.exists(), what="the workspace to be removed")
    assert not (tmp_path / "imported").exists()
