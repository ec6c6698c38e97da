"""`build.py serve` under an editor's edits: a real preview process on loopback, real files saved
the ways editors' editors save them, and every change seen (or its problem shown) without a restart.

Each test waits on what the preview serves, never on a fixed delay.
"""

from __future__ import annotations

import os
import shutil
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from helpers import REPO, free_port, wait_for
from test_preview import Preview

LESSON = "lessons/" + quote("第一课") + "/"
FRONT = "title: {title}\ndate: 2026-03-01\nseries: 风筝精神\nattendance: true"


class Terminal(Preview):
    """``build.py serve`` as a terminal runs it: in a process group of its own, which Ctrl+C
    signals as a whole.  ``wait``: the address to wait for ('' for none)."""

    def __init__(self, hub, port: int, *, wait: str = "hub/", env: dict[str, str] | None = None):
        self.hub, self.port, self.lines = hub, port, []
        self.base = f"http://127.0.0.1:{port}/hub/"
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "build.py"), "serve", "-f", str(hub.config), "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if wait:
            address = f"http://127.0.0.1:{port}/{wait}"
            wait_for(lambda: httpx.get(address).status_code == 200, what="the preview to start", ignore=(httpx.TransportError,))

    def ctrl_c(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(30)


def status(preview: Preview, path: str) -> int:
    return httpx.get(preview.base + path).status_code


def banner(preview: Preview, path: str = "") -> str:
    """The problem banner the preview puts on its pages ('' when there is none)."""
    page = preview.page(path)
    return page.split('role="alert"', 1)[1].split("</div>", 1)[0] if 'role="alert"' in page else ""


@pytest.fixture
def preview(hub):
    hub.lesson("第一课", FRONT.format(title="第一课原标题"), body="原来的正文。\n")
    hub.lesson("second", "title: 第二课\ndate: 2026-02-01")
    started = Preview(hub, free_port())
    yield started
    if started.process.poll() is None:
        started.stop()


def test_a_yaml_error_is_shown_and_printed_the_last_good_site_stays_and_the_fix_recovers(preview):
    path = preview.hub.root / "lessons/第一课.md"
    path.write_text('---\ntitle: "第一课改了一半\ndate: 2026-03-01\n---\n写到一半的正文。\n', encoding="utf-8")
    wait_for(lambda: banner(preview, LESSON), what="the problem banner")
    shown = banner(preview, LESSON)
    assert "lessons/第一课.md:2: front-matter: YAML 语法错误：引号没有闭合" in shown
    wait_for(lambda: "lessons/第一课.md:2: front-matter: YAML 语法错误" in preview.output(), what="the problem in the terminal")
    page = preview.page(LESSON)
    assert "第一课原标题" in page and "写到一半" not in page  # the last good version is served
    assert status(preview, "lessons/second/") == 200
    preview.hub.lesson("第一课", FRONT.format(title="改好的标题"), body="改好的正文。\n")
    wait_for(lambda: "改好的标题" in preview.page(LESSON), what="the fixed lesson")
    assert banner(preview, LESSON) == "" and banner(preview) == ""
    assert preview.process.poll() is None


def test_a_deleted_lesson_leaves_its_page_and_the_lists(preview):
    assert "第二课" in preview.page("lessons/")
    (preview.hub.root / "lessons/second.md").unlink()
    wait_for(lambda: status(preview, "lessons/second/") == 404, what="the deleted lesson's page to go")
    wait_for(lambda: "第二课" not in preview.page("lessons/"), what="the list to drop it")
    assert "第二课" not in preview.page("") and "第二课" not in preview.page("lessons/rss.xml")


def test_a_renamed_file_moves_the_page(preview):
    (preview.hub.root / "lessons/second.md").rename(preview.hub.root / "lessons/renamed.md")
    wait_for(lambda: status(preview, "lessons/renamed/") == 200, what="the page at its new address")
    wait_for(lambda: status(preview, "lessons/second/") == 404, what="the old address to go")
    wait_for(lambda: "renamed/" in preview.page("lessons/") and "second/" not in preview.page("lessons/"),
             what="the list to link the new address only")
    assert banner(preview) == ""


def test_a_changed_slug_moves_the_page(preview):
    preview.hub.lesson("second", "title: 第二课\ndate: 2026-02-01\nslug: di-er-ke")
    wait_for(lambda: status(preview, "lessons/di-er-ke/") == 200, what="the page at its new slug")
    wait_for(lambda: status(preview, "lessons/second/") == 404, what="the old slug to go")
    assert "di-er-ke/" in preview.page("lessons/")


def test_a_new_series_gets_its_page(preview):
    preview.hub.lesson("third", "title: 第三课\ndate: 2026-04-01\nseries: 新开的系列")
    series = "lessons/series/" + quote("新开的系列") + "/"
    wait_for(lambda: status(preview, series) == 200, what="the new series' page")
    assert "第三课" in preview.page(series)
    assert "新开的系列" in preview.page("lessons/third/")


def test_a_media_file_added_then_used_shows_up(preview):
    picture = (REPO / "content/media/cover.png").read_bytes()
    preview.hub.media("2026/现场.png", picture)
    preview.hub.lesson("second", "title: 第二课\ndate: 2026-02-01", body="![现场](content/media/2026/现场.png)\n")
    wait_for(lambda: "media/2026/" + quote("现场.png") in preview.page("lessons/second/"), what="the picture in the page")
    answer = httpx.get(preview.base + "media/2026/" + quote("现场.png"))
    assert answer.status_code == 200 and answer.content == picture
    assert banner(preview) == ""


def test_a_lesson_using_a_media_file_before_it_exists_recovers_when_it_is_added(preview):
    preview.hub.lesson("second", "title: 第二课\ndate: 2026-02-01", body="正文\n\n![图](content/media/later.png)\n")
    wait_for(lambda: "lessons/second.md:7: body: 找不到文件 content/media/later.png" in banner(preview), what="the missing file")
    preview.hub.media("later.png", (REPO / "content/media/cover.png").read_bytes())
    wait_for(lambda: banner(preview) == "", what="the banner to go once the file is there")
    assert status(preview, "media/later.png") == 200


def test_config_edits_a_new_branch_a_wrong_key_and_the_fix(preview):
    config = preview.hub.config
    good = config.read_text(encoding="utf-8")
    config.write_text(good.replace("branches: [鼓韵堂党支部, 栖息栈党支部]", "branches: [鼓韵堂党支部, 栖息栈党支部, 新建的党支部]"),
                      encoding="utf-8")
    wait_for(lambda: "新建的党支部" in preview.page(LESSON), what="the new branch in the check-in form")
    wrong = config.read_text(encoding="utf-8") + "sit_name: 打错的字段\n"
    config.write_text(wrong, encoding="utf-8")
    line = len(wrong.splitlines())
    wait_for(lambda: f"site_config.yml:{line}: sit_name: 未知字段" in banner(preview, LESSON), what="the wrong key")
    assert "新建的党支部" in preview.page(LESSON)  # the last good version stays
    config.write_text(wrong.replace("sit_name: 打错的字段\n", "site_description: 改好了\n"), encoding="utf-8")
    wait_for(lambda: banner(preview, LESSON) == "", what="the banner to go")
    assert "改好了" in preview.page("")


def test_a_template_syntax_error_is_shown_at_its_line_and_the_fix_recovers(preview):
    preview.hub.write("templates/partials/kite/footer_extra.html", "<p>页脚一</p>")
    wait_for(lambda: "页脚一" in preview.page("lessons/second/"), what="the hub's footer")
    preview.hub.write("templates/partials/kite/footer_extra.html", "<p>页脚二</p>\n{% if %}\n")
    wait_for(lambda: "templates/partials/kite/footer_extra.html:2: template: 模板语法错误" in banner(preview),
             what="the template's problem")
    assert "页脚一" in preview.page("lessons/second/")
    preview.hub.write("templates/partials/kite/footer_extra.html", "<p>页脚三</p>\n")
    wait_for(lambda: "页脚三" in preview.page("lessons/second/"), what="the fixed footer")
    assert banner(preview) == ""


def test_an_atomic_save_as_vs_code_makes_it_is_seen(preview):
    # Write a temporary file beside it, then rename it over the lesson.
    folder = preview.hub.root / "lessons"
    temporary = folder / ".第一课.md.tmp-1234"
    temporary.write_text(f"---\n{FRONT.format(title='原子保存的标题')}\n---\n新的正文。\n", encoding="utf-8")
    os.replace(temporary, folder / "第一课.md")
    wait_for(lambda: "原子保存的标题" in preview.page(LESSON), what="the atomically saved lesson")
    assert banner(preview) == ""


def test_a_save_as_vim_makes_it_is_seen(preview):
    # Vim's default: the old file is renamed to a backup, a new file is written, the backup removed;
    # a swap file comes and goes beside it.
    folder = preview.hub.root / "lessons"
    swap = folder / ".第一课.md.swp"
    swap.write_bytes(b"\x00vim swap")
    (folder / "第一课.md").rename(folder / "第一课.md~")
    (folder / "第一课.md").write_text(f"---\n{FRONT.format(title='vim 保存的标题')}\n---\n正文。\n", encoding="utf-8")
    (folder / "第一课.md~").unlink()
    swap.unlink()
    wait_for(lambda: "vim 保存的标题" in preview.page(LESSON), what="the lesson vim saved")
    assert banner(preview) == ""
    assert status(preview, "lessons/" + quote("第一课.md~") + "/") == 404


def test_many_quick_saves_end_with_the_last_one(preview):
    path = preview.hub.root / "lessons/第一课.md"
    for number in range(40):
        # Half of them broken on the way, as a file is while it is being typed.
        front = FRONT.format(title=f"第 {number} 次保存") if number % 2 else "title: [没写完"
        path.write_text(f"---\n{front}\n---\n第 {number} 次的正文。\n", encoding="utf-8")
    path.write_text(f"---\n{FRONT.format(title='最后一次保存')}\n---\n最后的正文。\n", encoding="utf-8")
    wait_for(lambda: "最后一次保存" in preview.page(LESSON), what="the last save")
    wait_for(lambda: banner(preview, LESSON) == "", what="no problem left from the broken saves")
    assert "最后的正文" in preview.page(LESSON)
    assert preview.process.poll() is None
    assert "Traceback" not in preview.output()


def test_bom_and_crlf_work_and_gbk_gets_a_clear_path_error(preview):
    text = f"---\r\n{FRONT.format(title='Windows 记事本保存的标题')}\r\n---\r\n正文第一行。\r\n".replace("\n", "\r\n").replace("\r\r\n", "\r\n")
    (preview.hub.root / "lessons/第一课.md").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    wait_for(lambda: "Windows 记事本保存的标题" in preview.page(LESSON), what="the BOM and CRLF file")
    assert banner(preview) == ""
    (preview.hub.root / "lessons/gbk.md").write_bytes("---\ntitle: 国标编码\ndate: 2026-03-02\n---\n正文。\n".encode("gbk"))
    wait_for(lambda: "lessons/gbk.md:2: encoding: 文件不是 UTF-8 编码" in banner(preview), what="the GBK file's problem")
    assert "Windows 记事本保存的标题" in preview.page(LESSON)
    (preview.hub.root / "lessons/gbk.md").write_text("---\ntitle: 国标编码\ndate: 2026-03-02\n---\n正文。\n", encoding="utf-8")
    wait_for(lambda: status(preview, "lessons/gbk/") == 200, what="the file saved again in UTF-8")
    assert banner(preview) == ""


def test_a_second_serve_on_the_same_port_says_so_and_stops(preview):
    second = subprocess.run([sys.executable, str(REPO / "build.py"), "serve", "-f", str(preview.hub.config),
                             "--port", str(preview.port)], capture_output=True, text=True, timeout=120)
    assert second.returncode == 1
    assert "Traceback" not in second.stderr and "Traceback" not in second.stdout
    assert f"端口 {preview.port} 已被占用" in second.stderr and "--port" in second.stderr
    assert "预览地址" not in second.stdout  # it never claimed to serve
    assert status(preview, "") == 200  # the first one goes on


def test_a_port_taken_by_another_program_says_so(hub):
    hub.lesson("a", "title: 甲\ndate: 2026-01-01")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        answer = subprocess.run([sys.executable, str(REPO / "build.py"), "serve", "-f", str(hub.config), "--port", str(port)],
                                capture_output=True, text=True, timeout=120)
    assert answer.returncode == 1 and "Traceback" not in answer.stderr
    assert answer.stderr.strip().splitlines() == [
        f"预览没有启动：端口 {port} 已被占用（可能另一个终端里已经在运行 serve）。请先关掉那个预览（按 Ctrl+C），或换一个端口，例如 --port {port + 10}"]


@pytest.mark.parametrize("port", ["0", "70000"])
def test_an_impossible_port_says_so(hub, port):
    hub.lesson("a", "title: 甲\ndate: 2026-01-01")
    answer = subprocess.run([sys.executable, str(REPO / "build.py"), "serve", "-f", str(hub.config), "--port", port],
                            capture_output=True, text=True, timeout=120)
    assert answer.returncode == 1
    assert answer.stderr.strip() == f"预览没有启动：端口应是 1 到 65535 之间的数，实际为 {port}"


def test_the_port_of_a_preview_just_stopped_can_be_used_again(hub):
    hub.lesson("a", "title: 甲\ndate: 2026-01-01")
    port = free_port()
    first = Preview(hub, port)
    for _ in range(5):  # connections the server closed linger in TIME_WAIT on its port
        assert httpx.get(first.base + "lessons/a/").status_code == 200
    first.process.send_signal(signal.SIGINT)
    assert first.process.wait(30) == 0
    second = Preview(hub, port)
    try:
        assert httpx.get(second.base + "lessons/a/").status_code == 200
    finally:
        second.stop()


def _processes_mentioning(text: str) -> list[int]:
    """Processes whose command line or working folder mention ``text`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in command and state != "Z":
            found.append(int(entry.name))
    return found


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == pid:
                found.append(int(entry.name))
    return found


def _blocks_sigint(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True  # gone already
    blocked = int(re.search(r"^SigBlk:\s*([0-9a-f]+)", status, re.M).group(1), 16)
    return bool(blocked & (1 << (signal.SIGINT - 1)))


@pytest.mark.parametrize("group", [True, False], ids=["ctrl-c-in-the-terminal", "sigint-to-the-preview-alone"])
def test_ctrl_c_while_the_search_index_is_rebuilt_leaves_no_process_behind(hub, tmp_path, group):
    for number in range(60):
        hub.lesson(f"lesson-{number}", f"title: 第 {number} 课\ndate: 2026-01-01", body="正文。\n" * 50)
    temp = tmp_path / "temp"
    temp.mkdir()
    preview = Terminal(hub, free_port(), env={**os.environ, "TMPDIR": str(temp)})
    seen: set[int] = set()
    # Edits that make the preview re-index in the background (Pagefind, a child process) ...
    for round_ in range(20):
        hub.lesson("lesson-1", f"title: 第 1 课 改 {round_}\ndate: 2026-01-01", body="正文。\n" * 50)
        wait_for(lambda: f"改 {round_}" in httpx.get(preview.base + "lessons/lesson-1/").text, what="the edit")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not _children(preview.process.pid):
            time.sleep(0.01)
        seen.update(_children(preview.process.pid))
        if seen:
            break
    assert seen, "the preview never started a child process to index the search"
    # The indexer does not take the terminal's Ctrl+C itself (forked at the wrong moment, it printed a
    # traceback); the preview ends it.
    assert all(_blocks_sigint(pid) for pid in seen if Path(f"/proc/{pid}/status").exists())
    # ... and Ctrl+C while one of them runs: a terminal signals the whole group, `kill -INT` the preview alone.
    if group:
        assert preview.ctrl_c() == 0
    else:
        preview.process.send_signal(signal.SIGINT)
        assert preview.process.wait(30) == 0
    wait_for(lambda: not [pid for pid in seen if Path(f"/proc/{pid}").exists() and
                          (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z")],
             what="the preview's children to end", ignore=(OSError,))
    wait_for(lambda: not _processes_mentioning(str(temp)), what="no process working in the preview's workspace")
    assert not [path for path in temp.iterdir() if path.name.startswith("kite-preview-")]
    preview.reader.join(10)  # everything it printed
    assert "Traceback" not in preview.output() and "搜索索引更新失败" not in preview.output()


def test_the_open_page_reloads_itself_for_an_edit_a_problem_and_its_fix(preview, phone):
    phone.goto(preview.base + LESSON)
    assert phone.locator("h1").first.inner_text() == "第一课原标题"
    preview.hub.lesson("第一课", FRONT.format(title="浏览器里自动刷新"), body="正文。\n")
    phone.wait_for_function("document.querySelector('h1') && document.querySelector('h1').textContent.includes('浏览器里自动刷新')",
                            timeout=15_000)
    preview.hub.lesson("第一课", "title: 浏览器里自动刷新\ndate: 2026-13-01")
    alert = phone.locator('[role="alert"]')
    alert.wait_for(state="visible", timeout=15_000)
    assert "lessons/第一课.md:3: date: 日期不存在" in alert.inner_text()
    assert phone.locator("h1").first.inner_text() == "浏览器里自动刷新"  # the last good page, under the banner
    preview.hub.lesson("第一课", FRONT.format(title="又改好了"), body="正文。\n")
    alert.wait_for(state="detached", timeout=15_000)
    phone.wait_for_function("document.querySelector('h1').textContent.includes('又改好了')", timeout=15_000)


def test_a_changed_site_url_path_moves_the_preview(preview):
    preview.hub.configure(site_url="https://example.org/other/")
    moved = f"http://127.0.0.1:{preview.port}/other/"
    wait_for(lambda: httpx.get(moved + "lessons/second/").status_code == 200, what="the preview at the new path")
    wait_for(lambda: f"预览地址改为：{moved}" in preview.output(), what="the new address in the terminal")
    assert httpx.get(preview.base + "lessons/second/").status_code == 404


def test_a_hub_broken_from_the_start_is_served_once_fixed(hub):
    hub.lesson("second", "title: 第二课\ndate: 三月")
    hub.configure(site_url="https://example.org/hub/?broken")
    preview = Terminal(hub, free_port(), wait="")  # no site at /hub/ yet: the config cannot be read
    preview.base = f"http://127.0.0.1:{preview.port}/"
    try:
        wait_for(lambda: httpx.get(preview.base).status_code == 200, what="the preview to start", ignore=(httpx.TransportError,))
        shown = banner(preview)
        line = hub.config.read_text(encoding="utf-8").splitlines().index("site_url: https://example.org/hub/?broken") + 1
        assert "lessons/second.md:3: date:" in shown and f"site_config.yml:{line}: site_url: 网址不能带 ?" in shown
        hub.configure(site_url="https://example.org/hub/")
        hub.lesson("second", "title: 第二课\ndate: 2026-03-01")
        fixed = f"http://127.0.0.1:{preview.port}/hub/lessons/second/"
        wait_for(lambda: httpx.get(fixed).status_code == 200, what="the fixed hub at site_url's path")
        assert 'role="alert"' not in httpx.get(fixed).text
    finally:
        preview.stop()


def test_the_check_in_endpoint_starts_once_a_hub_broken_at_the_start_is_fixed(hub):
    hub.lesson("第一课", "title: 第一课\ndate: 2026-03-01\nattendance: true")
    hub.lesson("second", "title: 第二课\ndate: 三月")
    preview = Preview(hub, free_port())
    try:
        wait_for(lambda: "签到服务暂未启动：内容有错误" in preview.output(), what="why the endpoint waits")
        hub.lesson("second", "title: 第二课\ndate: 2026-03-02")
        endpoint = preview.endpoint()
        wait_for(lambda: f'action="{endpoint}/checkin"' in preview.page(LESSON), what="the form pointed at the preview's endpoint")
        answer = httpx.post(f"{endpoint}/checkin", data={"session": "lessons/第一课", "branch": "鼓韵堂党支部", "name": "试用"},
                            headers={"Accept": "application/json"})
        assert answer.status_code == 201
    finally:
        preview.stop()


def test_the_preview_endpoint_takes_a_check_in_as_soon_as_the_page_shows_its_form(preview):
    # The endpoint beside the preview has the very hub the preview just loaded: it does not read the
    # files again on its own, some seconds later, in the same process (on a big hub that second
    # reading took the GIL from the next save and doubled its time).
    endpoint = preview.endpoint()

    def check_in(session: str, name: str) -> int:
        return httpx.post(f"{endpoint}/checkin", data={"session": session, "branch": "鼓韵堂党支部", "name": name},
                          headers={"Accept": "application/json"}).status_code

    preview.hub.lesson("second", "title: 第二课\ndate: 2026-02-01\nattendance: true")
    wait_for(lambda: 'name="session" value="lessons/second"' in preview.page("lessons/second/"), what="the new form")
    assert check_in("lessons/second", "试用") == 201  # at once: not after the next look at the files
    preview.hub.lesson("second", "title: 第二课\ndate: 2026-02-01")
    wait_for(lambda: 'name="session"' not in preview.page("lessons/second/"), what="the form gone")
    assert check_in("lessons/second", "再试") == 404
    preview.hub.lesson("third", "title: 第三课\ndate: 2026-02-03\nattendance: true\ndraft: true")
    wait_for(lambda: status(preview, "lessons/third/") == 200, what="the draft shown in the preview")
    assert check_in("lessons/third", "草稿") == 404  # as the published site's endpoint will answer: drafts take none


def test_a_lessons_folder_removed_and_made_again_is_watched_again(preview):
    shutil.rmtree(preview.hub.root / "lessons")
    wait_for(lambda: status(preview, "lessons/second/") == 404, what="the removed lessons to go")
    preview.hub.lesson("third", "title: 第三课\ndate: 2026-04-01")
    wait_for(lambda: status(preview, "lessons/third/") == 200, what="a lesson in the folder made again")
    preview.hub.lesson("third", "title: 第三课改\ndate: 2026-04-01")
    wait_for(lambda: "第三课改" in preview.page("lessons/third/"), what="an edit in the folder made again")


def test_a_folder_moved_away_and_back_is_watched_again(preview):
    # As a `git stash` or a sync tool may do: the folder goes, and comes back as another folder.
    lessons = preview.hub.root / "lessons"
    lessons.rename(preview.hub.root / "lessons.bak")
    wait_for(lambda: status(preview, "lessons/second/") == 404, what="the moved lessons to go")
    (preview.hub.root / "lessons.bak").rename(lessons)
    wait_for(lambda: status(preview, "lessons/second/") == 200, what="the lessons back")
    preview.hub.lesson("second", "title: 回来以后改的\ndate: 2026-02-01")
    wait_for(lambda: "回来以后改的" in preview.page("lessons/second/"), what="an edit after the move back")


def test_a_section_folder_made_after_the_start_is_watched(preview):
    assert not (preview.hub.root / "content/announcements").exists()
    preview.hub.announcement("act", "title: 新活动\ndate: 2026-02-01\nstarts: 2026-12-01 19:00")
    wait_for(lambda: status(preview, "announcements/act/") == 200, what="the first announcement")
    preview.hub.announcement("act", "title: 改过的活动\ndate: 2026-02-01\nstarts: 2026-12-01 19:00")
    wait_for(lambda: "改过的活动" in preview.page("announcements/act/"), what="an edit in the new folder")


def test_repeated_atomic_saves_of_the_config_are_all_seen(preview):
    text = preview.hub.config.read_text(encoding="utf-8")
    for number in range(3):
        temporary = preview.hub.root / f".site_config.yml.{number}.tmp"
        temporary.write_text(text.replace("测试云课堂", f"第{number}版站名"), encoding="utf-8")
        os.replace(temporary, preview.hub.config)
        wait_for(lambda: f"第{number}版站名" in preview.page(""), what=f"atomic config save {number}")


def test_a_media_file_replaced_under_the_same_name_is_served_new(preview):
    preview.hub.media("pic.png", b"first version")
    preview.hub.lesson("second", "title: 第二课\ndate: 2026-02-01", body="![图](content/media/pic.png)\n")
    wait_for(lambda: httpx.get(preview.base + "media/pic.png").content == b"first version", what="the picture")
    preview.hub.media("pic.png", b"the second, longer version")
    wait_for(lambda: httpx.get(preview.base + "media/pic.png").content == b"the second, longer version", what="the new picture")


def test_a_lessons_folder_removed_and_made_again_at_once_is_watched_again(preview):
    # Faster than the preview looks at its folders; the new folder may even get the old one's inode number.
    lessons = preview.hub.root / "lessons"
    for round_ in range(3):
        shutil.rmtree(lessons)
        preview.hub.lesson("third", f"title: 第三课 {round_}\ndate: 2026-04-01")
        wait_for(lambda: f"第三课 {round_}" in preview.page("lessons/third/"), what=f"the lesson in folder {round_}")
    preview.hub.lesson("third", "title: 最后改的\ndate: 2026-04-01")
    wait_for(lambda: "最后改的" in preview.page("lessons/third/"), what="an edit in the last folder")


def test_a_link_to_a_lesson_that_does_not_exist_is_warned_about_once(preview):
    preview.hub.lesson("second", "title: 第二课\ndate: 2026-02-01", body="见[下一课](../no-such-lesson/)。\n")
    warning = "警告：lessons/second.md:5: body: 链接 ../no-such-lesson/ 指向的党课不存在（或还是草稿）：请核对网址名"
    wait_for(lambda: warning in preview.output(), what="the warning in the terminal")
    preview.hub.lesson("第一课", FRONT.format(title="另一处改动"))
    wait_for(lambda: "另一处改动" in preview.page(LESSON), what="another save")
    assert preview.output().count(warning) == 1
    assert banner(preview) == ""  # a warning, not a problem: the page is shown as saved


def test_a_broken_link_found_while_rendering_is_warned_about_until_it_is_fixed(preview):
    # Links to Markdown files are checked as the page is rendered, not when the hub is read.
    broken = "见[讲义](no-such.md)。\n"
    preview.hub.lesson("second", "title: 第二课\ndate: 2026-02-01", body="第一段。\n\n" + broken)
    warning = "警告：lessons/second.md:7: body: 链接 no-such.md 指向的页面或文件不存在"
    wait_for(lambda: warning in preview.output(), what="the warning in the terminal")
    preview.hub.lesson("第一课", FRONT.format(title="另一处改动"))
    wait_for(lambda: "另一处改动" in preview.page(LESSON), what="another save")
    assert preview.output().count(warning) == 1
    preview.hub.lesson("second", "title: 第二课\ndate: 2026-02-01", body="第一段。\n\n见[第一课](第一课.md)。\n")
    wait_for(lambda: "no-such.md" not in preview.page("lessons/second/"), what="the fixed link")
    preview.hub.lesson("second", "title: 第二课\ndate: 2026-02-01", body="第一段。\n\n" + broken)
    wait_for(lambda: preview.output().count(warning) == 2, what="the warning again, once the link is broken again")


def test_preview_pages_register_no_worker_and_offer_no_saving(preview, phone):
    # The preview writes no sw.js (a worker would show a page as it was before a save): its pages must not
    # ask for one (a 404 and a console error on every page) nor offer 保存离线阅读.
    asked: list[str] = []
    problems: list[str] = []
    phone.on("request", lambda request: asked.append(request.url))
    phone.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    phone.goto(preview.base + "lessons/")
    phone.wait_for_load_state("load")
    phone.wait_for_function("!document.documentElement.className.includes('kite-sw')")
    assert phone.evaluate("navigator.serviceWorker.getRegistrations().then(found => found.length)") == 0
    assert not [url for url in asked if url.endswith("sw.js")]
    assert problems == []
    assert not phone.locator("[data-kite-offline=save]").is_visible()


def test_a_lesson_added_to_a_long_list_shows_first_and_the_lists_later_pages_follow(hub):
    # 2,050 lessons: the lessons list has 102 pages, the newest 30 first and then 101 runs of 20 from
    # the oldest. A lesson dated before them all moves every run by one, more pages than the preview
    # renders at once (kite.publisher.AT_ONCE). The lesson shows after one update; the runs after the next.
    from datetime import date, timedelta

    for number in range(2050):
        day = date(2020, 1, 1) + timedelta(days=number)
        hub.write(f"lessons/l{number:04}.md", f"---\ntitle: 第{number}讲\ndate: {day.isoformat()}\n---\n正文。\n")
    preview = Preview(hub, free_port())
    try:
        assert "第1999讲" not in preview.page("lessons/page/101/")  # the newest run: 第2000讲 to 第2019讲
        hub.lesson("oldest", "title: 补录的一讲\ndate: 2019-01-01")
        wait_for(lambda: status(preview, "lessons/oldest/") == 200, what="the new lesson")
        assert "第2019讲" in preview.page("lessons/")  # off the newest run, onto the first page
        wait_for(lambda: re.search(r"其余 \d+ 个列表页接着更新", preview.output()), what="the pages left for later, said")
        wait_for(lambda: "第1999讲" in preview.page("lessons/page/101/"), what="the newest run following")
        wait_for(lambda: "补录的一讲" in preview.page("lessons/page/1/"), what="the oldest run following")
    finally:
        preview.stop()
