"""Offline reading in a real Chromium: the service worker, saving, the offline page and forms.

Service workers need a secure context; http://127.0.0.1 is one.  ``context.set_offline``
cuts the page and the worker off the network (and sets ``navigator.onLine`` to false).
"""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from helpers import PHONE, REPO, kept_text
from kite.build import build

TOKEN = "offline-test-token"
SERIES = 21  # one more than a list page holds: saving must read the series' second page


class OfflineSite:
    """A hub served on loopback at its own site_url, rebuilt in place when a test edits it."""

    def __init__(self, hub, site: Path, url: str, endpoint: str):
        self.hub, self.site, self.url, self.endpoint = hub, site, url, endpoint

    def build(self) -> None:
        # The forms post to the test's endpoint (until a test moves it onto the site's host).
        config = self.hub.config
        config.write_text(config.read_text(encoding="utf-8").replace("https://example.org/checkin", self.endpoint),
                          encoding="utf-8")
        build(config, self.site)

    def lesson(self, number: int) -> str:
        return self.url + "lessons/" + quote(f"第{number}课") + "/"

    def write_lesson(self, number: int, text: str = "") -> None:
        body = text or f"这是风筝精神系列第 {number} 课的正文，讲在外务工的党员怎样和家乡党组织保持联系。\n"
        if number == 1:
            body += "\n![工地上的党员活动室](../content/media/huodongshi.png)\n"
        self.hub.lesson(f"第{number}课", f"title: 风筝精神第{number}课\ndate: 2026-01-{number:02d}\nseries: 风筝精神", body=body)

    @property
    def series(self) -> str:
        return self.url + "lessons/series/" + quote("风筝精神") + "/"


@pytest.fixture
def offline_site(hub, tmp_path, serve_dir, start_endpoint, monkeypatch) -> OfflineSite:
    site = tmp_path / "site"
    url = serve_dir(site)
    hub.write("site_config.yml", hub.config.read_text(encoding="utf-8").replace("https://example.org/hub/", url))
    hub.media("huodongshi.png", (REPO / "content/media/cover.png").read_bytes())
    hub.media("xiangyin.mp3", (REPO / "content/media/xiangyin-01.mp3").read_bytes())
    hub.episode("xiangyin", "title: 乡音第一期\ndate: 2026-02-01\nmedia: xiangyin.mp3\nduration: 02:19")
    hub.lesson("签到课", "title: 可以签到的党课\ndate: 2026-02-02\nattendance: true")
    hub.announcement("activity", "title: 主题党日\ndate: 2026-02-03\nstarts: 2026-02-10 19:30")
    offline = OfflineSite(hub, site, url, "")
    for number in range(1, SERIES + 1):
        offline.write_lesson(number)
    # The endpoint reads the content it accepts check-ins for when it starts.
    monkeypatch.setenv("ATTENDANCE_EXPORT_TOKEN", TOKEN)
    offline.endpoint = start_endpoint(hub.config, tmp_path / "attendance.sqlite3", extra_origins=(url.rstrip("/"),))
    offline.build()
    return offline


def wait_for(condition, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def controlled(page) -> None:
    """Wait until the worker controls the page (it claims the page that registered it)."""
    page.wait_for_function("navigator.serviceWorker && !!navigator.serviceWorker.controller", timeout=20_000)


CACHED = """async () => {
  const found = {};
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    found[name] = [];
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      found[name].push([request.url, response.headers.get("X-Kite-Saved") || "",
                        response.headers.get("Content-Type") || "" ]);
    }
  }
  return found;
}"""


def cached(page) -> dict[str, list]:
    return page.evaluate(CACHED)


def image_shown(page, selector: str = "article img") -> bool:
    image = page.locator(selector).first
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete", arg=image.element_handle())
    return image.evaluate("img => img.naturalWidth > 0")


def styled(page) -> bool:
    """Material's and Kite's stylesheets both applied: the header is in the theme's red."""
    return page.locator(".md-header").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(183, 28, 28)"


def save_series(page, site: OfflineSite) -> str:
    page.goto(site.series)
    controlled(page)
    box = page.locator("[data-kite-offline=save]")
    # Every line the status shows on the way, to see the progress.
    page.evaluate("""() => {
      const status = document.querySelector('[data-kite-offline=save] .kite-offline__status');
      window.shownStatus = [];
      new MutationObserver(() => window.shownStatus.push(status.textContent)).observe(status, { childList: true });
    }""")
    box.get_by_role("button", name="保存离线阅读").click()
    status = box.locator(".kite-offline__status")
    page.wait_for_function(f"document.querySelector('[data-kite-offline=save] .kite-offline__status').textContent.startsWith('已保存 {SERIES}/')",
                           timeout=60_000)
    progress = [text for text in page.evaluate("window.shownStatus") if text.startswith("正在保存")]
    assert progress and all(re.fullmatch(rf"正在保存 \d+/{SERIES} 篇，约 \d+ KB……", text) for text in progress), progress
    return status.inner_text()


def test_a_visited_page_reloads_offline_with_its_images(context, offline_site):
    page = context.new_page()
    page.goto(offline_site.lesson(1))  # the first page: the worker keeps it once it is installed
    controlled(page)
    wait_for(lambda: "风筝精神第1课" in kept_text(page, offline_site.lesson(1)), "the first page to be kept")
    page.goto(offline_site.lesson(2))
    wait_for(lambda: "风筝精神第2课" in kept_text(page, offline_site.lesson(2)), "a visited page to be kept")
    page.goto(offline_site.lesson(1))
    assert image_shown(page)  # online, from the network or the worker's cache

    context.set_offline(True)
    for number in (1, 2):
        response = page.goto(offline_site.lesson(number))
        assert response.ok
        assert page.locator("article h1").inner_text() == f"风筝精神第{number}课"
        assert "保持联系" in page.locator("article").inner_text()
    page.goto(offline_site.lesson(1))
    assert image_shown(page)
    # Styled as online: the stylesheets came from the precached shell.
    assert styled(page)


def test_an_unsaved_page_offline_shows_the_offline_page_with_what_is_kept(context, offline_site):
    page = context.new_page()
    save_series(page, offline_site)
    page.goto(offline_site.url + "episodes/")
    wait_for(lambda: "乡音e课堂" in kept_text(page, offline_site.url + "episodes/"), "the episode list to be kept")

    context.set_offline(True)
    never_opened = offline_site.url + "announcements/activity/"
    response = page.goto(never_opened)
    assert response.ok and page.url == never_opened  # shown in place: a reload later opens the real page
    assert "离线" in page.locator("h1").inner_text()
    assert page.title().startswith("离线")
    saved = page.locator("[data-kite-offline=saved]")
    saved.locator("h3").first.wait_for()
    assert saved.is_visible()
    assert f"系列：风筝精神（{SERIES} 篇" in saved.inner_text()
    assert saved.get_by_role("link", name="风筝精神第21课").count() == 1
    assert "最近看过的页面" in saved.inner_text() and saved.get_by_role("link", name="乡音e课堂").count() == 1
    # Its links go to the site, whatever address it is shown at.
    saved.get_by_role("link", name="风筝精神第7课").click()
    page.wait_for_load_state()
    assert page.locator("article h1").inner_text() == "风筝精神第7课"
    assert styled(page)


def test_a_saved_series_opens_lesson_by_lesson_offline(context, offline_site):
    page = context.new_page()
    status = save_series(page, offline_site)
    assert re.fullmatch(rf"已保存 {SERIES}/{SERIES} 篇，约 \d+ KB", status), status
    page.goto(offline_site.url)
    home_list = page.locator("[data-kite-offline=saved]")
    home_list.locator("h3").first.wait_for()
    assert f"系列：风筝精神（{SERIES} 篇" in home_list.inner_text()

    context.set_offline(True)
    page.goto(offline_site.lesson(SERIES))  # saved, never opened
    for number in range(SERIES, SERIES - 4, -1):
        assert page.locator("article h1").inner_text() == f"风筝精神第{number}课"
        page.get_by_role("link", name=re.compile("^上一课")).click()
        page.wait_for_load_state()
    page.goto(offline_site.lesson(1))
    assert page.locator("article h1").inner_text() == "风筝精神第1课"
    assert image_shown(page)

    # The series page says what is saved; removing it leaves nothing of the series.
    page.goto(offline_site.series)
    box = page.locator("[data-kite-offline=save]")
    page.wait_for_function("document.querySelector('[data-kite-offline=save] .kite-offline__status').textContent.includes('已保存')")
    assert box.locator(".kite-offline__status").inner_text().startswith(f"已保存 {SERIES}/{SERIES} 篇")
    box.get_by_role("button", name="删除已保存的").click()
    page.wait_for_function("document.querySelector('[data-kite-offline=save] .kite-offline__status').textContent.includes('删除')")
    page.goto(offline_site.lesson(SERIES - 5))
    assert "离线" in page.locator("h1").inner_text()
    assert not [url for url, saved, _ in cached(page)[next(n for n in cached(page) if n.endswith(":pages"))] if saved]
    media = next(n for n in cached(page) if n.endswith(":media"))
    assert cached(page)[media] == []  # the lesson's picture went with it


def test_saving_offline_says_so(context, offline_site):
    page = context.new_page()
    page.goto(offline_site.series)
    controlled(page)
    context.set_offline(True)
    page.get_by_role("button", name="保存离线阅读").click()
    assert "没有网络" in page.locator("[data-kite-offline=save] .kite-offline__status").inner_text()


def test_a_rebuilt_lesson_reaches_the_reader_and_old_caches_go(context, offline_site):
    page = context.new_page()
    save_series(page, offline_site)
    page.goto(offline_site.lesson(2))
    wait_for(lambda: "风筝精神第2课" in kept_text(page, offline_site.lesson(2)), "lesson 2 to be kept")
    shells = [name for name in cached(page) if ":shell:" in name]
    assert len(shells) == 1

    offline_site.write_lesson(2, "第二版正文：编辑改过的内容。\n")
    offline_site.write_lesson(3, "第三课的新版本，没有打开过也要更新。\n")
    offline_site.hub.write("templates/partials/kite/footer_extra.html", "<p>新的页脚</p>\n")  # a new shell
    offline_site.build()

    page.goto(offline_site.lesson(2))  # the first visit may show the kept page once
    wait_for(lambda: "第二版正文" in kept_text(page, offline_site.lesson(2)), "the worker to fetch the new lesson")
    page.goto(offline_site.lesson(2))  # the second visit shows the new one
    assert "第二版正文" in page.locator("article").inner_text()

    # The new worker refreshes saved lessons in the background and drops the old shell.
    wait_for(lambda: "第三课的新版本" in kept_text(page, offline_site.lesson(3)), "the saved lesson to be refreshed", 40)
    wait_for(lambda: [name for name in cached(page) if ":shell:" in name] not in ([], shells), "the new shell")
    wait_for(lambda: len([name for name in cached(page) if ":shell:" in name]) == 1, "the old shell to be dropped", 40)

    context.set_offline(True)
    page.goto(offline_site.lesson(3))
    assert "第三课的新版本" in page.locator("article").inner_text()
    assert "新的页脚" in page.locator("footer").inner_text()
    assert styled(page)


def exported_names(endpoint: str) -> list[str]:
    response = httpx.get(endpoint + "/export.csv", headers={"Authorization": f"Bearer {TOKEN}"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    return [row[5] for row in rows[1:]]


def check_in_offline(context, page, offline_site) -> None:
    page.goto(offline_site.url + "lessons/" + quote("签到课") + "/")
    page.wait_for_function("typeof window.kiteNotSent === 'function'")  # assets/offline.js is in
    page.fill("#checkin-name", "陈国华")
    page.select_option("#checkin-branch", "栖息栈党支部")
    context.set_offline(True)
    page.click("form[data-kite-checkin] button[type=submit]")
    status = page.locator(".kite-form__status")
    page.wait_for_function("document.querySelector('.kite-form__status').textContent.includes('没有发出')")
    assert status.inner_text() == "没有网络，签到没有发出。填好的内容还在，连上网络后再点一次“签到”。"
    assert "签到成功" not in status.inner_text()
    assert page.input_value("#checkin-name") == "陈国华"
    assert page.input_value("#checkin-branch") == "栖息栈党支部"
    assert exported_names(offline_site.endpoint) == []

    context.set_offline(False)
    page.click("form[data-kite-checkin] button[type=submit]")  # what was typed is sent as it stands
    page.wait_for_function("document.querySelector('.kite-form__status').textContent.includes('签到成功')")
    assert exported_names(offline_site.endpoint) == ["陈国华"]


def test_a_checkin_offline_says_nothing_was_sent_and_keeps_the_name(context, offline_site):
    page = context.new_page()
    check_in_offline(context, page, offline_site)


def test_audio_is_kept_only_when_the_member_saves_it(context, offline_site):
    page = context.new_page()
    episode = offline_site.url + "episodes/xiangyin/"
    audio_url = offline_site.url + "media/xiangyin.mp3"
    size = (offline_site.site / "media/xiangyin.mp3").stat().st_size
    page.goto(episode)
    controlled(page)
    page.reload()
    # Playing streams from the network and keeps nothing.
    page.evaluate("""() => new Promise((resolve) => {
      const audio = document.querySelector('audio');
      audio.preload = 'metadata';
      audio.addEventListener('loadedmetadata', resolve, { once: true });
      audio.load();
    })""")
    assert not [url for urls in cached(page).values() for url, *_ in urls if url.endswith(".mp3")]

    box = page.locator("[data-kite-offline=audio]")
    box.get_by_role("button", name=re.compile("^保存音频")).click()
    page.wait_for_function("document.querySelector('[data-kite-offline=audio] .kite-offline__status').textContent.startsWith('已保存')")
    assert re.fullmatch(r"已保存在手机上（约 \d+ KB），没有网络也能播放。", box.locator(".kite-offline__status").inner_text())

    context.set_offline(True)
    page.goto(episode)
    ranges = page.evaluate("""async (url) => {
      const answers = [];
      for (const range of ['bytes=0-99', 'bytes=-100', 'bytes=1000-', 'bytes=999999999-']) {
        const response = await fetch(url, { headers: { Range: range } });
        answers.push([response.status, response.headers.get('Content-Range'), (await response.arrayBuffer()).byteLength]);
      }
      return answers;
    }""", audio_url)
    assert ranges == [
        [206, f"bytes 0-99/{size}", 100],
        [206, f"bytes {size - 100}-{size - 1}/{size}", 100],
        [206, f"bytes 1000-{size - 1}/{size}", size - 1000],
        [416, f"bytes */{size}", 0],
    ]
    duration = page.evaluate("""() => new Promise((resolve, reject) => {
      const audio = document.querySelector('audio');
      audio.preload = 'metadata';
      audio.addEventListener('loadedmetadata', () => resolve(audio.duration), { once: true });
      audio.addEventListener('error', () => reject(new Error('audio error')), { once: true });
      audio.load();
    })""")
    assert 130 < duration < 150  # 02:19, played from the phone

    page.goto(offline_site.url + "announcements/activity/")  # the offline page lists it
    page.locator("[data-kite-offline=saved] h3").first.wait_for()
    saved = page.locator("[data-kite-offline=saved]")
    assert "已保存的音频" in saved.inner_text() and saved.get_by_role("link", name="乡音第一期").count() == 1
    saved.get_by_role("button", name="删除").click()
    page.wait_for_function("!document.querySelector('[data-kite-offline=saved]').textContent.includes('已保存的音频')")
    gone = page.evaluate("(url) => fetch(url).then(() => 'fetched', () => 'failed')", audio_url)
    assert gone == "failed"


def test_feeds_search_index_and_endpoint_answers_are_never_kept(context, offline_site):
    page = context.new_page()
    page.goto(offline_site.url)
    controlled(page)
    for feed in ("lessons/rss.xml", "episodes/podcast.xml", "announcements/calendar.ics"):
        page.evaluate("(url) => fetch(url).then(r => r.text())", offline_site.url + feed)
    page.goto(offline_site.url + "lessons/rss.xml")
    page.goto(offline_site.url + "search/?q=" + quote("风筝"))
    page.locator("#kite-search-results li").first.wait_for(timeout=30_000)
    page.goto(offline_site.url + "lessons/" + quote("签到课") + "/")
    page.fill("#checkin-name", "李秀英")
    page.select_option("#checkin-branch", "鼓韵堂党支部")
    page.click("form[data-kite-checkin] button[type=submit]")
    page.wait_for_function("document.querySelector('.kite-form__status').textContent.includes('签到成功')")
    kept = [url for urls in cached(page).values() for url, *_ in urls]
    assert kept  # the pages themselves are kept
    assert not [url for url in kept if url.endswith((".xml", ".ics")) or "/pagefind/" in url or offline_site.endpoint in url]
    assert not [url for url in kept if "?" in url]  # search/?q=… is kept as search/


def test_without_service_workers_the_site_reads_as_before(browser, offline_site):
    # Blocked registration (a policy, Playwright's switch) and no service worker at all (old WeChat).
    for options, script in (({"service_workers": "block"}, None), ({}, "delete Navigator.prototype.serviceWorker")):
        context = browser.new_context(**options, **PHONE)
        if script:
            context.add_init_script(script)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("requestfailed", lambda request: problems.append(request.url))
        for url in (offline_site.url, offline_site.series, offline_site.lesson(1), offline_site.url + "episodes/xiangyin/"):
            assert page.goto(url).ok
            page.wait_for_load_state("networkidle")
            assert page.locator("h1").first.is_visible()
        assert len(page.locator("article").inner_text()) > 20
        assert problems == []
        if script:
            assert page.evaluate("'serviceWorker' in navigator") is False
            # Nothing offers what cannot be done here.
            assert not page.locator("[data-kite-offline=audio]").is_visible()
            page.goto(offline_site.series)
            assert not page.locator("[data-kite-offline=save]").is_visible()
            # The form still says so plainly when the network is gone.
            check_in_offline(context, page, offline_site)
        else:
            assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
        context.close()


def test_the_endpoint_on_the_sites_own_host_is_left_alone(context, offline_site):
    # Deployed as the guide suggests, the endpoint's pages live under the site's host: never kept.
    from playwright.sync_api import Error as BrowserError

    config = offline_site.hub.config
    config.write_text(config.read_text(encoding="utf-8").replace(offline_site.endpoint, offline_site.url + "checkin"),
                      encoding="utf-8")
    offline_site.build()
    done = offline_site.site / "checkin/checkin/done/index.html"  # what nginx would proxy to the endpoint
    done.parent.mkdir(parents=True)
    done.write_text("<!doctype html><html lang=zh><meta charset=utf-8><title>签到成功</title><h1>签到成功</h1></html>", encoding="utf-8")
    page = context.new_page()
    page.goto(offline_site.url)
    controlled(page)
    page.goto(offline_site.url + "checkin/checkin/done/?name=" + quote("陈国华"))
    assert page.locator("h1").inner_text() == "签到成功"
    page.goto(offline_site.lesson(1))
    wait_for(lambda: "风筝精神第1课" in kept_text(page, offline_site.lesson(1)), "a page of the site to be kept")
    assert kept_text(page, offline_site.url + "checkin/checkin/done/") == ""
    context.set_offline(True)
    with pytest.raises(BrowserError, match="ERR_INTERNET_DISCONNECTED"):
        page.goto(offline_site.url + "checkin/checkin/done/")  # not even the offline page: not the site's


def test_an_endpoint_at_the_root_of_the_sites_host_leaves_the_site_to_the_worker(context, offline_site):
    # nginx may route /checkin, /report/done, /desk... of the site's own host to the endpoint: the worker
    # then keeps the site's pages as ever, and none of the endpoint's.
    assert urlsplit(offline_site.url).path == "/"
    config = offline_site.hub.config
    config.write_text(config.read_text(encoding="utf-8").replace(offline_site.endpoint, offline_site.url.rstrip("/")),
                      encoding="utf-8")
    offline_site.build()
    answers = ("checkin/done/", "report/done/", "desk/", "suggestion/K7Q2M9XD4R/")  # what nginx would proxy
    for path in answers:
        (offline_site.site / path).mkdir(parents=True)
        (offline_site.site / path / "index.html").write_text(
            "<!doctype html><html lang=zh><meta charset=utf-8><title>签到服务</title><h1>工作台 陈国华</h1></html>",
            encoding="utf-8")
    page = context.new_page()
    page.goto(offline_site.url)
    controlled(page)
    for path in answers:
        assert page.goto(offline_site.url + path).ok
    for path in ("report/", "suggest/"):  # the site's own forms, beside the endpoint's answers
        page.goto(offline_site.url + path)
    page.goto(offline_site.lesson(1))
    wait_for(lambda: "风筝精神第1课" in kept_text(page, offline_site.lesson(1)), "a page of the site to be kept")
    wait_for(lambda: kept_text(page, offline_site.url + "report/"), "the site's report form to be kept")
    assert kept_text(page, offline_site.url + "suggest/")
    for path in answers:
        assert kept_text(page, offline_site.url + path) == "", path
