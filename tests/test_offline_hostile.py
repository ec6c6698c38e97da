"""Offline reading under failure and over time, in a real Chromium (CONTRACT.md section 8).

test_offline_browser.py shows the happy paths; here the network drops half-way through saving a
series, the phone runs out of space, builds are published while pages are open or being saved,
the line is slow, and service workers are blocked.  The site is served by a small server of our
own that can drop, hold and count requests (a fault in the server, not a mock of the browser).
"""

from __future__ import annotations

import functools
import json
import os
import time
import http.server
import io
import random
import re
import threading
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
from PIL import Image

from helpers import CONFIG, PHONE, REPO, HubFolder, kept_text, wait_for
from kite.build import build

GROUP = "断网系列"


class FaultyHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder; asks its server whether to drop or hold each request, and logs it."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        server = self.server
        with server.lock:
            server.log.append(path)
        if server.hold(path):
            server.released.wait(30)
        if server.drop(path):
            # What a dead mobile line looks like to the browser: the connection just closes.
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        super().do_GET()


class FaultyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, folder: Path):
        super().__init__(("127.0.0.1", 0), functools.partial(FaultyHandler, directory=str(folder)))
        self.lock = threading.Lock()
        self.log: list[str] = []
        self.drop = lambda path: False
        self.hold = lambda path: False
        self.released = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/"

    def heal(self) -> None:
        self.drop = lambda path: False
        self.hold = lambda path: False
        self.released.set()

    def fetched(self, prefix: str) -> list[str]:
        with self.lock:
            return [path for path in self.log if path.startswith(prefix)]


@pytest.fixture
def server(tmp_path):
    found = FaultyServer(tmp_path / "served")
    yield found
    found.released.set()
    found.shutdown()
    found.server_close()


def picture(width: int, height: int, seed: int) -> bytes:
    """A PNG that does not compress: its size on the phone is about its pixels' bytes."""
    noise = random.Random(seed).randbytes(width * height * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), noise).save(out, "PNG")
    return out.getvalue()


class Hub:
    """A hub folder built into the server's folder at ``path`` (site_url's path)."""

    def __init__(self, root: Path, server: FaultyServer, path: str = ""):
        self.folder = HubFolder(root / "hub")
        self.server = server
        self.path = path
        self.site = root / "served" / path
        self.url = server.url + quote(path) + ("/" if path else "")
        self.folder.write("site_config.yml", CONFIG.replace("https://example.org/hub/", self.url))

    def build(self) -> None:
        build(self.folder.config, self.site)
        # Builds are published minutes apart, and servers date files to the second
        # (Last-Modified): one test's builds a second apart must not look like one.
        self.builds = getattr(self, "builds", 0) + 1
        stamp = time.time() + 10 * self.builds
        for path in self.site.rglob("*"):
            os.utime(path, (stamp, stamp))

    def page(self, section: str, slug: str) -> str:
        return f"{self.url}{section}/{quote(slug)}/"

    def series(self, name: str = GROUP) -> str:
        return f"{self.url}lessons/series/{quote(name)}/"


def lesson_slug(number: int) -> str:
    return f"断网第{number}课"


def picture_name(number: int) -> str:
    return f"工地 照片{number}.png"  # a Chinese name with a space


@pytest.fixture
def series_hub(tmp_path, server) -> Hub:
    """Six lessons of one series, Chinese slugs, each with its own picture (Chinese names with spaces)."""
    hub = Hub(tmp_path, server)
    for number in range(1, 7):
        hub.folder.media(picture_name(number), picture(120, 120, number))
        hub.folder.lesson(lesson_slug(number), f"title: 断网第{number}课\ndate: 2026-03-{number:02d}\nseries: {GROUP}",
                          body=f"断网系列第 {number} 课的正文。\n\n![工地照片](<../content/media/{picture_name(number)}>)\n")
    hub.build()
    return hub


def controlled(page) -> None:
    page.wait_for_function("navigator.serviceWorker && !!navigator.serviceWorker.controller", timeout=20_000)


STATUS = "document.querySelector('[data-kite-offline=save] .kite-offline__status').textContent"


def press_save(page) -> str:
    """Press 保存离线阅读 and wait for the line that says how it ended (never 正在…)."""
    page.locator("[data-kite-offline=save]").get_by_role("button", name="保存离线阅读").click()
    page.wait_for_function(f"{STATUS}.startsWith('已保存') || {STATUS}.startsWith('没有') || {STATUS}.includes('空间')",
                           timeout=60_000)
    return page.evaluate(STATUS)


def image_shown(page) -> bool:
    image = page.locator("article img").first
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete", arg=image.element_handle())
    return image.evaluate("img => img.naturalWidth > 0")


def kilobytes(status: str) -> int:
    return int(re.search(r"约 (\d+) KB", status).group(1))


def drop_once(server, path: str) -> list[str]:
    """The test server drops the first request for ``path`` (a line that fails once); the list
    returned holds it once it was dropped."""
    dropped: list[str] = []

    def once(requested: str) -> bool:
        if requested == path and not dropped:
            dropped.append(requested)
            return True
        return False
    server.drop = once
    return dropped


# --- Saving a series on a line that drops.


def test_a_save_cut_half_way_says_what_was_saved_and_a_second_press_fetches_only_the_rest(context, series_hub, server):
    page = context.new_page()
    page.goto(series_hub.series())
    controlled(page)
    # The line drops for lessons 4 to 6, and for the picture of lesson 2 (its page arrives).
    broken = {f"/lessons/{lesson_slug(n)}/" for n in (4, 5, 6)} | {f"/media/{picture_name(2)}"}
    server.drop = lambda path: path.replace("index.html", "") in broken
    first = press_save(page)
    assert re.fullmatch(r"已保存 3/6 篇，约 \d+ KB。有 3 篇没有存上，请连上网络后再点一次“保存离线阅读”。", first), first

    server.heal()
    with server.lock:
        server.log.clear()
    second = press_save(page)
    assert re.fullmatch(r"已保存 6/6 篇，约 \d+ KB", second), second
    # Only what was missing came down again: three pages and their pictures, and lesson 2's picture.
    fetched = sorted(path.replace("index.html", "") for path in server.fetched("/lessons/") + server.fetched("/media/"))
    assert fetched == sorted([f"/lessons/{lesson_slug(n)}/" for n in (4, 5, 6)] +
                             [f"/media/{picture_name(n)}" for n in (2, 4, 5, 6)]), fetched

    # The space shown is what the phone keeps: each page as served and its picture.
    kept = sum((series_hub.site / "lessons" / lesson_slug(n) / "index.html").stat().st_size +
               (series_hub.site / "media" / picture_name(n)).stat().st_size for n in range(1, 7))
    assert abs(kilobytes(second) * 1024 - kept) < 0.1 * kept, (second, kept)

    context.set_offline(True)
    for number in range(1, 7):
        page.goto(series_hub.page("lessons", lesson_slug(number)))
        assert page.locator("article h1").inner_text() == f"断网第{number}课"
        assert image_shown(page), number


def test_a_save_whose_list_cannot_be_read_says_nothing_was_saved(context, tmp_path, server):
    # A series longer than one list page (40 lessons or more): saving reads its later page, and the
    # line drops there.
    hub = Hub(tmp_path, server)
    for number in range(1, 42):
        hub.folder.lesson(f"l{number}", f"title: 长系列第{number}课\ndate: 2026-03-01\nseries: 长系列")
    hub.build()
    page = context.new_page()
    page.goto(hub.series("长系列"))
    controlled(page)
    server.drop = lambda path: path.startswith("/lessons/series/长系列/page/")
    assert press_save(page) == "没有保存成功，请检查网络后再点一次“保存离线阅读”。"
    server.heal()
    assert press_save(page).startswith("已保存 41/41 篇")
    # The later page, which knows no count, says what the series' first page saved: one group.
    page.goto(hub.series("长系列") + "page/1/")
    page.wait_for_function(f"{STATUS}.startsWith('已保存')", timeout=15_000)
    assert re.fullmatch(r"已保存 41 篇，约 \d+ KB", page.evaluate(STATUS))
    assert page.locator("[data-kite-offline=save]").get_by_role("button", name="删除已保存的").is_visible()


def test_a_series_of_one_lesson_is_saved_and_read_offline(context, tmp_path, server):
    hub = Hub(tmp_path, server)
    hub.folder.lesson("独课", "title: 只有一课\ndate: 2026-03-01\nseries: 单篇系列", body="唯一的一课的正文。\n")
    hub.build()
    page = context.new_page()
    page.goto(hub.series("单篇系列"))
    controlled(page)
    assert re.fullmatch(r"已保存 1/1 篇，约 \d+ KB", press_save(page))
    context.set_offline(True)
    page.goto(hub.page("lessons", "独课"))
    assert "唯一的一课的正文" in page.locator("article").inner_text()


def test_a_phone_out_of_space_says_so_plainly_and_does_not_hang(context, tmp_path, server):
    hub = Hub(tmp_path, server)
    for number in range(1, 4):
        hub.folder.media(f"大图{number}.png", picture(500, 500, number))  # about 750 KB each
        hub.folder.lesson(f"大图课{number}", f"title: 大图第{number}课\ndate: 2026-03-0{number}\nseries: 大图系列",
                          body=f"第 {number} 课。\n\n![大图](../content/media/大图{number}.png)\n")
    hub.folder.media("xiangyin.mp3", (REPO / "content/media/xiangyin-01.mp3").read_bytes())  # 544 KB
    hub.folder.episode("xiangyin", "title: 乡音\ndate: 2026-03-01\nmedia: xiangyin.mp3")
    hub.build()
    page = context.new_page()
    page.goto(hub.series("大图系列"))
    controlled(page)
    used = page.evaluate("navigator.storage.estimate().then(e => e.usage)")
    # Room for the lessons' text and about one picture, as on a phone whose storage is nearly full.
    cdp = context.new_cdp_session(page)
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": server.url.rstrip("/"), "quotaSize": used + 1_000_000})
    status = press_save(page)
    assert re.fullmatch(r"已保存 [01]/3 篇，约 \d+ KB。手机存储空间不够，存不下了。.*再点一次“保存离线阅读”。", status), status
    assert "网络" not in status
    assert page.locator("[data-kite-offline=save] .kite-offline__save").is_enabled()

    page.goto(hub.page("episodes", "xiangyin"))
    box = page.locator("[data-kite-offline=audio]")
    box.get_by_role("button", name=re.compile("^保存音频")).click()
    page.wait_for_function("document.querySelector('[data-kite-offline=audio] .kite-offline__status').textContent.includes('。')")
    assert box.locator(".kite-offline__status").inner_text().startswith("手机存储空间不够")


# --- A new build while members read.

def saved_entries(page) -> list[dict]:
    """What the worker lists as kept (the lists on the home and offline pages show this)."""
    return page.evaluate("""() => navigator.serviceWorker.ready.then((registration) => new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = (event) => { if (event.data.result) resolve(event.data.result); };
      registration.active.postMessage({ type: "list" }, [channel.port2]);
    }))""")


def new_worker_active(page, hub: Hub, timeout: float = 30) -> None:
    """Wait until the worker of the latest build is the active one, asking only the registration.

    Not by messages to the worker, as saved_entries() sends: a message that reaches the old worker
    while Chromium stops it for the new one (skipWaiting) starts it again, which clears the
    "stop as soon as idle" mark, and the new worker then waits until the old one has been idle for
    30 s -- under Playwright's DevTools never, until Chromium's five-minute lame-duck limit.  Polling
    the old worker every 0.1 s both starts that race and keeps it going: 3 runs of 20 next to two
    busy loops failed so, the new worker "installed" and the old one restarted, for 30 s.
    """
    build = json.loads((hub.site / "sw.js").read_text(encoding="utf-8").split("const BUILD = ", 1)[1].split(";\n", 1)[0])
    # Its shell complete, and nothing installing or waiting: it is the active one (a failed install
    # leaves its shell behind, incomplete).
    wait_for(lambda: page.evaluate("""([version, count]) => navigator.serviceWorker.getRegistration().then(async (r) => {
      if (!r || r.installing || r.waiting || !r.active || r.active.state !== 'activated') return false;
      const name = (await caches.keys()).find((name) => name.endsWith(':shell:' + version));
      return !!name && (await (await caches.open(name)).keys()).length === count;
    })""", [build["version"], len(build["precache"])]), timeout=timeout, what="the new build's worker to be the active one")


def test_a_new_build_reaches_two_open_tabs_and_the_saved_list_forgets_what_went(context, tmp_path, server):
    hub = Hub(tmp_path, server)
    folder = hub.folder
    folder.lesson("改", "title: 要改的课\ndate: 2026-03-01\nseries: 更新系列", body="第一版正文。\n")
    folder.lesson("删", "title: 要删的课\ndate: 2026-03-02\nseries: 更新系列", body="要删的正文。\n")
    folder.lesson("旧名", "title: 改名的课\ndate: 2026-03-03\nseries: 更新系列", body="改名的正文。\n")
    hub.build()
    first, second = context.new_page(), context.new_page()
    first.goto(hub.series("更新系列"))
    controlled(first)
    assert press_save(first).startswith("已保存 3/3 篇")
    second.goto(hub.page("lessons", "改"))
    assert "第一版正文" in second.locator("article").inner_text()

    folder.lesson("改", "title: 要改的课\ndate: 2026-03-01\nseries: 更新系列", body="第二版正文。\n")
    (folder.root / "lessons/删.md").unlink()
    (folder.root / "lessons/旧名.md").rename(folder.root / "lessons/新名.md")
    folder.write("templates/partials/kite/footer_extra.html", "<p>新的页脚</p>\n")
    folder.configure(site_name="新名字课堂")
    hub.build()

    for page in (second, first):  # the open tab reloads; the other opens the lesson
        page.goto(hub.page("lessons", "改"))
        page.goto(hub.page("lessons", "改"))  # the second visit at the latest
        assert "第二版正文" in page.locator("article").inner_text()
        assert "新的页脚" in page.locator("footer").inner_text()
        assert page.title() == "要改的课 - 新名字课堂"

    # The visits made the browser fetch the new worker; wait for it to take over.
    new_worker_active(first, hub)
    # In the background the new worker refreshes what was saved: the removed and the renamed
    # lesson leave the saved list; the changed one is there under its title, changed.
    def settled():
        entries = {entry["url"]: entry for entry in saved_entries(first) if entry["kind"] == "lesson"}
        return list(entries) == [hub.page("lessons", "改")] and entries
    entries = wait_for(settled, timeout=30, what="the saved list to follow the new build")
    assert [entry["title"] for entry in entries.values()] == ["要改的课"]
    context.set_offline(True)
    first.goto(hub.page("lessons", "改"))
    assert "第二版正文" in first.locator("article").inner_text()
    first.goto(hub.page("lessons", "删"))
    assert "离线" in first.locator("h1").inner_text()
    saved = first.locator("[data-kite-offline=saved]")
    saved.locator("h3").first.wait_for()
    assert "更新系列（1 篇" in saved.inner_text() and "要删的课" not in saved.inner_text()


def test_a_new_worker_whose_precache_request_the_line_drops_still_takes_over(context, tmp_path, server):
    # One request of the new worker's install dropped: the phone must not stay on the old build
    # until the browser next looks for a new worker (a later visit).
    hub = Hub(tmp_path, server)
    hub.folder.lesson("课", "title: 一课\ndate: 2026-03-01", body="一课的正文。\n")
    hub.build()
    page = context.new_page()
    page.goto(hub.page("lessons", "课"))
    controlled(page)
    dropped = drop_once(server, "/offline.html")  # before the build: the browser may look for a new worker any moment
    hub.folder.write("templates/partials/kite/footer_extra.html", "<p>新的页脚</p>\n")  # a new shell
    hub.build()
    page.evaluate("navigator.serviceWorker.getRegistration().then((registration) => { registration.update(); })")
    new_worker_active(page, hub)
    assert dropped
    context.set_offline(True)
    page.goto(hub.page("lessons", "从没打开的课"))  # the new build's offline page
    assert "离线" in page.locator("h1").inner_text()
    assert "新的页脚" in page.locator("footer").inner_text()


def test_the_old_worker_leaves_alone_the_shell_of_a_new_one_still_installing(context, tmp_path, server):
    # On a slow line a new worker's install takes a while; the old worker, stopped meanwhile (idle,
    # as phones do) and started again by the next page opened, tidies up: it must not take the
    # new worker's shell for an old build's and drop it, or the new worker is left without its
    # offline page.
    hub = Hub(tmp_path, server)
    hub.folder.lesson("甲", "title: 甲课\ndate: 2026-03-01", body="甲课的正文。\n")
    hub.folder.lesson("乙", "title: 乙课\ndate: 2026-03-02", body="乙课的正文。\n")
    hub.build()
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    versions: dict[str, dict] = {}
    cdp.on("ServiceWorker.workerVersionUpdated", lambda event: versions.update((v["versionId"], v) for v in event["versions"]))
    cdp.send("ServiceWorker.enable")
    page.goto(hub.page("lessons", "甲"))
    controlled(page)

    def version(status: str, running: str = "") -> str | None:
        page.wait_for_timeout(100)  # CDP's events arrive while Playwright waits
        return next((key for key, v in versions.items() if v["status"] == status and running in v["runningStatus"]), None)
    old = wait_for(lambda: version("activated"), what="the worker")
    server.released.clear()
    server.hold = lambda path: path == "/offline.html"  # the new worker's install waits on it
    hub.folder.write("templates/partials/kite/footer_extra.html", "<p>新的页脚</p>\n")  # a new shell
    hub.build()
    page.evaluate("navigator.serviceWorker.getRegistration().then((registration) => { registration.update(); })")
    wait_for(lambda: server.fetched("/offline.html"), what="the new worker to be installing")
    cdp.send("ServiceWorker.stopWorker", {"versionId": old})
    wait_for(lambda: version("activated", "stopped") == old, what="the old worker to stop")
    page.goto(hub.page("lessons", "乙"))  # the old worker starts again and tidies up
    wait_for(lambda: "乙课的正文" in kept_text(page, hub.page("lessons", "乙")), what="乙 to be kept")
    time.sleep(0.5)
    server.released.set()
    new_worker_active(page, hub)
    context.set_offline(True)
    page.goto(hub.page("lessons", "从没打开的课"))
    assert "离线" in page.locator("h1").inner_text()
    assert "新的页脚" in page.locator("footer").inner_text()


def test_a_build_published_while_a_series_is_being_saved(context, series_hub, server):
    page = context.new_page()
    page.goto(series_hub.series())
    controlled(page)
    server.released.clear()
    server.hold = lambda path: path.startswith("/lessons/断网第")
    page.locator("[data-kite-offline=save]").get_by_role("button", name="保存离线阅读").click()
    wait_for(lambda: server.fetched("/lessons/断网第"), what="saving to start")

    series_hub.folder.lesson(lesson_slug(6), f"title: 断网第6课\ndate: 2026-03-06\nseries: {GROUP}", body="新版第六课。\n")
    series_hub.folder.write("templates/partials/kite/footer_extra.html", "<p>新的页脚</p>\n")  # a new worker
    series_hub.build()
    # The new worker is installed while the old one is saving; it takes over once that is done
    # (Chromium lets the old worker finish its events first).
    page.evaluate("""() => navigator.serviceWorker.getRegistration().then((registration) => {
      window.changed = new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve));
      return registration.update();
    })""")
    page.wait_for_function("navigator.serviceWorker.getRegistration().then(r => !!r.waiting)")
    assert page.evaluate(STATUS).startswith("正在")
    server.released.set()
    page.wait_for_function(f"{STATUS}.startsWith('已保存') || {STATUS}.startsWith('没有')", timeout=30_000)
    page.evaluate("window.changed")
    status = page.evaluate(STATUS)
    assert re.fullmatch(r"已保存 6/6 篇，约 \d+ KB", status), status
    # Whichever worker saved them, the saved lessons end up as the new build has them.
    wait_for(lambda: "新版第六课" in kept_text(page, series_hub.page("lessons", lesson_slug(6))), timeout=30,
             what="the saved lesson to be the new build's")
    context.set_offline(True)
    page.goto(series_hub.page("lessons", lesson_slug(6)))
    assert "新版第六课" in page.locator("article").inner_text()
    assert "新的页脚" in page.locator("footer").inner_text()


# --- Forms, search and pages never opened, offline.

@pytest.fixture
def form_hub(tmp_path, server, start_endpoint) -> Hub:
    hub = Hub(tmp_path, server)
    hub.endpoint = start_endpoint(hub.folder.config, tmp_path / "attendance.sqlite3", extra_origins=(server.url.rstrip("/"),))
    hub.folder.write("site_config.yml", hub.folder.config.read_text(encoding="utf-8")
                     .replace("https://example.org/checkin", hub.endpoint))
    hub.folder.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true")
    hub.build()
    hub.db = tmp_path / "attendance.sqlite3"
    return hub


def stored(db: Path) -> int:
    from kite.desk.scope import Scope
    from kite.storage import Submissions, open_store

    everything = Scope("all", (), everything=True)
    store = open_store(db)
    try:
        submissions = Submissions(store)
        return len(submissions.reports(everything)) + len(submissions.suggestions(everything))
    finally:
        store.close()


def test_forms_sent_offline_with_javascript_off_are_never_reported_sent(browser, form_hub):
    # Without JavaScript nothing of Kite's runs: the browser's own "no internet" page is what the
    # member sees, which says plainly that nothing went; going back keeps what was typed.
    from playwright.sync_api import Error as BrowserError

    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    try:
        fills = {
            "report/": {"#report-name": "王建军", "#report-text": "这一季参加了三次党课，帮工友讨回了工资。"},
            "suggest/": {"#suggest-text": "希望宿舍装热水器。"},
        }
        for path, fields in fills.items():
            page.goto(form_hub.url + path)
            page.select_option("select[name=branch]", "鼓韵堂党支部")
            if path == "suggest/":
                page.check("input[name=category][value=民生实事]")
            for selector, value in fields.items():
                page.fill(selector, value)
            context.set_offline(True)
            page.click(".kite-submit button[type=submit]", no_wait_after=True)
            shown = wait_for(lambda: "ERR_INTERNET_DISCONNECTED" in page.content() and page.content(),
                             what="the browser's own offline page", ignore=(BrowserError,))
            assert "已收到" not in shown and "成功" not in shown
            assert stored(form_hub.db) == 0
            context.set_offline(False)
            page.go_back()
            assert page.input_value("textarea") == fields[next(key for key in fields if "text" in key)]
    finally:
        context.close()


def test_search_offline_says_it_needs_the_network_and_never_hangs(context, form_hub):
    page = context.new_page()
    page.goto(form_hub.url + "search/?q=" + quote("签到"))
    controlled(page)
    page.locator("#kite-search-results li").first.wait_for(timeout=30_000)
    wait_for(lambda: "搜索" in kept_text(page, form_hub.url + "search/"), what="the search page to be kept")
    context.set_offline(True)
    page.goto(form_hub.url + "search/?q=" + quote("党课"))  # the kept page; its index is not kept
    page.wait_for_function("document.querySelector('#kite-search-status, [role=status]') && "
                           "/网络/.test(document.body.innerText)", timeout=15_000)
    assert "搜索暂时不可用，请检查网络后重试" in page.locator("main").inner_text()


# --- Sub-paths: the worker, the manifest and nothing outside the hub's path.

@pytest.mark.parametrize("path", ["hub", "学习 园地"])
def test_under_a_sub_path_the_worker_and_the_manifest_stay_inside_it(context, tmp_path, server, path):
    hub = Hub(tmp_path, server, path)
    hub.folder.lesson("first", "title: 第一课\ndate: 2026-03-01\nseries: 系列", body="第一课的正文。\n")
    hub.build()
    # Another site on the same host, beside the hub and at the root: none of the worker's business.
    for other in (f"{path}2/page/index.html", "index.html"):
        (tmp_path / "served" / other).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "served" / other).write_text("<!doctype html><title>别的站</title><h1>别的站</h1>", encoding="utf-8")
    page = context.new_page()
    page.goto(hub.page("lessons", "first"))
    controlled(page)
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == hub.url
    manifest = page.evaluate("""async () => {
      const url = document.querySelector('link[rel=manifest]').href;
      const data = await (await fetch(url)).json();
      return [url, new URL(data.start_url, url).href, new URL(data.scope, url).href, new URL(data.id, url).href];
    }""")
    assert manifest == [hub.url + "manifest.webmanifest", hub.url, hub.url, hub.url]
    outside = [server.url + quote(path + "2") + "/page/", server.url]
    for url in outside:
        page.goto(url)
        assert page.evaluate("!navigator.serviceWorker.controller")
    page.goto(hub.page("lessons", "first"))
    wait_for(lambda: "第一课的正文" in kept_text(page, hub.page("lessons", "first")), what="the lesson to be kept")
    assert all(url.startswith(hub.url) for urls in page.evaluate("""async () => {
      const all = [];
      for (const name of await caches.keys()) all.push((await (await caches.open(name)).keys()).map(r => r.url));
      return all;
    }""") for url in urls)

    from playwright.sync_api import Error as BrowserError
    context.set_offline(True)
    page.goto(hub.page("lessons", "first"))
    assert "第一课的正文" in page.locator("article").inner_text()
    for url in outside:  # the browser's own error, not the hub's offline page
        with pytest.raises(BrowserError, match="ERR_INTERNET_DISCONNECTED"):
            page.goto(url)


# --- Without service workers.

def test_with_service_workers_blocked_the_series_page_reads_and_offers_no_saving(browser, series_hub):
    context = browser.new_context(service_workers="block", **PHONE)
    page = context.new_page()
    try:
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(series_hub.series())
        page.wait_for_load_state("networkidle")
        assert page.locator(".kite-card__title").count() == 6
        page.locator("[data-kite-offline=save]").wait_for(state="hidden")  # once the page knows
        page.locator(".kite-card__title").first.click()
        page.wait_for_load_state()
        assert "断网系列第" in page.locator("article").inner_text()
        assert image_shown(page)
        assert problems == []
    finally:
        context.close()


def test_a_worker_whose_install_failed_on_a_dropped_line_never_leaves_saving_hanging(context, series_hub, server):
    page = context.new_page()
    # The offline page is fetched by the worker's install only: held, then the line drops.
    server.released.clear()
    server.hold = server.drop = lambda path: path == "/offline.html"
    page.goto(series_hub.series())
    wait_for(lambda: server.fetched("/offline.html"), what="the worker to be installing")
    # Pressed while the worker is still installing: it says so once the install has failed.
    page.locator("[data-kite-offline=save]").get_by_role("button", name="保存离线阅读").click()
    server.released.set()
    page.wait_for_function(f"{STATUS}.startsWith('这个浏览器')", timeout=30_000)
    assert page.evaluate(STATUS) == "这个浏览器现在存不了离线阅读，在线照常可以看。刷新页面后可以再试一次。"
    page.reload()
    page.locator("[data-kite-offline=save]").wait_for(state="hidden")
    server.heal()
    page.reload()
    controlled(page)
    assert press_save(page).startswith("已保存 6/6 篇")


# --- A slow line.

def test_on_a_slow_line_the_lessons_text_shows_before_any_script_or_picture_arrives(context, series_hub, server):
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    # 400 kbit/s both ways and 400 ms round trips: a construction site's mobile data.
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 400,
                                                  "downloadThroughput": 50_000, "uploadThroughput": 50_000})
    # Scripts and pictures do not arrive at all until the text has been checked.
    server.released.clear()
    server.hold = lambda path: path.endswith((".js", ".png", ".svg"))
    page.goto(series_hub.page("lessons", lesson_slug(3)), wait_until="commit")
    page.wait_for_function("""() => {
      const text = [...document.querySelectorAll('article p')].find(p => p.textContent.includes('断网系列第 3 课'));
      return text && text.checkVisibility() && document.readyState !== 'complete' &&
        performance.getEntriesByName('first-contentful-paint').length > 0;
    }""", timeout=30_000)
    painted = page.evaluate("""() => [getComputedStyle(document.querySelector('article h1 ~ p, article p:last-of-type')).fontSize,
      document.querySelector('.md-header') && getComputedStyle(document.querySelector('.md-header')).backgroundColor]""")
    assert painted == ["16px", "rgb(183, 28, 28)"]  # styled: the stylesheets are all it waited for
    held = [path for path in server.fetched("/") if path.endswith((".js", ".png", ".svg"))]
    assert held  # they were asked for, and are still on their way
    server.released.set()
    page.wait_for_load_state("load")
    assert image_shown(page)


# --- Episodes: audio on another host, and saved audio played offline.

def test_an_episode_on_another_host_neither_breaks_saving_nor_its_offline_page(context, tmp_path, server):
    hub = Hub(tmp_path, server)
    hub.folder.episode("远程", "title: 远程的一期\ndate: 2026-03-01\nmedia: https://media.example.invalid/乡音.mp3",
                       body="远程一期的文字稿。\n")
    hub.folder.lesson("课", "title: 一课\ndate: 2026-03-01", body="一课的正文。\n")
    hub.build()
    page = context.new_page()
    other_hosts: list[str] = []
    page.on("request", lambda request: request.url.startswith(server.url) or other_hosts.append(request.url))
    page.goto(hub.page("episodes", "远程"))
    controlled(page)
    assert page.locator("[data-kite-offline=audio]").count() == 0  # nothing to save from another host
    page.goto(hub.url + "lessons/")
    assert press_save(page).startswith("已保存 1/1 篇")
    page.goto(hub.url + "episodes/")
    page.goto(hub.page("episodes", "远程"))
    wait_for(lambda: "远程一期的文字稿" in kept_text(page, hub.page("episodes", "远程")), what="the episode page to be kept")
    context.set_offline(True)
    page.goto(hub.page("episodes", "远程"))
    assert "远程一期的文字稿" in page.locator("article").inner_text()
    page.goto(hub.page("lessons", "课"))
    assert "一课的正文" in page.locator("article").inner_text()
    # The player may ask the other host (that is where the audio is); nothing else may.
    assert all(url.startswith("https://media.example.invalid/") for url in other_hosts), other_hosts


def test_saved_audio_seeks_and_plays_offline(context, tmp_path, server):
    hub = Hub(tmp_path, server)
    hub.folder.media("乡音 第一期.mp3", (REPO / "content/media/xiangyin-01.mp3").read_bytes())
    hub.folder.episode("乡音", "title: 乡音第一期\ndate: 2026-03-01\nmedia: 乡音 第一期.mp3\nduration: 02:19")
    hub.build()
    page = context.new_page()
    page.goto(hub.page("episodes", "乡音"))
    controlled(page)
    box = page.locator("[data-kite-offline=audio]")
    box.get_by_role("button", name=re.compile("^保存音频")).click()
    page.wait_for_function("document.querySelector('[data-kite-offline=audio] .kite-offline__status').textContent.startsWith('已保存')")
    context.set_offline(True)
    page.goto(hub.page("episodes", "乡音"))
    # Seek near the end and play: the element asks for ranges, the worker answers from the phone.
    played = page.evaluate("""() => new Promise((resolve, reject) => {
      const audio = document.querySelector('audio');
      audio.muted = true;
      audio.addEventListener('error', () => reject(new Error('audio error ' + (audio.error && audio.error.code))), { once: true });
      audio.addEventListener('loadedmetadata', () => { audio.currentTime = 130; }, { once: true });
      audio.addEventListener('seeked', () => {
        const from = audio.currentTime;
        audio.addEventListener('timeupdate', function moved() {
          if (audio.currentTime > from + 0.2) { audio.removeEventListener('timeupdate', moved); resolve([from, audio.currentTime]); }
        });
        audio.play().catch(reject);
      }, { once: true });
      audio.preload = 'auto';
      audio.load();
    })""")
    assert 129 < played[0] < 131 and played[1] > played[0]


def test_a_checkin_on_a_dead_line_that_the_phone_thinks_is_up_says_nothing_was_sent(context, tmp_path, server):
    # Signal bars but no data: navigator.onLine is true, yet nothing reaches the endpoint.  The
    # script's fetch fails; a plain post would fail in turn on the browser's own error page, which
    # never says whether the check-in was recorded.  The page says so itself and keeps what was typed.
    from helpers import free_port

    hub = Hub(tmp_path, server)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    hub.folder.write("site_config.yml", hub.folder.config.read_text(encoding="utf-8").replace("https://example.org/checkin", dead))
    hub.folder.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true")
    hub.build()
    page = context.new_page()
    page.goto(hub.page("lessons", "签到课"))
    controlled(page)
    page.wait_for_function("typeof window.kiteSendFailed === 'function'")  # assets/offline.js is in
    assert page.evaluate("navigator.onLine") is True
    page.fill("#checkin-name", "陈国华")
    page.select_option("#checkin-branch", "栖息栈党支部")
    page.click("form[data-kite-checkin] button[type=submit]")
    status = "document.querySelector('form[data-kite-checkin] .kite-form__status')"
    page.wait_for_function(f"{status}.textContent && !{status}.textContent.startsWith('正在')")
    assert page.evaluate(f"{status}.textContent") == "网络不通，签到没有发出。填好的内容还在，等信号好了再点一次“签到”。"
    assert page.url == hub.page("lessons", "签到课")
    assert page.input_value("#checkin-name") == "陈国华"


def test_the_desk_and_the_endpoints_pages_on_the_sites_host_are_never_kept(context, tmp_path, server):
    # Deployed as the guide suggests: the endpoint proxied under the site's own path.
    from playwright.sync_api import Error as BrowserError

    hub = Hub(tmp_path, server, "hub")
    hub.folder.write("site_config.yml", hub.folder.config.read_text(encoding="utf-8")
                     .replace("https://example.org/checkin", hub.url + "checkin"))
    hub.folder.lesson("课", "title: 一课\ndate: 2026-03-01", body="一课的正文。\n")
    hub.build()
    endpoint_pages = ["checkin/desk/", "checkin/desk/live/announcements/a/", "checkin/suggestion/K7Q2M9XD4R/"]
    for path in endpoint_pages:  # what nginx would proxy to the endpoint
        (hub.site / path).mkdir(parents=True)
        (hub.site / path / "index.html").write_text("<!doctype html><meta charset=utf-8><title>工作台</title><h1>工作台</h1>", encoding="utf-8")
    page = context.new_page()
    page.goto(hub.page("lessons", "课"))
    controlled(page)
    for path in endpoint_pages:
        page.goto(hub.url + path)
        assert page.locator("h1").inner_text() == "工作台"
    page.goto(hub.page("lessons", "课"))
    wait_for(lambda: "一课的正文" in kept_text(page, hub.page("lessons", "课")), what="the site's page to be kept")
    kept = page.evaluate("""async () => {
      const all = [];
      for (const name of await caches.keys()) all.push(...(await (await caches.open(name)).keys()).map(r => r.url));
      return all;
    }""")
    assert not [url for url in kept if url.startswith(hub.url + "checkin/")], kept
    context.set_offline(True)
    for path in endpoint_pages:
        with pytest.raises(BrowserError, match="ERR_INTERNET_DISCONNECTED"):
            page.goto(hub.url + path)  # not even the offline page: they are not the site's


def test_a_lesson_moved_out_of_a_saved_series_leaves_its_count(context, tmp_path, server):
    hub = Hub(tmp_path, server)
    for number in (1, 2, 3):
        hub.folder.lesson(f"课{number}", f"title: 第{number}课\ndate: 2026-03-0{number}\nseries: 老系列")
    hub.build()
    page = context.new_page()
    page.goto(hub.series("老系列"))
    controlled(page)
    assert press_save(page).startswith("已保存 3/3 篇")
    hub.folder.lesson("课3", "title: 第3课\ndate: 2026-03-03\nseries: 新系列")
    hub.folder.lesson("课4", "title: 第4课\ndate: 2026-03-04\nseries: 老系列")
    hub.build()
    page.goto(hub.series("老系列"))
    # Once the saved lessons are refreshed, the series page counts what is saved of it now.
    wait_for(lambda: sorted(entry["title"] for entry in saved_entries(page) if entry["group"] == "系列：老系列") == ["第1课", "第2课"],
             what="the moved lesson to leave the series", timeout=30)
    page.reload()
    page.wait_for_function(f"{STATUS}.startsWith('已保存')")
    assert page.evaluate(STATUS).startswith("已保存 2/3 篇")
    assert [entry["title"] for entry in saved_entries(page) if entry["kind"] == "lesson" and not entry["group"]] == ["第3课"]
    assert press_save(page).startswith("已保存 3/3 篇")


def test_a_series_renamed_keeps_its_saved_lessons_together_under_its_new_name(context, tmp_path, server):
    # Decided: renaming a series (every lesson's front matter) renames it; the member saved the
    # series, and finds it saved under its new name -- in the lists and on its page.  A lesson moved
    # out of a series that still exists leaves it (the test above).
    hub = Hub(tmp_path, server)
    for number in (1, 2):
        hub.folder.lesson(f"课{number}", f"title: 第{number}课\ndate: 2026-03-0{number}\nseries: 老名字")
    hub.build()
    page = context.new_page()
    page.goto(hub.series("老名字"))
    controlled(page)
    assert press_save(page).startswith("已保存 2/2 篇")
    for number in (1, 2):
        hub.folder.lesson(f"课{number}", f"title: 第{number}课\ndate: 2026-03-0{number}\nseries: 新名字")
    hub.build()
    page.goto(hub.series("新名字"))
    new_worker_active(page, hub)
    wait_for(lambda: sorted((entry["group"], entry["title"]) for entry in saved_entries(page) if entry["kind"] == "lesson") ==
             [("系列：新名字", "第1课"), ("系列：新名字", "第2课")], timeout=30, what="the saved lessons to follow the series' new name")
    page.reload()
    page.wait_for_function(f"{STATUS}.startsWith('已保存')")
    assert page.evaluate(STATUS).startswith("已保存 2/2 篇")
    page.goto(hub.url)
    heading = page.locator("[data-kite-offline=saved] h3").first
    heading.wait_for()
    assert heading.inner_text().startswith("系列：新名字（2 篇")


def test_the_second_visit_shows_the_new_build_even_while_the_first_visits_check_is_on_its_way(context, tmp_path, server):
    hub = Hub(tmp_path, server)
    # An announcement: a new version of it changes neither the shell nor the saved pages, so
    # one worker sees both visits.
    hub.folder.announcement("活动", "title: 主题党日\ndate: 2026-03-01\nstarts: 2026-03-10 19:30", body="第一版说明。\n")
    hub.build()
    page = context.new_page()
    url = hub.page("announcements", "活动")
    page.goto(url)
    controlled(page)
    wait_for(lambda: "第一版说明" in kept_text(page, url), what="the page to be kept")
    worker = page.evaluate("navigator.serviceWorker.controller.scriptURL + (navigator.serviceWorker.controller.state)")

    hub.folder.announcement("活动", "title: 主题党日\ndate: 2026-03-01\nstarts: 2026-03-10 19:30", body="第二版说明。\n")
    hub.build()
    server.released.clear()
    server.hold = lambda path: path.startswith("/announcements/活动/")
    page.goto(url)  # the first visit: the kept page, while its check waits on the line
    assert "第一版说明" in page.locator("article").inner_text()
    wait_for(lambda: server.fetched("/announcements/活动/"), what="the first visit's check to be asked")
    threading.Timer(0.5, server.released.set).start()  # the line answers while the member opens it again
    page.goto(url)
    assert "第二版说明" in page.locator("article").inner_text()
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL + (navigator.serviceWorker.controller.state)") == worker


def test_a_saved_episode_removed_by_a_new_build_leaves_the_phone_with_its_audio(context, tmp_path, server):
    hub = Hub(tmp_path, server)
    hub.folder.media("乡音.mp3", (REPO / "content/media/xiangyin-01.mp3").read_bytes())
    hub.folder.episode("乡音", "title: 乡音第一期\ndate: 2026-03-01\nmedia: 乡音.mp3")
    hub.folder.lesson("课", "title: 一课\ndate: 2026-03-01")
    hub.build()
    page = context.new_page()
    page.goto(hub.page("episodes", "乡音"))
    controlled(page)
    page.locator("[data-kite-offline=audio]").get_by_role("button", name=re.compile("^保存音频")).click()
    page.wait_for_function("document.querySelector('[data-kite-offline=audio] .kite-offline__status').textContent.startsWith('已保存')")
    assert sorted(entry["kind"] for entry in saved_entries(page) if entry["kind"] in ("audio", "episode")) == ["audio", "episode"]

    (hub.folder.root / "content/episodes/乡音.md").unlink()
    (hub.folder.root / "content/media/乡音.mp3").unlink()
    hub.build()
    page.goto(hub.page("lessons", "课"))
    wait_for(lambda: not [entry for entry in saved_entries(page) if entry["kind"] == "audio"], timeout=30,
             what="the removed episode's audio to leave the phone")
    media = page.evaluate("""async () => {
      const all = [];
      for (const name of await caches.keys()) all.push(...(await (await caches.open(name)).keys()).map(r => r.url));
      return all.filter(url => url.endsWith('.mp3'));
    }""")
    assert media == []


def saved_audio(page, url: str) -> list[int]:
    """The saved copy of an audio file as the worker keeps it: its size and its last 16 bytes."""
    return page.evaluate("""async (url) => {
      for (const name of await caches.keys()) {
        if (!name.endsWith(':media')) continue;
        const response = await (await caches.open(name)).match(url);
        if (response) { const bytes = new Uint8Array(await response.arrayBuffer()); return [bytes.length, ...bytes.slice(-16)]; }
      }
      return [];
    }""", url)


def test_saved_audio_replaced_under_the_same_name_is_replaced_on_the_phone(context, tmp_path, server):
    # Decided: an episode's file replaced under the same name is a corrected recording; a member
    # who saved it gets the new one, downloaded in the background after the new build, and keeps
    # the old one until the new one is whole (a dropped line leaves the old one playable).
    hub = Hub(tmp_path, server)
    old = (REPO / "content/media/xiangyin-01.mp3").read_bytes()
    new = old[:4096] + bytes(reversed(old[4096:]))  # as long, so the page shows the same size
    hub.folder.media("乡音.mp3", old)
    hub.folder.episode("乡音", "title: 乡音第一期\ndate: 2026-03-01\nmedia: 乡音.mp3")
    hub.build()
    audio = hub.url + "media/" + quote("乡音.mp3")
    page = context.new_page()
    page.goto(hub.page("episodes", "乡音"))
    controlled(page)
    page.locator("[data-kite-offline=audio]").get_by_role("button", name=re.compile("^保存音频")).click()
    page.wait_for_function("document.querySelector('[data-kite-offline=audio] .kite-offline__status').textContent.startsWith('已保存')")
    assert saved_audio(page, audio) == [len(old), *old[-16:]]

    hub.folder.media("乡音.mp3", new)
    episode_page = (hub.site / "episodes/乡音/index.html").read_text(encoding="utf-8")
    # The line drops the new file once: the old one stays, and the refresh comes back for it.
    dropped = drop_once(server, "/media/乡音.mp3")
    hub.build()
    assert (hub.site / "episodes/乡音/index.html").read_text(encoding="utf-8") == episode_page
    page.goto(hub.page("episodes", "乡音"))
    new_worker_active(page, hub)
    wait_for(lambda: dropped, what="the new worker to ask for the new file")
    assert saved_audio(page, audio) == [len(old), *old[-16:]]
    page.goto(hub.page("episodes", "乡音"))  # the next page opened resumes the refresh
    wait_for(lambda: saved_audio(page, audio) == [len(new), *new[-16:]], timeout=30, what="the saved audio to be the new file")
    assert [entry["kind"] for entry in saved_entries(page) if entry.get("audio") == audio] == ["audio"]


def test_looking_up_a_suggestion_offline_says_nothing_was_sent(context, form_hub):
    page = context.new_page()
    page.goto(form_hub.url + "suggest/")
    page.wait_for_function("typeof window.kiteNotSent === 'function'")
    page.fill("#lookup-ref", "K7Q2-M9XD-4R")
    context.set_offline(True)
    page.click(".kite-lookup button[type=submit]")
    page.wait_for_function("document.querySelector('.kite-lookup .kite-form__status').textContent.includes('没有发出')")
    assert page.locator(".kite-lookup .kite-form__status").inner_text() == \
        "没有网络，查询没有发出。填好的内容还在，连上网络后再点一次“查询”。"
    assert page.url == form_hub.url + "suggest/" and page.input_value("#lookup-ref") == "K7Q2-M9XD-4R"


def test_a_picture_every_lesson_of_a_series_shows_is_counted_once_in_the_space_shown(context, tmp_path, server):
    hub = Hub(tmp_path, server)
    hub.folder.media("横幅.png", picture(200, 200, 7))  # about 120 KB, on every lesson
    for number in range(1, 5):
        hub.folder.lesson(f"课{number}", f"title: 第{number}课\ndate: 2026-03-0{number}\nseries: 同图系列",
                          body=f"第 {number} 课。\n\n![横幅](../content/media/横幅.png)\n")
    hub.build()
    page = context.new_page()
    page.goto(hub.series("同图系列"))
    controlled(page)
    status = press_save(page)
    kept = sum((hub.site / "lessons" / f"课{n}" / "index.html").stat().st_size for n in range(1, 5)) + \
        (hub.site / "media/横幅.png").stat().st_size
    assert abs(kilobytes(status) * 1024 - kept) < 0.1 * kept, (status, kept)
    page.reload()  # the line shown when the page opens, and the home page's list, say the same
    page.wait_for_function(f"{STATUS}.startsWith('已保存')")
    assert page.evaluate(STATUS) == status
    page.goto(hub.url)
    heading = page.locator("[data-kite-offline=saved] h3").first
    heading.wait_for()
    assert heading.inner_text() == f"系列：同图系列（4 篇，约 {kilobytes(status)} KB）"


def test_a_full_phone_still_refreshes_the_pages_that_fit_after_a_new_build(context, tmp_path, server):
    hub = Hub(tmp_path, server)
    hub.folder.media("小图.png", picture(20, 20, 1))
    hub.folder.lesson("甲", "title: 甲课\ndate: 2026-03-01", body="甲课。\n\n![图](../content/media/小图.png)\n")
    hub.folder.lesson("乙", "title: 乙课\ndate: 2026-03-02", body="乙课第一版。\n")
    hub.build()
    page = context.new_page()
    page.goto(hub.page("lessons", "甲"))
    controlled(page)
    wait_for(lambda: "甲课" in kept_text(page, hub.page("lessons", "甲")), what="甲 to be kept")
    page.goto(hub.page("lessons", "乙"))
    wait_for(lambda: "乙课第一版" in kept_text(page, hub.page("lessons", "乙")), what="乙 to be kept")
    used = page.evaluate("navigator.storage.estimate().then(e => e.usage)")
    context.new_cdp_session(page).send("Storage.overrideQuotaForOrigin",
                                       {"origin": server.url.rstrip("/"), "quotaSize": used + 450_000})
    # The new build: 甲 shows a picture that will not fit, 乙 a new text, and a new shell for both.
    hub.folder.media("大图.png", picture(500, 500, 2))
    hub.folder.lesson("甲", "title: 甲课\ndate: 2026-03-01", body="甲课。\n\n![图](../content/media/大图.png)\n")
    hub.folder.lesson("乙", "title: 乙课\ndate: 2026-03-02", body="乙课第二版。\n")
    hub.folder.write("templates/partials/kite/footer_extra.html", "<p>新的页脚</p>\n")
    hub.build()
    page.goto(hub.url)
    wait_for(lambda: "乙课第二版" in kept_text(page, hub.page("lessons", "乙")), timeout=30,
             what="乙 to be refreshed though 甲's picture does not fit")
    assert quote("小图") in kept_text(page, hub.page("lessons", "甲"))  # kept as it was
