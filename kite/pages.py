"""Views: which pages the site has, and what each page's template receives.

Pure functions from the loaded hub to page specifications and the data every template
shares; the engine renders them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from typing import Any, Callable, Iterable, Sequence
from urllib.parse import quote

from . import forms, ics
from .config import SiteConfig
from .fields import slug_from_text, web_address
from .formatting import Dates
from .models import Content, Hub, Lesson

PER_PAGE = 20
HOME_LESSONS = 6
HOME_EPISODES = 3
HOME_ANNOUNCEMENTS = 3

SECTIONS = {
    "lessons": "党课开讲啦",
    "episodes": "乡音e课堂",
    "announcements": "活动通知",
}


@dataclass(frozen=True)
class Alternate:
    """A feed or calendar a page advertises with ``<link rel="alternate">``."""

    href: str  # site-relative
    type: str
    title: str


@dataclass(frozen=True)
class PageSpec:
    path: str  # source path the engine gives the page: 'lessons/slug.md' -> lessons/slug/index.html
    template: str
    title: str  # plain text; templates escape it
    markdown: str = ""
    description: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    alternates: tuple[Alternate, ...] = ()
    search: bool = False  # whether the page's article is indexed for search
    source: str | None = None  # the editor's file this page is made from, for warnings
    draft: bool = False  # shown only in the preview; never in the sitemap

    @property
    def url(self) -> str:
        """Site-relative URL path (not percent-encoded): 'lessons/slug.md' -> 'lessons/slug/'."""
        if self.path == "index.md":
            return ""
        return self.path.removesuffix("index.md").removesuffix(".md").rstrip("/") + "/"


@dataclass(frozen=True)
class Pager:
    """Where a page sits in its list (``list_pages``), as the page shows it: only what changes the
    page, so that a later page stays as it was when the list grows by a run."""

    first: str  # site-relative URL path of the list's first (newest) page
    previous: str | None  # the next newer page
    next: str | None  # the next older page
    span: str = ""  # the days its items are from: 2021年2月19日—3月5日
    paths: tuple[str, ...] = ()  # every page of the list, first first, where the page shows them (a series')
    number: int = field(default=1, compare=False)  # its place from the first page (1), for the preview's order


@dataclass(frozen=True)
class Term:
    """A series or tag, with the folder name of its page and its lessons."""

    name: str
    path: str  # site-relative folder, as written (for the engine)
    lessons: tuple[Lesson, ...] = field(repr=False, compare=False)
    count: int = 0  # compared in place of the lessons, so a page that shows the count follows it

    @property
    def url_path(self) -> str:
        return quote(self.path) + "/"


LESSON_FEEDS = (
    Alternate("lessons/rss.xml", "application/rss+xml", "党课开讲啦（RSS）"),
    Alternate("lessons/atom.xml", "application/atom+xml", "党课开讲啦（Atom）"),
)
EPISODE_FEEDS = (Alternate("episodes/podcast.xml", "application/rss+xml", "乡音e课堂（播客）"),)
ANNOUNCEMENT_FEEDS = (
    Alternate("announcements/rss.xml", "application/rss+xml", "活动通知（RSS）"),
    Alternate("announcements/atom.xml", "application/atom+xml", "活动通知（Atom）"),
    Alternate("announcements/calendar.ics", "text/calendar", "活动日历"),
)


@dataclass(frozen=True)
class TemplateData:
    """What every template may use besides its page's own data."""

    globals: dict[str, Any]
    filters: dict[str, Callable[..., Any]]
    tests: dict[str, Callable[..., Any]]
    media: tuple[str, ...] = ()  # files under media/ that pages may link to


def template_data(hub: Hub, media: Iterable[str] = ()) -> TemplateData:
    """Globals: ``site`` (the config), ``webcal_url``, ``checkin_action`` (where check-in
    forms post, or ''), ``zone_label`` (北京时间, 迪拜时间, …); date filters in the hub's zone; ``web_address`` for editors' https:// addresses."""
    dates = Dates(hub.config.zone)
    endpoint = hub.config.attendance.endpoint if hub.config.attendance else ""
    return TemplateData(
        globals={
            "site": hub.config,
            "webcal_url": ics.webcal_url(hub.config),
            "checkin_action": f"{endpoint}/checkin" if endpoint else "",
            "zone_label": dates.label,
        },
        filters={**dates.filters(), "web_address": web_address},
        tests=dates.tests(),
        media=tuple(sorted(set(media))),
    )


def site_pages(hub: Hub, now: datetime) -> list[PageSpec]:
    series = terms(hub.lessons, lambda lesson: [lesson.series] if lesson.series else [], "lessons/series")
    tags = terms(hub.lessons, lambda lesson: lesson.tags, "lessons/tags")
    paths = {"series": {t.name: t.url_path for t in series}, "tags": {t.name: t.url_path for t in tags}}
    upcoming, past = split_by_time(hub.announcements, now, hub.config.zone)

    pages = [home_page(hub, upcoming), search_page(hub)]
    dates = Dates(hub.config.zone)
    # Later pages of the lesson lists show no series or tag chips: their counts change with every
    # lesson, and every later page would with them.
    pages += list_pages("lessons", SECTIONS["lessons"], hub.lessons, "lesson_list.html", LESSON_FEEDS,
                        {"series_terms": series, "tag_terms": tags}, dates)
    for kind, terms_of_kind, label in (("series", series, "系列"), ("tags", tags, "标签")):
        for term in terms_of_kind:
            pages += list_pages(term.path, f"{label}：{term.name}", term.lessons, "lesson_list.html", LESSON_FEEDS,
                                {"series_terms": series, "tag_terms": tags, "term": term, "term_kind": kind}, dates,
                                {"term_kind": kind}, every_path=kind == "series")
    neighbours = series_neighbours(series)
    alone = {"earlier": None, "later": None}
    pages += [item_page(lesson, "lesson.html", links=own_links(lesson, paths), neighbours=neighbours.get(id(lesson), alone))
              for lesson in hub.lessons]
    pages += list_pages("episodes", SECTIONS["episodes"], hub.episodes, "episode_list.html", EPISODE_FEEDS, {}, dates)
    pages += [item_page(episode, "episode.html") for episode in hub.episodes]
    pages += [PageSpec("announcements/index.md", "announcement_list.html", SECTIONS["announcements"],
                       context={"upcoming": upcoming, "past": past}, alternates=ANNOUNCEMENT_FEEDS)]
    pages += [item_page(item, "announcement.html", window=item.checkin_window(hub.config) if item.attendance else None)
              for item in hub.announcements]
    pages += submission_pages(hub.config)
    return pages


def home_page(hub: Hub, upcoming: Sequence[Content]) -> PageSpec:
    context = {
        "lessons": hub.lessons[:HOME_LESSONS],
        "episodes": hub.episodes[:HOME_EPISODES],
        "upcoming": list(upcoming)[:HOME_ANNOUNCEMENTS],
    }
    return PageSpec("index.md", "home.html", "", description=hub.config.site_description, context=context,
                    alternates=LESSON_FEEDS + EPISODE_FEEDS + ANNOUNCEMENT_FEEDS)


def search_page(hub: Hub) -> PageSpec:
    # With nothing published, Pagefind finds no marked article and indexes the lists and the home
    # page instead; the page then says there is nothing to search rather than offer those.
    searchable = bool(hub.lessons or hub.episodes or hub.announcements)
    return PageSpec("search/index.md", "search.html", "搜索", context={"searchable": searchable})


def submission_pages(config: SiteConfig) -> list[PageSpec]:
    """每季一汇报 and 意见建议: forms posting to the endpoint, so only where there is one."""
    if config.attendance is None:
        return []
    endpoint = config.attendance.endpoint
    return [
        PageSpec("report/index.md", "report.html", "每季一汇报", description="每个季度向所在支部汇报一次学习、工作和思想情况。",
                 context={"action": f"{endpoint}/report", "text": forms.REPORT_TEXT, "name_limit": forms.NAME_LIMIT}),
        PageSpec("suggest/index.md", "suggest.html", "意见建议",
                 description="对项目招引、家乡民生、支部建设的意见建议，凭查询号查看办理情况和答复。",
                 context={"action": f"{endpoint}/suggestion", "categories": forms.CATEGORIES, "text": forms.SUGGESTION_TEXT,
                          "name_limit": forms.NAME_LIMIT, "contact_limit": forms.CONTACT_LIMIT}),
    ]


def own_links(lesson: Lesson, paths: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The pages of the lesson's own series and tags, the only ones its page links to.

    Only these: a lesson page holding every series and tag would change with each new one, or
    with a new lesson that reorders them, and the preview would render every lesson again.
    """
    return {"series": {lesson.series: paths["series"][lesson.series]} if lesson.series else {},
            "tags": {tag: paths["tags"][tag] for tag in lesson.tags}}


def item_page(item: Content, template: str, **context: Any) -> PageSpec:
    return PageSpec(f"{item.section}/{item.slug}.md", template, item.title, markdown=item.body,
                    description=item.summary, context={item.kind: item, "item": item, **context}, search=True,
                    source=item.source, draft=item.draft)


def list_pages(folder: str, title: str, items: Sequence[Content], template: str, alternates: tuple[Alternate, ...],
               context: dict[str, Any], dates: Dates, later: dict[str, Any] | None = None,
               every_path: bool = False) -> list[PageSpec]:
    """A list (newest first) split into pages that stay put as it grows.

    The first page, ``folder/``, holds the newest ``PER_PAGE`` to ``2 * PER_PAGE - 1`` items. Each
    later page, ``folder/page/N/``, holds the Nth run of ``PER_PAGE`` counted from the oldest item,
    and is titled by the days its items are from. So a new item changes the first page alone (one in
    ``PER_PAGE`` also moves a run off it, onto a new later page), and a later page keeps its address
    and its items for links, caches and lessons saved offline. Pages numbered from the newest, as
    before, all moved by one with each new item: 2,255 pages to render again for one lesson on a hub
    of 10,000, in the preview as in the build.

    The first page gets ``context``; later pages get ``later`` (default: nothing more), which should
    hold only what does not change as the list grows, or every later page would follow it again.
    ``every_path``: each page's pager lists all the list's pages (a series' 保存离线阅读 reads them).
    """
    runs = max(0, len(items) // PER_PAGE - 1)  # later pages
    first = len(items) - runs * PER_PAGE
    chunks = [items[:first]] + [items[first + k * PER_PAGE : first + (k + 1) * PER_PAGE] for k in range(runs)]
    numbers = [runs - k for k in range(runs)]  # from the oldest: the last chunk is run 1
    paths = (quote(f"{folder}/"),) + tuple(quote(f"{folder}/page/{n}/") for n in numbers)
    specs = []
    for index, chunk in enumerate(chunks):
        span = dates.span(chunk[0].date, chunk[-1].date) if chunk else ""
        pager = Pager(paths[0], paths[index - 1] if index else None, paths[index + 1] if index + 1 < len(paths) else None,
                      span, paths if every_path else (), index + 1)
        if index == 0:
            specs.append(PageSpec(f"{folder}/index.md", template, title, alternates=alternates,
                                  context={**context, "items": chunk, "pager": pager, "list_title": title}))
        else:
            specs.append(PageSpec(f"{folder}/page/{numbers[index - 1]}.md", template, f"{title}（{span}）",
                                  alternates=alternates,
                                  context={**(later or {}), "items": chunk, "pager": pager, "list_title": title}))
    return specs


def terms(lessons: Sequence[Lesson], names_of, folder: str) -> list[Term]:
    """Group lessons by series or tag, keeping each group newest first."""
    groups: dict[str, list[Lesson]] = {}
    for lesson in lessons:
        for name in names_of(lesson):
            groups.setdefault(name, []).append(lesson)
    used: set[str] = set()
    found = []
    for name in sorted(groups, key=lambda n: (-len(groups[n]), n)):
        segment = path_segment(name)
        while segment.casefold() in used:
            segment = f"{segment}-{hashlib.sha1(name.encode()).hexdigest()[:6]}"
        used.add(segment.casefold())
        found.append(Term(name, f"{folder}/{segment}", tuple(groups[name]), len(groups[name])))
    return found


def path_segment(name: str) -> str:
    """A folder name for a series or tag: its words, without anything a URL would misread."""
    return slug_from_text(name) or "t-" + hashlib.sha1(name.encode()).hexdigest()[:8]


def series_neighbours(series: Sequence[Term]) -> dict[int, dict[str, Lesson | None]]:
    """For each lesson (by id), the lessons before and after it in its series."""
    found: dict[int, dict[str, Lesson | None]] = {}
    for term in series:
        ordered = term.lessons  # newest first
        for index, lesson in enumerate(ordered):
            found[id(lesson)] = {
                "earlier": ordered[index + 1] if index + 1 < len(ordered) else None,
                "later": ordered[index - 1] if index > 0 else None,
            }
    return found


def split_by_time(announcements: Sequence[Content], now: datetime, zone: tzinfo | None = None) -> tuple[list, list]:
    """Upcoming activities soonest first, and past ones most recent first.

    An activity without an end time stays upcoming until the end of its day.
    """
    upcoming = sorted((a for a in announcements if _finish(a, zone) >= now), key=lambda a: a.starts)
    past = sorted((a for a in announcements if _finish(a, zone) < now), key=lambda a: a.starts, reverse=True)
    return upcoming, past


def next_past(announcements: Sequence[Content], now: datetime, zone: tzinfo | None = None) -> datetime | None:
    """When the next upcoming activity becomes past (``split_by_time``), if any is upcoming."""
    return min((moment for moment in (_finish(item, zone) for item in announcements) if moment >= now), default=None)


def _finish(item, zone: tzinfo | None) -> datetime:
    if item.ends:
        return item.ends
    local = item.starts.astimezone(zone or item.starts.tzinfo)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)
