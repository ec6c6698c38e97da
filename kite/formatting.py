"""How dates, durations and sizes read on the site and in the endpoint's messages.

Times are shown in the hub's configured time zone and said to be in it: 北京时间 where
the zone is Asia/Shanghai, else the zone's city (迪拜时间) or its UTC offset.  Dates are
formatted with Babel's Chinese calendar data (weekday names and all).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, get_timezone_location

LOCALE = Locale.parse("zh_Hans_CN")
BEIJING_ZONES = {"Asia/Shanghai"}


def zone_label(zone: ZoneInfo) -> str:
    """The words a time is said to be in, e.g. ``北京时间``, ``迪拜时间`` or ``UTC+04:00``."""
    key = zone.key
    if key in BEIJING_ZONES:
        return "北京时间"
    if "/" in key and not key.startswith("Etc/"):
        return get_timezone_location(zone, locale=LOCALE, return_city=True) + "时间"
    # UTC and the Etc/GMT±N zones name no place; their fixed offset says it all.
    return utc_offset(zone.utcoffset(datetime(2000, 1, 1)) or timedelta(0))


def utc_offset(offset: timedelta) -> str:
    minutes = round(offset.total_seconds() / 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02}:{rest:02}"


@dataclass(frozen=True)
class Dates:
    """Dates and times as members read them, in one time zone."""

    zone: ZoneInfo

    @property
    def label(self) -> str:
        return zone_label(self.zone)

    def day(self, moment: datetime) -> str:
        """``2026年3月1日``"""
        return format_datetime(moment, "y年M月d日", tzinfo=self.zone, locale=LOCALE)

    def day_and_time(self, moment: datetime) -> str:
        """``2026年12月5日（星期六）19:30``"""
        return format_datetime(moment, "y年M月d日（EEEE）HH:mm", tzinfo=self.zone, locale=LOCALE) + self._which(moment)

    def span(self, first: datetime, last: datetime) -> str:
        """``2021年2月19日—3月5日``, ``2021年12月20日—2022年1月3日``, or one day when both are on it."""
        start, end = (moment.astimezone(self.zone) for moment in sorted((first, last)))
        if start.date() == end.date():
            return self.day(start)
        return f"{self.day(start)}—{format_datetime(end, 'M月d日' if start.year == end.year else 'y年M月d日', tzinfo=self.zone, locale=LOCALE)}"

    def clock(self, moment: datetime) -> str:
        """``19:30``"""
        return format_datetime(moment, "HH:mm", tzinfo=self.zone, locale=LOCALE) + self._which(moment)

    def _which(self, moment: datetime) -> str:
        """`` UTC+01:00`` where the clocks go back and this wall time comes twice (Berlin's 02:30 on
        an October night); otherwise nothing, as the zone's name says it."""
        local = moment.astimezone(self.zone)
        if local.replace(fold=1 - local.fold).utcoffset() == local.utcoffset():
            return ""
        return " " + utc_offset(local.utcoffset() or timedelta(0))

    def iso_date(self, moment: datetime) -> str:
        """``2026-03-01``, the day in this zone (for ``<time datetime>``)."""
        return moment.astimezone(self.zone).date().isoformat()

    def same_day(self, first: datetime, second: datetime) -> bool:
        return first.astimezone(self.zone).date() == second.astimezone(self.zone).date()

    def filters(self) -> dict:
        """Jinja filters for templates."""
        return {
            "cn_date": self.day,
            "cn_datetime": self.day_and_time,
            "clock": self.clock,
            "iso_date": self.iso_date,
            "duration": duration,
            "file_size": file_size,
        }

    def tests(self) -> dict:
        """Jinja tests for templates: ``a is same_day(b)``."""
        return {"same_day": self.same_day}


def duration(seconds: int | None) -> str:
    """``6分30秒`` or ``1小时2分``."""
    if not seconds:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    if minutes:
        return f"{minutes}分{secs}秒" if secs else f"{minutes}分钟"
    return f"{secs}秒"


def file_size(size: int | None) -> str:
    """``3.2 MB``; members decide on mobile data by this."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"
