"""The activity calendar: a pure function from announcements to RFC 5545 text (icalendar)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Sequence
from urllib.parse import urlsplit

from icalendar import Calendar, Event, Timezone

from .config import SiteConfig
from .feeds import absolute, excerpt
from .models import Announcement

REFRESH = timedelta(hours=6)  # how often subscribed phones should fetch the calendar again


def webcal_url(config: SiteConfig) -> str:
    """The calendar as a subscription link phones open in their calendar app."""
    url = absolute(config, "announcements/calendar.ics")
    return "webcal://" + url.split("://", 1)[1]


def event_uid(config: SiteConfig, item: Announcement) -> str:
    # Stable across builds and edits: only the slug and the site's host go in.
    return f"{item.session}@{urlsplit(config.site_url).hostname}"


def _local(moment: datetime, zone: tzinfo) -> datetime:
    """``moment`` on the hub's clock, or in UTC where that clock shows its time twice.

    RFC 5545 reads a repeated wall time (the hour when clocks fall back) as its first
    occurrence; an activity in the second one is written in UTC, which says exactly when.
    """
    local = moment.astimezone(zone)
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        return moment.astimezone(timezone.utc)
    return local


def _event(config: SiteConfig, item: Announcement, zone: tzinfo) -> Event:
    event = Event()
    event.add("uid", event_uid(config, item))
    # DTSTAMP from the content, not the clock, so rebuilding changes nothing.
    event.add("dtstamp", item.date.astimezone(timezone.utc))
    event.add("dtstart", _local(item.starts, zone))
    if item.ends:
        event.add("dtend", _local(item.ends, zone))
    event.add("summary", item.title)
    page = absolute(config, item.url_path)
    event.add("url", page)
    if item.location:
        event.add("location", item.location)
    elif item.online_url:
        event.add("location", "线上：" + item.online_url)
    lines = [excerpt(item, 400)]
    if item.online_url:
        lines.append(f"线上活动室：{item.online_url}")
    if item.organizer:
        lines.append(f"主办：{item.organizer}")
    lines.append(f"详情{'与签到' if item.attendance else ''}：{page}")
    event.add("description", "\n".join(lines))
    event.add("status", "CONFIRMED")
    return event


@lru_cache(maxsize=8)
def _timezone(tzid: str, first: date, last: date) -> Timezone:
    # Generating a VTIMEZONE walks every transition; one per build is plenty.
    return Timezone.from_tzid(tzid, first_date=first, last_date=last)


def _years(items: Sequence[Announcement]) -> tuple[date, date]:
    """The span a VTIMEZONE must cover: a year either side of the activities."""
    first = min((a.starts.date() for a in items), default=date(2000, 1, 1))
    last = max((a.starts.date() for a in items), default=date(2000, 1, 1))
    return date(first.year - 1, 1, 1), date(last.year + 2, 1, 1)


def _calendar(config: SiteConfig, name: str, items: Sequence[Announcement], span: tuple[date, date] | None) -> Calendar:
    """With a ``span``, times are local with a VTIMEZONE; without, in UTC (which needs none)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Kite//风筝 学习站点//ZH")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", config.timezone)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT6H")  # the older name of the same hint, read by Outlook
    if span:
        calendar.add_component(_timezone(config.timezone, *span))
    zone = config.zone if span else timezone.utc
    for item in sorted(items, key=lambda a: (a.starts, a.slug)):
        calendar.add_component(_event(config, item, zone))
    return calendar


def activity_calendar(config: SiteConfig, announcements: Sequence[Announcement]) -> str:
    """Every published announcement, one VEVENT each."""
    return _calendar(config, f"{config.site_name} 活动日历", announcements, _years(announcements)).to_ical().decode("utf-8")


def event_calendar(config: SiteConfig, item: Announcement) -> str:
    """One announcement alone, for "add this activity to my calendar".

    In UTC: a phone shows it in its own time, and the file needs no VTIMEZONE
    (which would make every one of these small files several times larger and slower).
    """
    return _calendar(config, item.title, [item], None).to_ical().decode("utf-8")
