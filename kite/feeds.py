"""Feeds: pure functions from models to RSS 2.0, Atom 1.0 and podcast XML (with feedgen).

Every date comes from the content, never from the clock, so two builds of the same
content are byte-identical.  feedgen 1.0 is unmaintained; the comments marked
"feedgen:" say which of its defects each line works around.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Sequence
from urllib.parse import quote, urljoin

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .config import Podcast, SiteConfig
from .fields import web_address
from .formatting import Dates
from .models import Announcement, Content, Episode, Lesson

FEED_ITEMS = 50  # lessons and announcements: readers want what is new
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def absolute(config: SiteConfig, path: str) -> str:
    """An absolute URL on the site; ``path`` is site-relative and already percent-encoded."""
    return urljoin(config.site_url, path)


def podcast_guid(feed_url: str) -> str:
    """Podcasting 2.0 ``podcast:guid``: UUIDv5 of the feed URL without scheme or trailing slash."""
    bare = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", feed_url).rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def excerpt(item: Content, limit: int = 160) -> str:
    """The summary, or the start of the body as plain text."""
    if item.summary:
        return item.summary
    text = re.sub(r"<[^>]+>|[#>*_`|\[\]]|\(http[^)]*\)", "", item.body)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit] + ("…" if len(text) > limit else "")


def feed_language(language: str) -> str:
    """RSS wants a region where Chinese is meant: simplified Chinese is zh-cn."""
    return {"zh": "zh-cn", "zh-hans": "zh-cn", "zh-hant": "zh-tw"}.get(language.lower(), language.lower())


def _newest(items: Sequence[Content]) -> datetime:
    return max((item.date for item in items), default=EPOCH)


def _feed(config: SiteConfig, title: str, description: str, page: str, feed: str, updated: datetime) -> FeedGenerator:
    generator = FeedGenerator()
    generator.id(absolute(config, page))
    generator.title(title)
    generator.description(description)
    generator.language(feed_language(config.language))
    generator.generator("Kite")
    generator.docs("")  # feedgen: otherwise a <docs> link to rssboard.org in every feed
    # Atom (RFC 4287 4.1.1) wants an author for the feed unless every entry has one, and a
    # lesson without a speaker has none: the site stands for it.  RSS leaves a name-only author out.
    generator.author(name=config.site_name)
    # feedgen: RSS <link> is whichever link was added last, so the page goes last.
    generator.link(href=absolute(config, feed), rel="self")
    generator.link(href=absolute(config, page), rel="alternate")
    # feedgen: lastBuildDate and Atom updated default to now; the content decides instead.
    generator.updated(updated)
    return generator


def _entry(generator: FeedGenerator, config: SiteConfig, item: Content, description: str):
    # feedgen: entries are prepended unless order='append'; items arrive newest first.
    entry = generator.add_entry(order="append")
    url = absolute(config, item.url_path)
    entry.id(url)
    entry.guid(url, permalink=True)
    entry.title(item.title)
    entry.link(href=url)
    entry.published(item.date)
    entry.updated(item.date)
    entry.description(description)
    return entry


def lesson_feeds(config: SiteConfig, lessons: Sequence[Lesson]) -> tuple[str, str]:
    """``(rss, atom)`` for 党课开讲啦."""
    items = list(lessons)[:FEED_ITEMS]
    generator = _feed(config, f"{config.site_name} · 党课开讲啦", "党课开讲啦：最新的网上党课", "lessons/",
                      "lessons/rss.xml", _newest(items))
    generator.load_extension("dc")
    for lesson in items:
        entry = _entry(generator, config, lesson, excerpt(lesson))
        if lesson.speaker:
            # RSS <author> must be an e-mail address; readers take dc:creator for a name.
            entry.author(name=lesson.speaker)
            entry.dc.dc_creator(lesson.speaker)
        for tag in ([lesson.series] if lesson.series else []) + lesson.tags:
            entry.category(term=tag)
    rss = generator.rss_str(pretty=True).decode("utf-8")
    generator.link(href=absolute(config, "lessons/atom.xml"), rel="self", replace=True)
    generator.link(href=absolute(config, "lessons/"), rel="alternate")
    return rss, generator.atom_str(pretty=True).decode("utf-8")


def announcement_text(item: Announcement, dates: Dates) -> str:
    parts = [f"时间：{dates.day_and_time(item.starts)}（{dates.label}）"]
    if item.location:
        parts.append(f"地点：{item.location}")
    if item.online_url:
        parts.append(f"线上：{item.online_url}")
    if item.organizer:
        parts.append(f"主办：{item.organizer}")
    parts.append(excerpt(item))
    return "\n".join(parts)


def announcement_feeds(config: SiteConfig, announcements: Sequence[Announcement]) -> tuple[str, str]:
    """``(rss, atom)`` for 活动通知, newest announcement first."""
    items = sorted(announcements, key=lambda a: (a.date, a.slug), reverse=True)[:FEED_ITEMS]
    generator = _feed(config, f"{config.site_name} · 活动通知", "主题党日、季度汇报、年度评议和红雁e站夜学的通知",
                      "announcements/", "announcements/rss.xml", _newest(items))
    dates = Dates(config.zone)
    for item in items:
        entry = _entry(generator, config, item, announcement_text(item, dates))
        if item.organizer:
            entry.author(name=item.organizer)
    rss = generator.rss_str(pretty=True).decode("utf-8")
    generator.link(href=absolute(config, "announcements/atom.xml"), rel="self", replace=True)
    generator.link(href=absolute(config, "announcements/"), rel="alternate")
    return rss, generator.atom_str(pretty=True).decode("utf-8")


class _PodcastChannel(BaseExtension):
    """Channel tags feedgen's podcast extension gets wrong or lacks.

    feedgen: itunes:explicit accepts only yes/no/clean, while Apple and Podcasting 2.0
    read true/false; and an itunes:image URL not ending in .jpg/.png is dropped silently.
    """

    def __init__(self) -> None:
        self.explicit = False
        self.image = ""
        self.guid = ""
        self.owner_name = ""  # written here only when there is no owner e-mail for feedgen

    def extend_ns(self):
        return {"podcast": PODCAST_NS}

    def extend_rss(self, feed):
        channel = feed[0]
        explicit = etree.SubElement(channel, f"{{{ITUNES_NS}}}explicit")
        explicit.text = "true" if self.explicit else "false"
        if self.image:
            etree.SubElement(channel, f"{{{ITUNES_NS}}}image", href=self.image)
        if self.owner_name:
            owner = etree.SubElement(channel, f"{{{ITUNES_NS}}}owner")
            etree.SubElement(owner, f"{{{ITUNES_NS}}}name").text = self.owner_name
        etree.SubElement(channel, f"{{{PODCAST_NS}}}guid").text = self.guid
        etree.SubElement(channel, f"{{{PODCAST_NS}}}locked").text = "no"
        return feed


class _PodcastEntry(BaseExtension):
    pass


def clock_duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02}:{rest // 60:02}:{rest % 60:02}"


def podcast_feed(config: SiteConfig, episodes: Sequence[Episode], cover: str | None = None) -> str:
    """乡音e课堂 as a podcast: RSS 2.0 with iTunes tags and a Podcasting 2.0 guid.

    ``cover`` is the usable cover image: an https:// address or a name under content/media/.
    """
    podcast = config.podcast
    title = (podcast.title if podcast and podcast.title else f"{config.site_name} · 乡音e课堂")
    description = (podcast.description if podcast and podcast.description else "乡音e课堂：用家乡话讲的短音频节目")
    feed_url = absolute(config, "episodes/podcast.xml")
    generator = _feed(config, title, description, "episodes/", "episodes/podcast.xml", _newest(episodes))
    generator.load_extension("podcast")
    generator.register_extension("kite_podcast", _PodcastChannel, _PodcastEntry)
    channel = generator.kite_podcast
    channel.guid = podcast_guid(feed_url)
    channel.explicit = bool(podcast and podcast.explicit)
    if podcast:
        generator.podcast.itunes_author(podcast.author)
        if podcast.owner_email:
            generator.podcast.itunes_owner(name=podcast.author, email=podcast.owner_email)
        else:
            # feedgen: itunes_owner refuses a name without an e-mail address.
            channel.owner_name = podcast.author
        generator.podcast.itunes_category(podcast.category)
        if cover:
            image = cover if cover.startswith("https://") else absolute(config, "media/" + quote(cover))
            channel.image = image
            generator.image(url=image, title=title, link=absolute(config, "episodes/"))
    else:
        # Podcast apps file a show without a category under nothing and show no author: the
        # site stands in, in the category the config's podcast block defaults to.
        generator.podcast.itunes_author(config.site_name)
        generator.podcast.itunes_category(Podcast.model_fields["category"].default)
    generator.podcast.itunes_type("episodic")
    generator.podcast.itunes_summary(description)
    for episode in episodes:
        media = episode.media
        entry = _entry(generator, config, episode, excerpt(episode))
        href = web_address(media.url) if media.url else absolute(config, media.site_path)
        # feedgen: a missing length is written as "None"; 0 is the convention for unknown.
        entry.enclosure(href, str(media.size if media.size is not None else 0), media.mime)
        if episode.duration:
            entry.podcast.itunes_duration(clock_duration(episode.duration))
        if episode.speaker:
            entry.podcast.itunes_author(episode.speaker)
        entry.podcast.itunes_summary(excerpt(episode))
    return generator.rss_str(pretty=True).decode("utf-8")


def sitemap(config: SiteConfig, paths: Sequence[str]) -> str:
    """sitemap.xml for search engines: every page's absolute URL (``paths`` are percent-encoded)."""
    root = etree.Element("urlset", xmlns="http://www.sitemaps.org/schemas/sitemap/0.9")
    for path in sorted(paths):
        etree.SubElement(etree.SubElement(root, "url"), "loc").text = absolute(config, path)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode("utf-8")
