"""Search results at phone size: what each hit is, and where its snippet is cut."""

from __future__ import annotations

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
    # The excerpt starts after the colon before the word found: the colon goes, an ellipsis says
    # text came before; it stops inside a sentence, so an ellipsis says more follows.
    winter = found["冬季施工和返乡路上，这本平安账要算清"]
    assert winter.startswith("…核对全年的考勤和已发工资，有出入的尽早提出；") and winter.endswith("…")
    # A whole list item: its own sentence from start to end, no ellipsis either side.
    assert found["搭把手：工地上的党员互助小组"] == "帮讨薪：工资有出入的，帮着核对考勤、整理凭证，陪着走正规渠道反映。"
    # Starts after a comma, ends where its paragraph ends.
    skills = found["技能是最硬的底气：工友们怎么考证书"]
    assert skills.startswith("…有的项目在定岗和工资上会有所体现。") and skills.endswith("以当地公布的为准。")
    for snippet in found.values():
        assert not snippet.startswith(("，", "、", "；", "：", "…，", "…、"))


def test_the_words_found_are_marked(phone, site_url):
    results(phone, site_url, "工资")
    marks = phone.locator("#kite-search-results mark").all_inner_texts()
    assert marks and set(marks) == {"工资"}


def test_every_word_of_a_query_must_be_there(phone, site_url):
    # 安全帽 is looked up as 安全 and 全帽: a page about 安全 alone is not a hit.
    found = results(phone, site_url, "安全帽")
    assert len(found) >= 3
    assert all("安全帽" in r["snippet"] for r in found), found


def test_full_width_digits_find_their_ascii_twins(phone, site_url):
    # Typed with a Chinese keyboard: ２０２５年 is 2025年, as the index (kite/search.py) reads it too.
    found = results(phone, site_url, "２０２５年")
    assert found and all("2025年" in r["about"] or "2025" in r["snippet"] for r in found), found
