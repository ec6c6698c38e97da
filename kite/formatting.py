"""How dates, durations and sizes read on the site (Jinja filters)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
WEEKDAYS = "一二三四五六日"


def cn_date(moment: datetime) -> str:
    """``2026年3月1日``"""
    return f"{moment.year}年{moment.month}月{moment.day}日"


def cn_datetime(moment: datetime) -> str:
    """``2026年12月5日（星期六）19:30``, in Beijing time whatever zone it was written in."""
    local = moment.astimezone(BEIJING)
    return f"{cn_date(local)}（星期{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def clock(moment: datetime) -> str:
    return f"{moment.astimezone(BEIJING):%H:%M}"


def same_day(first: datetime, second: datetime) -> bool:
    return first.astimezone(BEIJING).date() == second.astimezone(BEIJING).date()


def iso_date(moment: datetime) -> str:
    return moment.date().isoformat()


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


FILTERS = {
    "cn_date": cn_date,
    "cn_datetime": cn_datetime,
    "clock": clock,
    "iso_date": iso_date,
    "duration": duration,
    "file_size": file_size,
}
TESTS = {"same_day": same_day}
