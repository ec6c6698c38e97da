"""Valid hubs of unusual shape, each built once with ``build.py build``, and everything the build
writes checked against CONTRACT.md: the paths, every link and asset in every page, the feeds, the
podcast, the calendar, the service worker's list, valid HTML, 360 px phones, search and offline.

The shapes: a hub with only its config; hubs with one kind of content only; one item of each kind
with every optional config block set, another language and a zone with daylight saving; lists one
item past a page (21) and two pages (41); odd titles, bodies, durations, media names and times.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit
from zoneinfo import ZoneInfo

import feedparser
import icalendar
import lxml.html
import pytest

from helpers import PHONE, REPO, HubFolder, wait_for
from test_html_valid import nu_html_checker
from test_offline_browser import controlled, kept_text

NEW_YORK = ZoneInfo("America/New_York")
COVER = (REPO / "content/media/cover.png").read_bytes()
AUDIO = (REPO / "content/media/xiangyin-01.mp3").read_bytes()

MINIMAL = "site_name: 最小站点\nsite_url: {url}\n"
EVERYTHING = """\
site_name: 全配置站点 · 测试
short_name: 全配置
site_url: {url}
site_description: 描述 <b>&</b> "引号"
language: en
timezone: America/New_York
copyright: 版权 & <所有>
attendance:
  endpoint: https://example.org/checkin
  opens_before: 30
  closes_after: 30
  late_after: 10
  code_seconds: 120
points:
  study: 1
  report: 2
  suggestion: 1
  review: 2
branches:
  - name: 驻宁流动党员联合党委
    branches: [鼓韵堂党支部, 栖息栈党支部]
  - 单独支部
podcast:
  title: 播客 <标题> & 乡音
  description: 描述 & 说明
  author: 海安市委组织部
  owner_email: owner@example.org
  image: cover.png
  category: Education
  explicit: true
"""

# 200 characters: markup characters, emoji, full-width punctuation and a 95-letter word.
LONG_TITLE = ("长" * 90 + "<b>&\"'😀，。！？「」" + "x" * 95)[:200]
BIG_BODY = ("这是一段很长的正文，用来测试五万字的页面。" * 2500)[:50_000]


def yaml_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Shape:
    """One hub of an unusual shape and the site ``build.py build`` made of it."""

    def __init__(self, name: str, hub: HubFolder, site: Path, url: str):
        self.name, self.hub, self.site, self.url = name, hub, site, url

    @property
    def base(self) -> str:
        return self.url if self.url.endswith("/") else self.url + "/"

    def site_name(self) -> str:
        return re.search(r"^site_name: '?(.*?)'?$", self.hub.config.read_text(encoding="utf-8"), re.M)[1]

    def text(self, path: str) -> str:
        return (self.site / path).read_text(encoding="utf-8")

    def feed(self, path: str):
        parsed = feedparser.parse((self.site / path).read_bytes())
        assert not parsed.bozo, f"{self.name} {path}: {parsed.get('bozo_exception')}"
        return parsed

    def calendar(self) -> icalendar.Calendar:
        return icalendar.Calendar.from_ical((self.site / "announcements/calendar.ics").read_bytes())

    def events(self) -> dict[str, icalendar.Event]:
        return {str(e["summary"]).split(" ")[1]: e for e in self.calendar().walk("VEVENT")}


def run_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "build.py"), "build", "-f", str(config), "-d", str(site)],
                          capture_output=True, text=True, timeout=240)


def new_hub(root: Path, config: str) -> HubFolder:
    hub = HubFolder(root)
    hub.write("site_config.yml", config)
    hub.media("cover.png", COVER)
    return hub


def fill_one(hub: HubFolder) -> None:
    """One item of each kind: a lesson alone in its series with tags used once, and a check-in code."""
    hub.lesson("one", "title: 唯一一课\ndate: 2026-03-01\nseries: 独课系列\ntags: [独标签]\nattendance: true\nspeaker: 王建军")
    hub.media("我的 音频.mp3", AUDIO)
    hub.episode("ep", "title: 唯一一期\ndate: 2026-03-02\nmedia: 我的 音频.mp3\nduration: \"0:59\"")
    hub.announcement("an", "title: 活动 an\ndate: 2026-03-01\nstarts: 2026-03-08 01:30\nends: 2026-03-08 03:30\nattendance: code")
    # Drafts of each kind (an episode draft may lack its media): in no page, feed or calendar.
    hub.lesson("draft-l", "title: 草稿课\ndate: 2026-03-03\ndraft: true\nseries: 独课系列")
    hub.episode("draft-e", "title: 草稿期\ndate: 2026-03-03\ndraft: true")
    hub.announcement("draft-a", "title: 活动 草稿\ndate: 2026-03-03\nstarts: 2026-03-09 10:00\ndraft: true")


def fill_many(hub: HubFolder) -> None:
    """41 lessons (three list pages, the last with one), 21 episodes and 21 announcements (two)."""
    for number in range(41):
        # Tags of exactly 20 and 40 lessons: one and two full pages, and no empty one after.
        tags = ["同一标签"] + (["四十"] if number < 40 else []) + (["二十"] if number < 20 else [])
        hub.lesson(f"l{number:02}", f"title: 第{number}课\ndate: 2026-01-{number % 28 + 1:02}\nseries: 同一系列\ntags: [{', '.join(tags)}]")
    for number in range(21):
        hub.media(f"a{number}.mp3", b"ID3" + bytes(100))
        hub.episode(f"e{number:02}", f"title: 第{number}期\ndate: 2026-02-{number % 28 + 1:02}\nmedia: a{number}.mp3")
        hub.announcement(f"a{number:02}", f"title: 活动 a{number:02}\ndate: 2026-01-01\nstarts: 2026-{number % 12 + 1:02}-{number % 28 + 1:02} 19:00")


# Announcements of the odd hub, by the word after 活动 in their titles (the calendar test's keys).
ODD_TIMES = {
    "past": "starts: 2020-01-01 10:00",
    "far": "starts: 2099-12-31 23:00\nends: 2100-01-01 01:00",
    # 02:30 does not exist on New York's clock that night: without an offset it is an error
    # (test_date_forms), so the offset says which instant is meant.
    "spring": "starts: 2026-03-08T02:30-05:00\nends: 2026-03-08 04:00\nattendance: code",
    "fall": "starts: 2026-11-01 01:30\nends: 2026-11-01 01:45",  # 01:30 happens twice: the first
    "again": "starts: 2026-11-01T01:30:00-05:00\nends: 2026-11-01T01:50:00-05:00",  # the second 01:30
    "midnight": "starts: 2026-06-30 23:00\nends: 2026-07-01 01:00\nattendance: true",
    "newyear": "starts: 2026-12-31 22:00\nends: 2027-01-01 02:00\nattendance: code",
    "offset": "starts: 2026-05-01T10:00:00+08:00",
    "utc": "starts: 2026-05-02T10:00:00Z",
}


def fill_odd(hub: HubFolder) -> None:
    series = yaml_text("系列<>&\"'😀")
    summary = yaml_text('摘要 <script>alert(1)</script> & "q"')
    hub.lesson("long", f"title: {yaml_text(LONG_TITLE)}\ndate: 2026-03-01\nseries: {series}\n"
               f"tags: ['<b>&', '😀标签', '，。']\nsummary: {summary}\nspeaker: '讲 <i>者</i>'\nattendance: true",
               body="x\n")
    hub.lesson("big", "title: 大正文\ndate: 2026-03-02", body=BIG_BODY + "\n")
    hub.lesson("一字", "title: 一字\ndate: 2026-03-03", body="字\n")
    hub.media("乡音 第一期.mp3", AUDIO)
    hub.media("video file.mp4", bytes(5000))
    for name, duration in (("d0059", "0:59"), ("d5959", "59:59"), ("d1h", "1:00:00"), ("d10h", "10:00:00")):
        hub.episode(name, f"title: 时长 {duration} <&>\ndate: 2026-04-01\nmedia: 乡音 第一期.mp3\nduration: \"{duration}\"")
    hub.media("图片 一.png", COVER)
    hub.episode("video", "title: 视频\ndate: 2026-04-02\nmedia: video file.mp4\nduration: 754",
                body="![工地](<../content/media/图片 一.png>)\n")
    hub.episode("remote", "title: 外链\ndate: 2026-04-03\nmedia: https://media.example.org/乡音_a.m4a")
    today = datetime.now(NEW_YORK).date()
    times = {**ODD_TIMES, "today": f"starts: {today.isoformat()} 00:00"}
    for name, moment in times.items():
        hub.announcement(name, f"title: '活动 {name} <&> \"q\"'\ndate: 2026-01-01\n{moment}\nlocation: '地点 <&>'\n"
                               f"online_url: https://example.org/活动室/1?x=1&y=2\norganizer: '主办 & <组织>'")


SHAPES = {
    # name: (config, site_url, fill)
    "config-only": (MINIMAL, "https://example.org/hub", None),
    "lessons-only": (MINIMAL, "https://example.org", lambda hub: hub.lesson("only", "title: 只有一课\ndate: 2026-01-01", body="字\n")),
    "episodes-only": (MINIMAL, "https://example.org/", lambda hub: (hub.media("a.mp3", AUDIO), hub.episode("only", "title: 只有一期\ndate: 2026-01-01\nmedia: a.mp3"))),
    "announcements-only": (MINIMAL, "https://example.org/a/b/", lambda hub: hub.announcement("only", "title: 活动 only\ndate: 2026-01-01\nstarts: 2026-01-10 19:00")),
    "one-of-each": (EVERYTHING, "https://example.org/hub/", fill_one),
    "many": (MINIMAL, "https://example.org/hub/", fill_many),
    "odd": (EVERYTHING, "https://example.org/hub", fill_odd),
}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> dict[str, Shape]:
    built = {}
    for name, (config, url, fill) in SHAPES.items():
        root = tmp_path_factory.mktemp(name)
        hub = new_hub(root / "hub", config.format(url=url))
        if fill:
            fill(hub)
        result = run_build(hub.config, root / "site")
        assert result.returncode == 0 and "Traceback" not in result.stderr, f"{name}:\n{result.stderr}"
        built[name] = Shape(name, hub, root / "site", url)
    return built


@pytest.fixture(params=list(SHAPES))
def shape(request, shapes) -> Shape:
    return shapes[request.param]


# --- Paths --------------------------------------------------------------------------------------

CONTRACT_PATHS = ["index.html", "lessons/index.html", "episodes/index.html", "announcements/index.html",
                  "lessons/rss.xml", "lessons/atom.xml", "episodes/podcast.xml", "announcements/rss.xml",
                  "announcements/atom.xml", "announcements/calendar.ics", "manifest.webmanifest", "sw.js"]


def test_every_contract_path_is_written(shape):
    missing = [path for path in CONTRACT_PATHS if not (shape.site / path).is_file()]
    assert missing == []
    # The forms post to the endpoint: a hub without one has neither page (README, "每季一汇报").
    forms = [(shape.site / path).is_file() for path in ("report/index.html", "suggest/index.html")]
    assert forms == [shape.hub.config.read_text(encoding="utf-8").count("attendance:\n") == 1] * 2


def test_each_item_has_its_page_and_drafts_none(shapes):
    one = shapes["one-of-each"].site
    for path in ("lessons/one/index.html", "episodes/ep/index.html", "announcements/an/index.html",
                 f"lessons/series/{'独课系列'}/index.html", f"lessons/tags/{'独标签'}/index.html"):
        assert (one / path).is_file(), path
    for path in ("lessons/draft-l", "episodes/draft-e", "announcements/draft-a"):
        assert not (one / path).exists(), path
    assert not [page for page in one.rglob("*.html") if "草稿" in page.read_text(encoding="utf-8")]
    odd = shapes["odd"].site
    assert (odd / "lessons/一字/index.html").is_file()


def test_lists_split_into_runs_of_twenty_from_the_oldest(shapes):
    site = shapes["many"].site
    # The first page holds 20 to 39 items, the newest; each later page 20, counted from the oldest.
    for folder, items, later in (("lessons", 41, 1), ("lessons/series/同一系列", 41, 1), ("lessons/tags/同一标签", 41, 1),
                                 ("episodes", 21, 0), ("lessons/tags/四十", 40, 1), ("lessons/tags/二十", 20, 0)):
        first = (site / folder / "index.html").read_text(encoding="utf-8")
        assert first.count('<li class="kite-card">') == items - 20 * later, folder
        for number in range(1, later + 1):
            assert (site / folder / f"page/{number}/index.html").read_text(encoding="utf-8").count(
                '<li class="kite-card">') == 20, (folder, number)
        assert not (site / folder / f"page/{later + 1}").exists(), folder
        assert not (site / folder / "page/0").exists(), folder
    # One item: one page, no pager.
    one = shapes["one-of-each"].site
    assert not (one / "lessons/page").exists() and not (one / "episodes/page").exists()


# --- Links and assets ---------------------------------------------------------------------------

def broken_references(shape: Shape) -> tuple[int, list[str]]:
    """Every href, src and poster in every page that points into the site but at no file."""
    base = shape.base
    root = urlsplit(base)
    checked, broken = 0, []
    for html in sorted(shape.site.rglob("*.html")):
        relative = html.relative_to(shape.site).as_posix()
        document = lxml.html.fromstring(html.read_bytes())
        here = urljoin(base, quote(relative))
        for element in document.iter("base"):
            here = urljoin(here, element.get("href"))
        for element in document.iter():
            for attribute in ("href", "src", "poster"):
                value = element.get(attribute)
                if value is None or element.tag == "base":
                    continue
                url = urlsplit(urljoin(here, value.strip()))
                # An episode's media may be an https:// address elsewhere (the contract's `media`);
                # the player fetches nothing of it until the member presses play.
                fetched = element.tag in ("script", "img", "iframe") or (
                    element.tag in ("audio", "video") and element.get("preload") != "none")
                if url.scheme in ("http", "https") and url.netloc != root.netloc and fetched:
                    broken.append(f"{relative}: {element.tag} {attribute}={value} loads from another host")
                if url.netloc != root.netloc or not url.path.startswith(root.path):
                    continue  # another site (an online room on the same host is not the hub's)
                checked += 1
                target = shape.site / unquote(url.path[len(root.path):])
                if url.path.endswith("/") or target.is_dir():
                    target = target / "index.html"
                if not target.is_file():
                    broken.append(f"{relative}: {element.tag} {attribute}={value}")
    return checked, broken


def test_every_link_and_asset_in_every_page_is_a_file_of_the_site(shape):
    checked, broken = broken_references(shape)
    assert broken == []
    assert checked > 15 * len(list(shape.site.rglob("*.html")))  # the crawler did see the pages' links


def test_the_crawler_finds_a_broken_link(shapes, tmp_path):
    # The test above must be able to fail: a copy of a site with one page's stylesheet gone.
    copy = tmp_path / "site"
    shutil.copytree(shapes["config-only"].site, copy)
    next((copy / "assets").glob("kite.*.css")).unlink()
    checked, broken = broken_references(Shape("copy", None, copy, "https://example.org/hub"))
    assert broken and all("kite." in line and "css" in line for line in broken)


def test_the_workers_precache_names_only_files_of_the_site(shape):
    build = json.loads(re.search(r"const BUILD = (.*);\n", shape.text("sw.js")).group(1))
    assert "offline.html" in build["precache"]
    assert [path for path in build["precache"] if not (shape.site / path).is_file()] == []
    manifest = json.loads(shape.text("manifest.webmanifest"))
    assert (manifest["name"], manifest["start_url"], manifest["display"]) == (shape.site_name(), "./", "standalone")
    assert manifest["lang"] == ("en" if "language: en" in shape.hub.config.read_text(encoding="utf-8") else "zh")
    assert sorted(icon["sizes"] for icon in manifest["icons"]) == ["192x192", "512x512"]
    assert all((shape.site / icon["src"]).is_file() for icon in manifest["icons"])


# --- Pages: valid, escaped, narrow ---------------------------------------------------------------

def test_every_page_of_every_shape_is_valid_html(shapes):
    pages = [page for shape in shapes.values() for page in sorted(shape.site.rglob("*.html"))]
    messages = nu_html_checker(pages)
    assert [f"{unquote(m.get('url', ''))}:{m.get('lastLine')}: {m['message']}" for m in messages if m["type"] != "info"] == []


def test_titles_and_fields_are_escaped_and_whole(shapes):
    site = shapes["odd"].site
    page = (site / "lessons/long/index.html").read_text(encoding="utf-8")
    escaped = LONG_TITLE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f">{escaped}</h1>" in page.replace("&#34;", '"').replace("&#39;", "'").replace("&quot;", '"')
    assert "<script>alert(1)" not in page and "<b>&" not in page and "<i>者" not in page
    assert len(lxml.html.fromstring((site / "lessons/big/index.html").read_bytes()).xpath("string(//article)")) > 50_000
    document = lxml.html.fromstring((site / "lessons/一字/index.html").read_bytes())
    assert document.xpath("normalize-space(//article//p[last()])") == "字"
    for announcement in site.glob("announcements/*/index.html"):
        text = announcement.read_text(encoding="utf-8")
        assert "<&>" not in text and "<组织>" not in text, announcement


def test_no_page_scrolls_sideways_on_a_360px_phone(shapes, browser, serve_dir):
    wide = []
    context = browser.new_context(**PHONE, service_workers="block")
    page = context.new_page()
    for name in ("odd", "one-of-each", "config-only"):
        site = shapes[name].site
        url = serve_dir(site)
        for html in sorted(site.rglob("*.html")):
            page.goto(url + quote(html.relative_to(site).as_posix()))
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 360:
                wide.append(f"{name} {html.relative_to(site)}: {width}px")
    context.close()
    assert wide == []


# --- Feeds and the podcast -----------------------------------------------------------------------

COUNTS = {  # lessons, episodes, announcements
    "config-only": (0, 0, 0), "lessons-only": (1, 0, 0), "episodes-only": (0, 1, 0), "announcements-only": (0, 0, 1),
    "one-of-each": (1, 1, 1), "many": (41, 21, 21), "odd": (3, 6, 10),
}


def test_feeds_parse_with_one_entry_per_item_and_links_on_the_site_url(shape):
    lessons, episodes, announcements = COUNTS[shape.name]
    for path, count in (("lessons/rss.xml", lessons), ("lessons/atom.xml", lessons), ("episodes/podcast.xml", episodes),
                        ("announcements/rss.xml", announcements), ("announcements/atom.xml", announcements)):
        feed = shape.feed(path)
        assert len(feed.entries) == count, path
        assert feed.feed.link == shape.base + path.split("/")[0] + "/", path
        assert all(entry.link.startswith(shape.base) and (shape.site / unquote(entry.link[len(shape.base):]) / "index.html").is_file()
                   for entry in feed.entries), path
    assert len(shape.calendar().walk("VEVENT")) == announcements
    for path in ("lessons/atom.xml", "announcements/atom.xml"):
        # RFC 4287: an author for the feed, since an entry may have none (a lesson without a speaker).
        assert shape.feed(path).feed.author == shape.site_name(), path


def test_feed_dates_are_the_content_dates_in_the_hubs_zone(shapes):
    for entry in shapes["many"].feed("announcements/rss.xml").entries:
        assert entry.published_parsed[:6] == (2025, 12, 31, 16, 0, 0)  # 2026-01-01 in Beijing, in UTC
    lesson = shapes["one-of-each"].feed("lessons/atom.xml").entries[0]
    assert lesson.published_parsed[:6] == (2026, 3, 1, 5, 0, 0)  # midnight in New York (EST), in UTC
    episode = shapes["one-of-each"].feed("episodes/podcast.xml").entries[0]
    assert episode.published_parsed[:6] == (2026, 3, 2, 5, 0, 0)


def podcast_channel(shape: Shape):
    from lxml import etree

    return etree.fromstring((shape.site / "episodes/podcast.xml").read_bytes()).find("channel")


ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
PODCAST = "{https://podcastindex.org/namespace/1.0}"


def test_the_podcast_has_the_itunes_fields_and_the_guid_of_its_own_url(shapes):
    for shape in shapes.values():
        channel = podcast_channel(shape)
        feed_url = shape.base + "episodes/podcast.xml"
        expected = uuid.uuid5(uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), feed_url.split("://", 1)[1])
        assert channel.findtext(f"{PODCAST}guid") == str(expected), shape.name
        assert channel.findtext(f"{ITUNES}explicit") in ("true", "false"), shape.name
    bare = podcast_channel(shapes["config-only"])  # no podcast block: the site stands in
    assert bare.findtext(f"{ITUNES}author") == "最小站点"
    assert bare.find(f"{ITUNES}category").get("text") == "Education"
    full = podcast_channel(shapes["one-of-each"])
    assert full.findtext("title") == "播客 <标题> & 乡音"
    assert full.findtext(f"{ITUNES}author") == "海安市委组织部"
    assert full.find(f"{ITUNES}category").get("text") == "Education"
    assert full.findtext(f"{ITUNES}explicit") == "true"
    assert full.find(f"{ITUNES}image").get("href") == "https://example.org/hub/media/cover.png"
    assert full.find(f"{ITUNES}owner").findtext(f"{ITUNES}email") == "owner@example.org"
    assert full.findtext("language") == "en"


def test_enclosures_have_encoded_urls_sizes_types_and_durations(shapes):
    shape = shapes["odd"]
    entries = {entry.title: entry for entry in shape.feed("episodes/podcast.xml").entries}
    local = shape.base + "media/" + quote("乡音 第一期.mp3")
    for title, clock in (("时长 0:59 <&>", "00:00:59"), ("时长 59:59 <&>", "00:59:59"),
                         ("时长 1:00:00 <&>", "01:00:00"), ("时长 10:00:00 <&>", "10:00:00")):
        enclosure = entries[title].enclosures[0]
        assert (enclosure.href, enclosure.length, enclosure.type) == (local, str(len(AUDIO)), "audio/mpeg")
        assert entries[title].itunes_duration == clock
    video = entries["视频"].enclosures[0]
    assert (video.href, video.length, video.type) == (shape.base + "media/video%20file.mp4", "5000", "video/mp4")
    remote = entries["外链"].enclosures[0]
    assert remote.href == "https://media.example.org/" + quote("乡音_a.m4a")
    for href in (local, video.href):
        assert (shape.site / unquote(href[len(shape.base):])).is_file()


def test_a_picture_whose_name_has_a_space_is_published_and_shown(shapes):
    site = shapes["odd"].site
    page = lxml.html.fromstring((site / "episodes/video/index.html").read_bytes())
    assert page.xpath("//article//img[@alt='工地']/@src") == ["../../media/" + quote("图片 一.png")]
    assert (site / "media/图片 一.png").read_bytes() == COVER


def test_remote_media_and_room_addresses_are_valid_urls_in_pages(shapes):
    site = shapes["odd"].site
    player = lxml.html.fromstring((site / "episodes/remote/index.html").read_bytes())
    assert player.xpath("//audio/@src") == ["https://media.example.org/" + quote("乡音_a.m4a")]
    room = lxml.html.fromstring((site / "announcements/past/index.html").read_bytes())
    assert "https://example.org/" + quote("活动室") + "/1?x=1&y=2" in room.xpath("//a/@href")


# --- The calendar --------------------------------------------------------------------------------

def test_calendars_parse_with_lines_folded_at_75_octets(shape):
    files = sorted(shape.site.rglob("*.ics"))
    assert len(files) == 1 + COUNTS[shape.name][2]  # the calendar, and one per activity to add alone
    for path in files:
        raw = path.read_bytes()
        assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b""), path
        assert [line for line in raw.split(b"\r\n") if len(line) > 75] == [], path
        events = icalendar.Calendar.from_ical(raw).walk("VEVENT")
        assert len(events) == (1 if path.name == "event.ics" else COUNTS[shape.name][2]), path


def test_titles_reach_feeds_and_calendars_as_written(shapes):
    odd = shapes["odd"]
    titles = [entry.title for entry in odd.feed("lessons/atom.xml").entries]
    assert LONG_TITLE in titles and LONG_TITLE in [entry.title for entry in odd.feed("lessons/rss.xml").entries]
    summaries = {str(event["summary"]) for event in odd.calendar().walk("VEVENT")}
    assert '活动 past <&> "q"' in summaries
    alone = icalendar.Calendar.from_ical((odd.site / "announcements/midnight/event.ics").read_bytes())
    [event] = alone.walk("VEVENT")
    assert str(event["summary"]) == '活动 midnight <&> "q"'
    assert event["dtstart"].dt == datetime(2026, 7, 1, 3, 0, tzinfo=timezone.utc)
    assert str(event["url"]) == odd.base + "announcements/midnight/"


def test_calendar_times_keep_their_zone_across_daylight_saving_midnight_and_new_year(shapes):
    events = shapes["odd"].events()
    assert set(events) == set(ODD_TIMES) | {"today"}

    def local(event, key):
        value = event[key].dt
        # On New York's clock, except a time that clock shows twice: in UTC, said exactly.
        zone = "UTC" if str(event["summary"]).startswith("活动 again") else "America/New_York"
        assert value.tzinfo is not None and str(value.tzinfo) == zone, (key, value)
        return value

    expected = {  # name: (starts, ends) as UTC
        "spring": (datetime(2026, 3, 8, 7, 30), datetime(2026, 3, 8, 8, 0)),  # 02:30 EST = 03:30 EDT
        "fall": (datetime(2026, 11, 1, 5, 30), datetime(2026, 11, 1, 5, 45)),  # the first 01:30 (EDT)
        "again": (datetime(2026, 11, 1, 6, 30), datetime(2026, 11, 1, 6, 50)),  # the second (EST)
        "midnight": (datetime(2026, 7, 1, 3, 0), datetime(2026, 7, 1, 5, 0)),
        "newyear": (datetime(2027, 1, 1, 3, 0), datetime(2027, 1, 1, 7, 0)),
        "far": (datetime(2100, 1, 1, 4, 0), datetime(2100, 1, 1, 6, 0)),
        "offset": (datetime(2026, 5, 1, 2, 0), None),
        "utc": (datetime(2026, 5, 2, 10, 0), None),
        "past": (datetime(2020, 1, 1, 15, 0), None),
    }
    for name, (starts, ends) in expected.items():
        event = events[name]
        assert local(event, "dtstart").astimezone(timezone.utc) == starts.replace(tzinfo=timezone.utc), name
        if ends:
            assert local(event, "dtend").astimezone(timezone.utc) == ends.replace(tzinfo=timezone.utc), name
        else:
            assert "dtend" not in event, name
    # The calendar's VTIMEZONE says what New York's clocks did on those days.
    assert str(events["newyear"]["dtend"].dt.date()) == "2027-01-01"
    assert events["midnight"]["dtstart"].dt.date() == date(2026, 6, 30)


def test_calendar_uids_are_unique_and_survive_an_edit(shapes, tmp_path):
    for shape in shapes.values():
        uids = [str(event["uid"]) for event in shape.calendar().walk("VEVENT")]
        assert len(set(uids)) == len(uids), shape.name
    one = shapes["one-of-each"]
    before = {str(e["uid"]) for e in one.calendar().walk("VEVENT")}
    hub = new_hub(tmp_path / "hub", EVERYTHING.format(url=one.url))
    fill_one(hub)
    hub.announcement("an", "title: 活动 改了名字\ndate: 2026-03-05\nstarts: 2026-03-09 09:00\nattendance: true")
    assert run_build(hub.config, tmp_path / "site").returncode == 0
    after = icalendar.Calendar.from_ical((tmp_path / "site/announcements/calendar.ics").read_bytes())
    assert {str(e["uid"]) for e in after.walk("VEVENT")} == before == {"announcements/an@example.org"}


def test_past_today_and_far_future_activities_are_listed_where_they_belong(shapes):
    document = lxml.html.fromstring((shapes["odd"].site / "announcements/index.html").read_bytes())
    upcoming = document.xpath("string(//section[@aria-labelledby='upcoming'])")
    past = document.xpath("string(//section[@aria-labelledby='past'])")
    # An activity with no end stays upcoming until the end of its day, whatever the time now.
    for name in ("today", "far"):
        assert f"活动 {name}" in upcoming and f"活动 {name}" not in past, name
    for name in ("past", "spring"):
        assert f"活动 {name}" in past and f"活动 {name}" not in upcoming, name


# --- Search and offline in Chromium --------------------------------------------------------------

def test_search_on_a_hub_with_nothing_published_says_so(shapes, phone, serve_dir):
    url = serve_dir(shapes["config-only"].site)
    phone.goto(url + "search/?q=" + quote("党课"))
    assert "没有可以搜索的内容" in phone.locator("main").inner_text()
    assert phone.locator("input[type=search]").count() == 0 and phone.locator(".kite-results li").count() == 0


def test_search_finds_the_one_item_of_a_hub_in_another_language(shapes, phone, serve_dir):
    url = serve_dir(shapes["one-of-each"].site)
    phone.goto(url + "search/?q=" + quote("唯一"))
    results = phone.locator("#kite-search-results li")
    wait_for(lambda: results.count() >= 1, what="search results")
    assert "唯一一课" in phone.locator("#kite-search-results").inner_text()


@pytest.fixture(scope="module", params=["hub", "学习"])
def subpath_site(request, tmp_path_factory, serve_dir):
    """A hub built for and served at ``/hub`` or ``/学习`` (site_url without its trailing slash)."""
    root = tmp_path_factory.mktemp("subpath")
    url = serve_dir(root) + quote(request.param)
    hub = new_hub(root / "source", MINIMAL.format(url=url))
    hub.lesson("first", "title: 第一课\ndate: 2026-01-01\nseries: 系列", body="第一课的正文。\n")
    hub.lesson("second", "title: 第二课\ndate: 2026-01-02\nseries: 系列", body="第二课的正文。\n")
    result = run_build(hub.config, root / request.param)
    assert result.returncode == 0, result.stderr
    return url + "/"


def test_offline_under_a_sub_path_keeps_visited_and_saved_pages_and_shows_the_offline_page(browser, subpath_site):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        page.goto(subpath_site + "lessons/first/")
        controlled(page)
        assert page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)") == subpath_site
        # The worker keeps the page that registered it once it has taken over.
        wait_for(lambda: "第一课的正文" in kept_text(page, subpath_site + "lessons/first/"), what="the first page to be kept")
        context.set_offline(True)
        page.reload()
        assert "第一课的正文" in page.locator("main").inner_text()
        page.goto(subpath_site + "lessons/second/")
        assert "离线" in page.locator("main").inner_text()
        links = page.eval_on_selector_all("main a[href]", "links => links.map(a => a.href)")
        assert links and all(link.startswith(subpath_site) for link in links), links
        assert page.locator(".md-header").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(183, 28, 28)"
        # Saving the series (of two) online makes the lesson never opened readable offline.
        context.set_offline(False)
        page.goto(subpath_site + "lessons/series/" + quote("系列") + "/")
        page.locator("[data-kite-offline=save]").get_by_role("button", name="保存离线阅读").click()
        page.wait_for_function("document.querySelector('[data-kite-offline=save] .kite-offline__status')"
                               ".textContent.startsWith('已保存 2/2')", timeout=30_000)
        context.set_offline(True)
        page.goto(subpath_site + "lessons/second/")
        assert "第二课的正文" in page.locator("main").inner_text()
    finally:
        context.close()


def test_checkin_forms_follow_each_items_attendance(shapes):
    def form(shape: Shape, path: str):
        found = lxml.html.fromstring((shape.site / path).read_bytes()).xpath("//form[@method='post']")
        return found[0] if found else None

    odd = shapes["odd"]
    for name, code in (("spring", True), ("newyear", True), ("midnight", False)):
        checkin = form(odd, f"announcements/{name}/index.html")
        assert checkin.get("action") == "https://example.org/checkin/checkin"
        assert checkin.xpath("string(.//input[@name='session']/@value)") == f"announcements/{name}"
        assert bool(checkin.xpath(".//input[@name='code']")) == code, name
        assert checkin.xpath(".//select[@name='branch']//option/@value")[-3:] == ["鼓韵堂党支部", "栖息栈党支部", "单独支部"]
    assert form(odd, "announcements/past/index.html") is None
    assert form(odd, "lessons/long/index.html").xpath("string(.//input[@name='session']/@value)") == "lessons/long"
    assert form(odd, "lessons/big/index.html") is None


def test_an_all_day_activity_is_an_editors_error_not_a_traceback(tmp_path):
    # `starts` is a time (check-in windows and 准时/迟到 count from it); a bare date is refused
    # in the contract's form, and nothing is written.
    hub = new_hub(tmp_path / "hub", MINIMAL.format(url="https://example.org/hub/"))
    hub.announcement("allday", "title: 活动 全天\ndate: 2026-01-01\nstarts: 2026-03-08")
    result = run_build(hub.config, tmp_path / "site")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("content/announcements/allday.md:4: starts: "), result.stderr
    assert not (tmp_path / "site").exists()


def test_the_sitemap_lists_every_page_once_on_the_site_url(shape):
    from lxml import etree

    locations = [loc.text for loc in etree.fromstring((shape.site / "sitemap.xml").read_bytes()).iter(
        "{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert all(loc.startswith(shape.base) for loc in locations)
    listed = sorted(unquote(loc[len(shape.base):]) + "index.html" for loc in locations)
    pages = sorted(path.relative_to(shape.site).as_posix() for path in shape.site.rglob("index.html"))
    assert listed == pages
