"""Reading and searching at phone size in a real headless Chromium."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest

from helpers import PHONE

PAGES = [
    "",
    "lessons/",
    "lessons/" + quote("工资支付心里有数") + "/",
    "lessons/" + quote("技能证书怎么考") + "/",
    "episodes/",
    "announcements/",
    "search/",
]


@pytest.fixture(scope="module")
def site_url(sample_site, serve_dir):
    return serve_dir(sample_site)


def visit(page, url: str) -> list[str]:
    """Open ``url``; return every host other than the site's that the page asked for."""
    own = urlsplit(url).netloc
    foreign: list[str] = []
    page.on("request", lambda request: urlsplit(request.url).netloc not in (own, "") and foreign.append(request.url))
    response = page.goto(url)
    assert response.ok, url
    page.wait_for_load_state("networkidle")
    return foreign


@pytest.mark.parametrize("path", PAGES)
def test_phone_reading_without_sideways_scrolling(phone, site_url, path):
    foreign = visit(phone, site_url + path)
    assert foreign == []
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{path} is {width}px wide at 360px"
    sizes = phone.evaluate("""() => [...document.querySelectorAll('.md-typeset p, .md-typeset li, .md-typeset td')]
        .filter(e => e.offsetParent !== null && e.textContent.trim())
        .map(e => parseFloat(getComputedStyle(e).fontSize))""")
    assert sizes, "no body text found"
    assert min(sizes) >= 16, f"{path}: body text at {min(sizes)}px"


def test_wide_table_and_long_url_scroll_or_wrap_inside_the_column(phone, site_url):
    visit(phone, site_url + "lessons/" + quote("工资支付心里有数") + "/")
    table = phone.locator("article table").first
    box = table.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    visit(phone, site_url + "lessons/" + quote("技能证书怎么考") + "/")
    link = phone.locator("article a[href*='very/long/path']").first
    box = link.bounding_box()
    assert box["x"] + box["width"] <= 360


def test_reading_works_with_javascript_off(browser, site_url):
    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    visit(page, site_url)
    page.get_by_role("navigation", name="栏目").get_by_role("link", name="党课开讲啦").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "党课开讲啦"
    page.get_by_role("link", name="风筝精神").first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "系列：风筝精神"
    page.locator(".kite-card__title").first.click()
    page.wait_for_load_state()
    assert page.locator("article h1").is_visible()
    assert len(page.locator("article").inner_text()) > 500
    context.close()


def test_search_finds_a_word_inside_running_text(phone, site_url):
    # 引线 only occurs inside 抓牢引线放风筝; finding it needs Chinese word segmentation.
    foreign = visit(phone, site_url + "search/?q=" + quote("引线"))
    results = phone.locator("#kite-search-results li a")
    results.first.wait_for()
    titles = results.all_inner_texts()
    assert any("风筝" in title for title in titles), titles
    assert foreign == []
    excerpt = phone.locator("#kite-search-results mark").first.inner_text()
    assert "引线" in excerpt


def test_search_box_updates_results_as_the_member_types(phone, site_url):
    visit(phone, site_url + "search/")
    phone.fill("#kite-q", "塔吊")
    phone.locator("#kite-search-results li a").first.wait_for()
    titles = phone.locator("#kite-search-results li a").all_inner_texts()
    assert any("高温" in t or "塔吊" in t for t in titles), titles
    phone.fill("#kite-q", "zqxjvbkw")
    phone.wait_for_function("document.getElementById('kite-search-status').textContent.includes('没有找到')")
    assert phone.locator("#kite-search-results li").count() == 0


def test_episode_player_loads_nothing_until_pressed(phone, site_url):
    media_requests: list[str] = []
    phone.on("request", lambda request: "/media/" in request.url and media_requests.append(request.url))
    visit(phone, site_url + "episodes/xiangyin-01-huangmeitian/")
    player = phone.locator("audio")
    assert player.get_attribute("preload") == "none"
    assert player.bounding_box()["width"] > 300
    phone.wait_for_timeout(500)
    assert media_requests == []
    assert "下载音频（" in phone.locator(".kite-player figcaption").inner_text()
    phone.evaluate("document.querySelector('audio').play().catch(() => {})")
    phone.wait_for_function("document.querySelector('audio').readyState > 0 || document.querySelector('audio').error")
    assert media_requests and media_requests[0].endswith("/media/xiangyin-01.mp3")
