"""Search results at phone size: what each hit is, and where its snippet is cut."""

from __future__ import annotations

import json
import shutil
from urllib.parse import quote

import pytest


@pytest.fixture(scope="module")
def site_url(sample_site, serve_dir):
    return serve_dir(sample_site)


def results(page, site_url: str, query: str) -> list[dict]:
    assert page.goto(site_url + "search/?q=" + quote(query)).ok
    page.locator("#kite-search-results li").first.wait_for()
    return page.locator("#kite-search-results li").evaluate_all("""items => items.map(li => ({
        title: li.querySelector('.kite-card__title').textContent,
        kind: li.querySelector('.kite-kind') ? li.querySelector('.kite-kind').textContent : '',
        about: li.querySelector('.kite-card__meta') ? li.querySelector('.kite-card__meta').textContent : '',
        snippet: li.querySelector('.kite-card__summary').textContent,
    }))""")


def test_each_hit_says_what_it_is_and_when(phone, site_url):
    found = {r["title"]: r for r in results(phone, site_url, "工资")}
    assert found["工钱怎么发、什么时候发，心里要有本账"]["kind"] == "党课"
    assert found["腊月里算工钱，不慌不乱"]["kind"] == "乡音e课堂"
    assert found["9月主题党日：学条例、护工钱"]["kind"] == "活动"
    assert found["工钱怎么发、什么时候发，心里要有本账"]["about"] == "党课 · 2025年6月10日"
    assert all(r["kind"] in ("党课", "乡音e课堂", "活动") for r in found.values())


def test_a_snippet_cut_inside_a_sentence_shows_an_ellipsis(phone, site_url):
    found = {r["title"]: r["snippet"] for r in results(phone, site_url, "工资")}
    # Pagefind's window starts after a comma here: the comma goes, an ellipsis says text came before.
    helpers = found["搭把手：工地上的党员互助小组"]
    assert helpers.startswith("…小组通过联合党委")
    assert helpers.endswith("陪着走正规渠道反映。")  # ends with its sentence: no ellipsis
    wages = found["工钱怎么发、什么时候发，心里要有本账"]
    assert wages.startswith("…通过银行直接把工资") and wages.endswith("一张工资支付时间…")
    for snippet in found.values():
        assert not snippet.startswith(("，", "、", "；", "：", "…，", "…、"))


def test_an_index_in_parts_finds_what_one_index_finds(phone, site_url, sample_site, serve_dir, tmp_path):
    # A big hub is indexed in parts (Pagefind holds every page in memory); the search page
    # merges them, so a reader sees the same hits, in parts of two pages here.
    from kite.search import SHARDS, index_search, marked_pages, part_shares

    parted = tmp_path / "site"
    shutil.copytree(sample_site, parted)
    index_search(parted, shard_pages=2)
    shards = json.loads((parted / "pagefind" / SHARDS).read_text(encoding="utf-8"))
    assert len(shards) == len(part_shares(marked_pages(parted), 2)) - 1 >= 3
    assert not list((parted / "pagefind" / "merge" / "1").glob("wasm.*"))  # one WebAssembly module for all
    for query in ("工资", "风筝"):
        whole = sorted(r["title"] for r in results(phone, site_url, query))
        assert sorted(r["title"] for r in results(phone, serve_dir(parted), query)) == whole


def test_hits_come_ten_at_a_time_and_more_on_request(phone, site_url):
    # Each hit's text is a download of its own: the first search fetches ten, "更多结果" the rest.
    fragments = []
    phone.on("requestfinished", lambda request: fragments.append(request.url) if request.url.endswith(".pf_fragment") else None)
    first = [r["title"] for r in results(phone, site_url, "党员")]
    phone.wait_for_load_state("networkidle")
    assert len(first) == len(fragments) == 10
    assert "还有更多" in phone.locator("#kite-search-status").inner_text()
    more = phone.get_by_role("button", name="更多结果")
    more.click()
    phone.wait_for_function("document.querySelectorAll('#kite-search-results li').length > 10")
    phone.wait_for_load_state("networkidle")
    titles = phone.locator("#kite-search-results .kite-card__title").all_inner_texts()
    assert titles[:10] == first and len(set(titles)) == len(titles) == len(fragments) > 10
    for snippet in phone.locator("#kite-search-results .kite-card__summary").all_inner_texts():
        assert not snippet.startswith(("。", "…。", "，", "…，")), snippet  # a window opening on a 。 too
    while more.is_visible():  # the sample hub has fewer than thirty such pages
        more.click()
        phone.wait_for_load_state("networkidle")
    count = phone.locator("#kite-search-results li").count()
    assert phone.locator("#kite-search-status").inner_text() == f"“党员”找到 {count} 条结果"
    phone.fill("#kite-q", "zqxjvbkw")
    phone.wait_for_function("document.getElementById('kite-search-status').textContent.includes('没有找到')")
    assert not more.is_visible()


def test_pinyin_being_composed_is_not_searched(phone, site_url):
    # A member types 工资 with a pinyin keyboard: "gongzi" is in the box while being composed.
    # Searching it would fetch index and hits for nothing, on a phone's data.
    fetched = []
    phone.on("requestfinished", lambda request: fetched.append(request.url) if "/pagefind/" in request.url else None)
    assert phone.goto(site_url + "search/").ok
    phone.locator("#kite-q").focus()
    keyboard = phone.context.new_cdp_session(phone)
    for typed in ("g", "go", "gon", "gong", "gongz", "gongzi"):
        keyboard.send("Input.imeSetComposition", {"text": typed, "selectionStart": len(typed), "selectionEnd": len(typed)})
        phone.wait_for_timeout(100)
    phone.wait_for_timeout(600)  # longer than the search box's pause
    assert phone.locator("#kite-q").input_value() == "gongzi"
    assert fetched == [] and phone.locator("#kite-search-results li").count() == 0
    keyboard.send("Input.insertText", {"text": "工资"})  # the member picks 工资: composition ends
    phone.locator("#kite-search-results li").first.wait_for()
    assert "工资" in phone.locator("#kite-search-status").inner_text()


def test_a_search_fetches_the_index_of_its_words_not_all_of_it(phone, site_url, sample_site):
    # A phone downloads the index chunk each word is in; small chunks keep that near the word's own
    # entries (kite/search.py: PAGEFIND_ENVIRONMENT), where Pagefind's default put this hub in one.
    fetched = []
    phone.on("requestfinished", lambda request: fetched.append(request.sizes()["responseBodySize"])
             if request.url.endswith(".pf_index") else None)
    results(phone, site_url, "引线")
    phone.wait_for_load_state("networkidle")
    whole = sum(path.stat().st_size for path in (sample_site / "pagefind" / "index").glob("*.pf_index"))
    assert fetched and sum(fetched) * 4 < whole
