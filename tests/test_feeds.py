"""Feeds, podcast and calendar: parsed back the way readers, podcast apps and calendars do."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import feedparser
import icalendar
import pytest

from kite.build import build

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
SITE = "https://example.org/hub/"


@pytest.fixture
def full_hub(hub):
    hub.lesson("抓牢引线", """
        title: 抓牢引线 <b>放</b> 风筝 & 家乡
        date: 2026-03-01
        speaker: 王建军
        series: 风筝精神
        tags: [流动党员]
        summary: 摘要 <i>不是标签</i> & 符号
    """)
    hub.lesson("old", "title: 较早的一课\ndate: 2025-12-01")
    hub.lesson("draft", "title: 草稿党课\ndate: 2026-05-01\ndraft: true")
    hub.media("乡音一.mp3", b"ID3" + bytes(12_345))
    hub.media("video.mp4", bytes(54_321))
    hub.episode("乡音第一期", "title: 黄梅天 & 安全\ndate: 2026-06-01\nmedia: 乡音一.mp3\nduration: \"05:40\"\nspeaker: 顾长林")
    hub.episode("video", "title: 视频一期\ndate: 2026-05-01\nmedia: video.mp4\nduration: 754")
    hub.episode("remote", "title: 外链一期\ndate: 2026-04-01\nmedia: https://media.example.org/x.m4a")
    hub.episode("draft-ep", "title: 草稿节目\ndate: 2026-07-01\ndraft: true")
    hub.announcement("夜学", """
        title: 红雁e站夜学 <第一期>
        date: 2026-11-20
        starts: 2026-12-05 19:30
        ends: 2026-12-05 21:00
        location: 红雁e站
        online_url: https://example.org/room/1
        organizer: 驻宁流动党员联合党委
        attendance: true
    """)
    hub.announcement("past", "title: 十月主题党日\ndate: 2026-10-01\nstarts: 2026-10-18T14:00:00+08:00")
    hub.announcement("draft-an", "title: 草稿活动\ndate: 2026-11-01\nstarts: 2027-01-01 09:00\ndraft: true")
    return hub


@pytest.fixture
def site(full_hub, tmp_path) -> Path:
    out = tmp_path / "site"
    build(full_hub.config, out, now=NOW)
    return out


def parse(site: Path, path: str):
    parsed = feedparser.parse((site / path).read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def utc(struct) -> datetime:
    return datetime.fromtimestamp(time.mktime(struct) - time.timezone, timezone.utc)


def test_lessons_rss(site):
    feed = parse(site, "lessons/rss.xml")
    assert feed.version == "rss20"
    assert feed.feed.link == SITE + "lessons/"
    assert feed.feed.language == "zh-cn"
    assert [e.title for e in feed.entries] == ["抓牢引线 <b>放</b> 风筝 & 家乡", "较早的一课"]
    first = feed.entries[0]
    assert first.link == SITE + "lessons/%E6%8A%93%E7%89%A2%E5%BC%95%E7%BA%BF/"
    assert first.id == first.link
    assert utc(first.published_parsed) == datetime(2026, 2, 28, 16, 0, tzinfo=timezone.utc)
    assert first.author == "王建军"
    assert {t.term for t in first.tags} == {"风筝精神", "流动党员"}
    # The channel's date is the newest lesson's, not the time of the build.
    assert utc(feed.feed.updated_parsed) == datetime(2026, 2, 28, 16, 0, tzinfo=timezone.utc)


def test_markup_in_titles_is_escaped_exactly_once_in_xml(site):
    xml = (site / "lessons/rss.xml").read_text(encoding="utf-8")
    assert "<title>抓牢引线 &lt;b&gt;放&lt;/b&gt; 风筝 &amp; 家乡</title>" in xml
    assert "&amp;lt;" not in xml and "&amp;amp;" not in xml
    atom = parse(site, "lessons/atom.xml")
    assert atom.entries[0].title == "抓牢引线 <b>放</b> 风筝 & 家乡"
    assert atom.entries[0].summary == "摘要 <i>不是标签</i> & 符号"


def test_lessons_atom(site):
    feed = parse(site, "lessons/atom.xml")
    assert feed.version == "atom10"
    links = {link.rel: link.href for link in feed.feed.links}
    assert links == {"self": SITE + "lessons/atom.xml", "alternate": SITE + "lessons/"}
    assert [e.title for e in feed.entries][1] == "较早的一课"
    assert utc(feed.entries[1].updated_parsed) == datetime(2025, 11, 30, 16, 0, tzinfo=timezone.utc)


def test_rss_self_link(site):
    xml = (site / "lessons/rss.xml").read_text(encoding="utf-8")
    assert f'<atom:link href="{SITE}lessons/rss.xml" rel="self"/>' in xml
    assert f"<link>{SITE}lessons/</link>" in xml


def test_podcast_channel(site):
    feed = parse(site, "episodes/podcast.xml")
    channel = feed.feed
    assert channel.title == "测试云课堂 · 乡音e课堂"
    assert channel.link == SITE + "episodes/"
    assert channel.language == "zh-cn"
    assert channel.author == "海安市委组织部"
    assert channel.image.href == SITE + "media/cover.png"
    assert channel.tags[0].term == "Education"
    xml = (site / "episodes/podcast.xml").read_text(encoding="utf-8")
    assert "<itunes:explicit>false</itunes:explicit>" in xml
    assert f'<itunes:image href="{SITE}media/cover.png"/>' in xml
    assert "<itunes:owner>" in xml and "<itunes:name>海安市委组织部</itunes:name>" in xml
    expected_guid = uuid.uuid5(uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), "example.org/hub/episodes/podcast.xml")
    assert channel.podcast_guid == str(expected_guid)


def test_podcast_episodes_have_real_enclosures(site, full_hub):
    feed = parse(site, "episodes/podcast.xml")
    assert [e.title for e in feed.entries] == ["黄梅天 & 安全", "视频一期", "外链一期"]
    audio, video, remote = feed.entries
    (enclosure,) = audio.enclosures
    assert enclosure.href == SITE + "media/%E4%B9%A1%E9%9F%B3%E4%B8%80.mp3"
    assert int(enclosure.length) == (full_hub.root / "content/media/乡音一.mp3").stat().st_size == 12_348
    assert enclosure.type == "audio/mpeg"
    assert (site / "media/乡音一.mp3").stat().st_size == 12_348
    assert audio.itunes_duration == "00:05:40"
    assert audio.id == SITE + "episodes/%E4%B9%A1%E9%9F%B3%E7%AC%AC%E4%B8%80%E6%9C%9F/"
    assert video.enclosures[0].type == "video/mp4" and int(video.enclosures[0].length) == 54_321
    assert video.itunes_duration == "00:12:34"
    assert remote.enclosures[0].href == "https://media.example.org/x.m4a"
    assert remote.enclosures[0].length == "0"
    assert "None" not in (site / "episodes/podcast.xml").read_text(encoding="utf-8")


def test_announcement_feeds(site):
    rss = parse(site, "announcements/rss.xml")
    assert [e.title for e in rss.entries] == ["红雁e站夜学 <第一期>", "十月主题党日"]
    assert "2026年12月5日（星期六）19:30" in rss.entries[0].summary
    atom = parse(site, "announcements/atom.xml")
    assert atom.entries[0].link == SITE + "announcements/%E5%A4%9C%E5%AD%A6/"


def test_drafts_are_in_no_feed_or_calendar(site):
    for path in ["lessons/rss.xml", "lessons/atom.xml", "episodes/podcast.xml", "announcements/rss.xml",
                 "announcements/atom.xml", "announcements/calendar.ics"]:
        text = (site / path).read_text(encoding="utf-8")
        assert "草稿" not in text, path


def events(site: Path, path: str = "announcements/calendar.ics"):
    calendar = icalendar.Calendar.from_ical((site / path).read_bytes())
    return calendar, list(calendar.walk("VEVENT"))


def test_calendar(site):
    calendar, found = events(site)
    assert calendar["X-WR-CALNAME"] == "测试云课堂 活动日历"
    assert calendar["REFRESH-INTERVAL"].to_ical() == b"PT6H"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    assert len(found) == 2
    past, evening = found  # sorted by start
    assert evening["SUMMARY"] == "红雁e站夜学 <第一期>"
    assert evening["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert evening.decoded("DTSTART").astimezone(timezone.utc) == datetime(2026, 12, 5, 11, 30, tzinfo=timezone.utc)
    assert evening.decoded("DTEND").astimezone(timezone.utc) == datetime(2026, 12, 5, 13, 0, tzinfo=timezone.utc)
    assert past.decoded("DTSTART").astimezone(timezone.utc) == datetime(2026, 10, 18, 6, 0, tzinfo=timezone.utc)
    assert "DTEND" not in past
    assert evening["UID"] == "announcements/夜学@example.org"
    assert evening.decoded("DTSTAMP") == datetime(2026, 11, 19, 16, 0, tzinfo=timezone.utc)
    assert evening["URL"] == SITE + "announcements/%E5%A4%9C%E5%AD%A6/"
    assert evening["LOCATION"] == "红雁e站"
    assert "https://example.org/room/1" in evening["DESCRIPTION"]
    assert "驻宁流动党员联合党委" in evening["DESCRIPTION"]
    raw = (site / "announcements/calendar.ics").read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")  # CRLF line ends throughout


def test_each_activity_has_its_own_ics_and_calendar_links(site):
    _, (only,) = events(site, "announcements/夜学/event.ics")
    assert only["UID"] == "announcements/夜学@example.org"
    page = (site / "announcements/夜学/index.html").read_text(encoding="utf-8")
    assert 'href="webcal://example.org/hub/announcements/calendar.ics"' in page
    assert 'href="event.ics" download' in page
    assert "2026年12月5日（星期六）19:30</time> 至 21:00（北京时间）" in page


def test_two_builds_are_byte_identical(full_hub, tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    build(full_hub.config, first, now=NOW)
    build(full_hub.config, second, now=NOW + timedelta(days=40))
    for path in ["lessons/rss.xml", "lessons/atom.xml", "episodes/podcast.xml", "announcements/rss.xml",
                 "announcements/atom.xml", "announcements/calendar.ics", "announcements/夜学/event.ics"]:
        assert (first / path).read_bytes() == (second / path).read_bytes(), path


def test_pages_advertise_their_feeds(site):
    home = (site / "index.html").read_text(encoding="utf-8")
    for kind, href in [("application/rss+xml", "lessons/rss.xml"), ("application/atom+xml", "lessons/atom.xml"),
                       ("application/rss+xml", "episodes/podcast.xml"), ("text/calendar", "announcements/calendar.ics")]:
        assert f'<link rel="alternate" type="{kind}"' in home and f'href="{href}"' in home
    lessons = (site / "lessons/index.html").read_text(encoding="utf-8")
    assert 'type="application/atom+xml" title="党课开讲啦（Atom）" href="atom.xml"' in lessons
    episodes = (site / "episodes/index.html").read_text(encoding="utf-8")
    assert 'type="application/rss+xml" title="乡音e课堂（播客）" href="podcast.xml"' in episodes
    announcements = (site / "announcements/index.html").read_text(encoding="utf-8")
    assert 'type="text/calendar" title="活动日历" href="calendar.ics"' in announcements


def test_episode_page_player_and_download(site):
    page = (site / "episodes/乡音第一期/index.html").read_text(encoding="utf-8")
    assert '<audio controls preload="none" src="../../media/%E4%B9%A1%E9%9F%B3%E4%B8%80.mp3"' in page
    assert "下载音频（12 KB）" in page
    assert "时长 5分40秒" in page and "讲述：顾长林" in page
    video = (site / "episodes/video/index.html").read_text(encoding="utf-8")
    assert '<video controls preload="none" playsinline' in video


def test_announcement_list_splits_upcoming_from_past(site):
    page = (site / "announcements/index.html").read_text(encoding="utf-8")
    upcoming, past = page.split('id="past"')
    assert "红雁e站夜学 &lt;第一期&gt;" in upcoming and "十月主题党日" not in upcoming
    assert "十月主题党日" in past
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "红雁e站夜学 &lt;第一期&gt;" in home.split('id="home-upcoming"')[1].split("</section>")[0]
