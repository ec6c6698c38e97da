"""Building a small hub: pages, escaping, drafts, lists, atomic output, the CLI."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from helpers import REPO
from kite.build import BuildFailed, build
from kite.errors import ContentErrors


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "build.py"), *args], cwd=cwd, capture_output=True, text=True)


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with a hash of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


class Links(HTMLParser):
    """The URLs a page refers to, by tag and attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src", "action", "poster", "data-pagefind") and value is not None:
                self.found.append((tag, name, value))


def links(html: str) -> list[tuple[str, str, str]]:
    parser = Links()
    parser.feed(html)
    return parser.found


def page(site: Path, path: str) -> str:
    return (site / path).read_text(encoding="utf-8")


@pytest.fixture
def small_hub(hub):
    hub.lesson("抓牢引线", """
        title: 抓牢引线放风筝 <script>alert(1)</script> & 家乡
        date: 2026-03-01
        speaker: 王建军
        series: 风筝精神
        tags: [流动党员, 党史]
        summary: 讲 "风筝" & 引线
    """, body="## 一、引线在手\n\n海安的做法是抓牢引线放风筝。\n\n| 节点 | 时间 |\n| --- | --- |\n| 考勤 | 每月1日 |\n")
    hub.lesson("second", "title: 第二课\ndate: 2026-02-01\nseries: 风筝精神\ntags: [党史]")
    hub.lesson("草稿课", "title: 没写完的草稿\ndate: 2026-04-01\ndraft: true")
    return hub


def test_pages_land_where_the_contract_says(small_hub, tmp_path):
    site = tmp_path / "site"
    report = build(small_hub.config, site)
    for path in [
        "index.html",
        "lessons/index.html",
        "lessons/抓牢引线/index.html",
        "lessons/second/index.html",
        "episodes/index.html",
        "announcements/index.html",
        "search/index.html",
    ]:
        assert (site / path).is_file(), path
    assert report.pages >= 7
    assert not (site / "lessons/草稿课").exists()


def test_markup_in_titles_is_escaped_exactly_once(small_hub, tmp_path):
    site = tmp_path / "site"
    build(small_hub.config, site)
    lesson = page(site, "lessons/抓牢引线/index.html")
    assert "<script>alert(1)</script>" not in lesson
    assert "&amp;lt;" not in lesson and "&amp;amp;" not in lesson
    assert "<title>抓牢引线放风筝 &lt;script&gt;alert(1)&lt;/script&gt; &amp; 家乡 - 测试云课堂</title>" in lesson
    assert '<h1 data-pagefind-meta="title">抓牢引线放风筝 &lt;script&gt;alert(1)&lt;/script&gt; &amp; 家乡</h1>' in lesson
    assert "讲 &#34;风筝&#34; &amp; 引线" in lesson
    listing = page(site, "lessons/index.html")
    assert "抓牢引线放风筝 &lt;script&gt;alert(1)&lt;/script&gt; &amp; 家乡</a>" in listing
    assert "<script>alert(1)" not in listing


def test_lesson_page_shows_its_fields_and_markdown(small_hub, tmp_path):
    site = tmp_path / "site"
    build(small_hub.config, site)
    lesson = page(site, "lessons/抓牢引线/index.html")
    assert '<time datetime="2026-03-01">2026年3月1日</time>' in lesson
    assert "主讲：王建军" in lesson
    assert "风筝精神</a>" in lesson
    assert ">流动党员</a>" in lesson and ">党史</a>" in lesson
    assert "<table>" in lesson and "<h2 id=\"一引线在手\">" in lesson
    # Neighbours in the series, newest first: "second" is the earlier lesson.
    assert "上一课：第二课" in lesson


def test_drafts_appear_nowhere(small_hub, tmp_path):
    site = tmp_path / "site"
    build(small_hub.config, site)
    for path in site.rglob("*.html"):
        assert "没写完的草稿" not in path.read_text(encoding="utf-8"), path
    assert "草稿课" not in (site / "sitemap.xml").read_text(encoding="utf-8")


def test_every_internal_link_resolves_to_a_built_file(small_hub, tmp_path):
    site = tmp_path / "site"
    build(small_hub.config, site)
    base = "https://example.org/hub/"
    for html in site.rglob("*.html"):
        if html.name == "404.html":
            continue  # served at any depth; its links are absolute
        here = urljoin(base, html.relative_to(site).as_posix())
        for tag, attribute, value in links(html.read_text(encoding="utf-8")):
            url = urljoin(here, value)
            if not url.startswith(base) or attribute == "action":
                continue
            target = site / unquote(urlsplit(url).path[len("/hub/"):])
            if target.is_dir() or url.endswith("/"):
                target = target / "index.html"
            assert target.is_file(), f"{html.relative_to(site)}: {tag} {attribute}={value}"


def titles(html: str) -> list[str]:
    return re.findall(r'class="kite-card__title"[^>]*>([^<]+)<', html)


def test_lists_are_paginated_and_grouped(hub, tmp_path):
    for number in range(45):
        series = "甲系列" if number % 2 else "乙 系列/第二"
        hub.lesson(f"l{number:02}", f"title: 第{number}课\ndate: 2026-01-{number % 28 + 1:02}\nseries: {series}\ntags: [标签{number % 3}]")
    site = tmp_path / "site"
    build(hub.config, site)
    # The first page holds the newest 25 lessons (20 to 39); the oldest 20 are page 1, counted from the oldest.
    first, older = page(site, "lessons/index.html"), page(site, "lessons/page/1/index.html")
    assert len(titles(first)) == 25 and len(titles(older)) == 20
    assert sorted(titles(first) + titles(older)) == sorted(f"第{number}课" for number in range(45))
    assert "第27课" in first and "第0课" in older  # 2026-01-28 and 2026-01-01
    assert not (site / "lessons/page/2").exists()
    assert 'rel="next" ' not in older and 'href="../../" rel="prev"' in older and 'href="page/1/" rel="next"' in first
    assert "<title>党课开讲啦（2026年1月1日—1月" in older

    # A new lesson changes the first page alone: the later page keeps its address and its lessons.
    hub.lesson("newest", "title: 最新一课\ndate: 2026-02-01")
    build(hub.config, site)
    assert page(site, "lessons/page/1/index.html") == older
    assert titles(page(site, "lessons/index.html"))[0] == "最新一课"
    assert page(site, "lessons/series/甲系列/index.html").count('class="kite-card"') == 22  # one page under 40
    # Characters a URL would misread are folded out of the folder name.
    assert (site / "lessons/series/乙-系列-第二/index.html").is_file()
    assert (site / "lessons/tags/标签0/index.html").is_file()


def test_a_lesson_page_does_not_carry_the_whole_site(hub, tmp_path):
    for number in range(60):
        hub.lesson(f"l{number:02}", f"title: 第{number}课\ndate: 2026-01-{number % 28 + 1:02}")
    site = tmp_path / "site"
    build(hub.config, site)
    lesson = page(site, "lessons/l30/index.html")
    lesson_links = {value for tag, _, value in links(lesson) if tag == "a" and re.search(r"l\d\d/$", value)}
    assert lesson_links == set()
    assert len(lesson.encode()) < 30_000


def test_nothing_is_loaded_from_other_hosts(sample_site):
    forbidden = re.compile(r"unpkg\.com|jsdelivr|googleapis|gstatic|cdnjs|fonts\.|google-analytics|googletagmanager")
    for path in sample_site.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".css", ".js", ".xml", ".json", ".svg", ".ics"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not forbidden.search(text), path
    for path in sample_site.rglob("*.html"):
        for tag, attribute, value in links(path.read_text(encoding="utf-8")):
            if attribute == "href" and tag == "a":
                continue  # a link the member may follow is not a request
            host = urlsplit(value).netloc
            assert host in ("", "127.0.0.1:8000", "127.0.0.1:8001"), f"{path}: <{tag} {attribute}={value}>"
    assert not list(sample_site.glob("assets/javascripts/**/*"))
    # Nor named anywhere in the styles and scripts, not even in a comment or as a made-up base
    # (Material's stylesheet had Font Awesome's licence address, Pagefind's scripts example.com).
    named = set()
    for path in sample_site.rglob("*"):
        if path.is_file() and path.suffix in {".css", ".js", ".json", ".webmanifest", ".svg"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            named |= {(host, path.name) for host in re.findall(r"https?://([^/\s\"'`)<>]+)", text)}
    assert {host for host, _ in named} - {"127.0.0.1:8000", "127.0.0.1:8001", "www.w3.org"} == set(), sorted(named)


def test_a_failed_build_leaves_the_site_exactly_as_it_was(small_hub, tmp_path):
    site = tmp_path / "site"
    build(small_hub.config, site)
    before = tree(site)
    small_hub.lesson("second", "title: 第二课\ndate: 二月一日")
    small_hub.lesson("third", "titl: 第三课\ndate: 2026-02-02")
    result = run_cli("build", "-f", str(small_hub.config), "-d", str(site), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "lessons/second.md:3: date: 应为 YYYY-MM-DD 格式的日期，例如 2026-03-01，实际为'二月一日'",
        "lessons/third.md:1: title: 缺少必填字段",
        "lessons/third.md:2: titl: 未知字段。是不是想写 title？可用的字段有：title, date, slug, summary, draft, speaker, series, tags, attendance",
    ]
    assert tree(site) == before
    assert {p.name for p in tmp_path.iterdir()} == {"hub", "site", ".site.kite-pages"}  # and the record (kite.rendered)


def test_a_failure_while_rendering_also_leaves_the_site_alone(small_hub, tmp_path):
    site = tmp_path / "site"
    build(small_hub.config, site)
    before = tree(site)
    # (An unknown filter is refused before rendering now, as check refuses it; a name is not.)
    small_hub.write("templates/lesson.html", "{% extends 'main.html' %}{% block content %}{{ lesson.no_such_name.deeper }}{% endblock %}")
    with pytest.raises(BuildFailed, match="no_such_name"):
        build(small_hub.config, site)
    assert tree(site) == before
    assert {p.name for p in tmp_path.iterdir()} == {"hub", "site", ".site.kite-pages"}  # and the record (kite.rendered)


def test_a_successful_rebuild_replaces_the_site(small_hub, tmp_path):
    site = tmp_path / "site"
    build(small_hub.config, site)
    (site / "stale.html").write_text("旧文件")
    small_hub.lesson("second", "title: 改过的第二课\ndate: 2026-02-01")
    build(small_hub.config, site)
    assert not (site / "stale.html").exists()
    assert "改过的第二课" in page(site, "lessons/second/index.html")


def test_refuses_to_overwrite_the_hub_itself(small_hub):
    with pytest.raises(ContentErrors) as caught:
        build(small_hub.config, small_hub.root)
    assert caught.value.problems[0].field == "site_dir"
    assert (small_hub.root / "lessons/second.md").exists()


def test_cli_check_and_build(small_hub, tmp_path):
    checked = run_cli("check", "-f", str(small_hub.config), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "2 篇党课" in checked.stdout and "1 篇草稿" in checked.stdout
    built = run_cli("build", "-f", str(small_hub.config), cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site/index.html").is_file()


def test_a_hub_template_overrides_the_built_in_one(small_hub, tmp_path):
    small_hub.write("templates/partials/kite/footer_extra.html", "<p>本站由海安市委组织部维护</p>")
    site = tmp_path / "site"
    build(small_hub.config, site)
    assert "<p>本站由海安市委组织部维护</p>" in page(site, "index.html")


def test_rendering_on_several_cores_gives_the_same_site(hub, tmp_path, monkeypatch):
    from kite import parallel

    monkeypatch.setattr(parallel, "SERIAL_BELOW", 0)
    for number in range(30):
        hub.lesson(f"第{number}课", f"title: 第{number}课\ndate: 2026-01-{number % 28 + 1:02}\nseries: 系列{number % 3}")
    one, two = tmp_path / "one", tmp_path / "two"
    now = datetime(2026, 11, 27, tzinfo=timezone.utc)
    build(hub.config, one, now=now, workers=1)
    build(hub.config, two, now=now, workers=2)
    assert tree(one) == tree(two)



def test_the_published_folder_is_readable_by_the_web_server(small_hub, tmp_path):
    import stat

    site = tmp_path / "site"
    build(small_hub.config, site)
    mode = stat.S_IMODE(site.stat().st_mode)
    assert mode & 0o055 == 0o055, oct(mode)  # group and others may read and enter it


def test_a_folder_with_other_files_is_not_replaced(small_hub, tmp_path):
    target = tmp_path / "documents"
    target.mkdir()
    (target / "报表.xlsx").write_bytes(b"important")
    with pytest.raises(ContentErrors) as caught:
        build(small_hub.config, target)
    assert "不是 Kite 生成的站点" in caught.value.problems[0].message
    assert (target / "报表.xlsx").read_bytes() == b"important"
    empty = tmp_path / "empty"
    empty.mkdir()
    build(small_hub.config, empty)  # an empty folder is fine
    build(small_hub.config, empty)  # and so is Kite's own site
    assert (empty / "index.html").is_file()


def test_pictures_in_bodies_are_published_and_drafts_media_are_not(hub, tmp_path):
    hub.media("photo.png", b"\x89PNG picture")
    hub.media("draft-only.png", b"\x89PNG secret")
    hub.lesson("a", "title: 甲\ndate: 2026-01-01",
               body="![工地](../content/media/photo.png)\n\n<img src=\"media/photo.png\" alt=\"再一次\">\n")
    hub.lesson("b", "title: 草稿\ndate: 2026-01-02\ndraft: true", body="![秘密](../content/media/draft-only.png)\n")
    site = tmp_path / "site"
    report = build(hub.config, site)
    assert report.warnings == []
    html = page(site, "lessons/a/index.html")
    assert 'src="../../media/photo.png"' in html and 'loading="lazy"' in html
    assert html.count('src="../../media/photo.png"') == 2
    assert (site / "media/photo.png").read_bytes() == b"\x89PNG picture"
    assert not (site / "media/draft-only.png").exists()


def test_an_activity_without_an_end_stays_upcoming_until_the_end_of_its_day(hub, tmp_path):
    hub.announcement("today", "title: 今天下午的活动\ndate: 2026-11-20\nstarts: 2026-11-27 14:00")
    site = tmp_path / "site"
    build(hub.config, site, now=datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc))  # 20:00 in Beijing
    upcoming = page(site, "announcements/index.html").split('id="past"')[0]
    assert "今天下午的活动" in upcoming
    build(hub.config, site, now=datetime(2026, 11, 27, 16, 30, tzinfo=timezone.utc))  # 00:30 the next day
    assert "今天下午的活动" not in page(site, "announcements/index.html").split('id="past"')[0]


def test_broken_links_are_reported_against_the_editors_file(hub, tmp_path):
    hub.lesson("2026/a", "title: 甲\ndate: 2026-01-01", body="见[另一课](no-such-lesson.md)。\n")
    report = build(hub.config, tmp_path / "site")
    assert report.warnings == ["lessons/2026/a.md:5: body: 链接 no-such-lesson.md 指向的页面或文件不存在"]


def test_a_failing_search_index_leaves_the_site_alone(small_hub, tmp_path, monkeypatch):
    # A Pagefind that starts and dies at once, as a broken install would.
    site = tmp_path / "site"
    build(small_hub.config, site)
    before = tree(site)
    small_hub.lesson("second", "title: 改过的第二课\ndate: 2026-02-01")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", "/bin/false")
    with pytest.raises(BuildFailed, match="^搜索索引生成失败"):
        build(small_hub.config, site)
    assert tree(site) == before
    assert {p.name for p in tmp_path.iterdir()} == {"hub", "site", ".site.kite-pages"}  # and the record (kite.rendered)


def test_every_text_file_has_compressed_copies_of_itself(hub, tmp_path, monkeypatch):
    import brotli
    import gzip

    from kite import parallel

    monkeypatch.setattr(parallel, "SERIAL_BELOW", 0)  # two render workers, then compression in a pool
    for number in range(12):
        hub.lesson(f"第{number}课", f"title: 第{number}课\ndate: 2026-01-{number + 1:02}", "工地上的党课。\n" * 40)
    site = tmp_path / "site"
    build(hub.config, site, workers=2)
    pages = list(site.glob("lessons/*/index.html"))
    others = [site / "index.html", site / "404.html", site / "sitemap.xml", site / "lessons/rss.xml", site / "pagefind/pagefind.js"]
    assert len(pages) == 12
    for path in pages + others:
        data = path.read_bytes()
        assert gzip.decompress(Path(f"{path}.gz").read_bytes()) == data, path
        assert brotli.decompress(Path(f"{path}.br").read_bytes()) == data, path
