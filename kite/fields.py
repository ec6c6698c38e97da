"""Field types shared by the content and config schemas.

Every value arrives as a string, a list or a mapping (see ``source``).  Each type
here turns it into one normalised shape, or raises an error whose message an
editor can act on.  Date-times are always aware, in the hub's time zone unless
the editor wrote an offset; bare dates become midnight in that zone.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BeforeValidator, ValidationInfo
from pydantic_core import PydanticCustomError

from .formatting import zone_label

DEFAULT_TIMEZONE = "Asia/Shanghai"


def fail(message: str) -> PydanticCustomError:
    # Braces would be read as placeholders by pydantic; editors' values may hold them.
    return PydanticCustomError("kite", message.replace("{", "{{").replace("}", "}}"))


def shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else _kind_name(value)
    return text if len(text) <= 60 else text[:57] + "…'"


def _kind_name(value: Any) -> str:
    if isinstance(value, list):
        return "一个列表"
    if isinstance(value, dict):
        return "一组“字段: 值”"
    return repr(value)


def _zone(info: ValidationInfo) -> ZoneInfo:
    return (info.context or {}).get("tz") or ZoneInfo(DEFAULT_TIMEZONE)


# Characters HTML forbids in a page and XML in a feed (U+FFFE and U+FFFF), all invisible:
# they come with text pasted from Word or a web page.  Tabs and line ends are text.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise fail(f"应为一段文字，实际为{shown(value)}")
    value = unicodedata.normalize("NFC", value.strip())
    if CONTROL.search(value):
        raise fail("含有不可见的控制字符，请删除后重新输入")
    if not value:
        raise fail("不能为空")
    return value


def _short(limit: int):
    def check(value: str) -> str:
        if len(value) > limit:
            raise fail(f"太长：最多 {limit} 个字，现在有 {len(value)} 个")
        return value

    return check


Text = Annotated[str, BeforeValidator(_text), AfterValidator(_short(500))]
Title = Annotated[str, BeforeValidator(_text), AfterValidator(_short(200))]


def _tags(value: Any) -> list[str]:
    if isinstance(value, str):
        # Editors write `tags: 党章, 党史` as often as a YAML list; both mean the same.
        value = [part for part in re.split(r"[,，、]", value) if part.strip()]
    if not isinstance(value, list):
        raise fail(f"应为列表，例如 [党章, 党史]，实际为{shown(value)}")
    tags: list[str] = []
    for item in value:
        tag = _short(40)(_text(item))
        if tag not in tags:
            tags.append(tag)
    return tags


Tags = Annotated[list[str], BeforeValidator(_tags)]

_TRUE = {"true", "yes", "on", "1", "是"}
_FALSE = {"false", "no", "off", "0", "否"}


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise fail(f"应为 true 或 false，实际为{shown(value)}")


Flag = Annotated[bool, BeforeValidator(_flag)]

# A slug becomes one folder name in every URL, so it may hold letters of any script
# (Chinese included), digits, '-' and '_', and nothing a web server or file system
# would read differently.
_SLUG = re.compile(r"^[^\W_][\w-]*$")


def _slug(value: Any) -> str:
    value = _text(value)
    # A file name holds at most 255 bytes, and a Chinese character takes 3 of them in UTF-8.
    if len(value) > 100 or len(value.encode()) > 200:
        raise fail(f"网址名太长：最多 100 个字母或 66 个汉字，现在有 {len(value)} 个字")
    if not _SLUG.match(value):
        raise fail(f"{shown(value)} 不能用作网址：只能用汉字、字母、数字、- 和 _，且以汉字、字母或数字开头")
    if value.lower() == "index":
        raise fail("“index” 是保留名称，请换一个")
    return value


Slug = Annotated[str, BeforeValidator(_slug)]


def slug_from_text(text: str) -> str:
    """The same rule applied to any text (a title, a series name): its words, Chinese
    included, with every run of anything else made one '-'.  Empty when no word is left."""
    return re.sub(r"[^\w-]+", "-", unicodedata.normalize("NFC", text)).strip("-_")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# ISO 8601 as people and scripts write it: 'T' or a space, seconds and their fraction optional,
# an offset as Z, +08, +0800 or +08:00 (RFC 3339 allows the letters in lower case); and YAML 1.1's
# timestamp's time, which an editor may copy from a YAML example: a one-digit hour and offset hour,
# several spaces before the time and spaces before the offset (`2026-12-05 9:30:00 +8`).  The date
# stays YYYY-MM-DD, as for `date` (YAML's one-digit month and day are not ISO 8601).
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt]|[ \t]+)(\d{1,2}):(\d{2})(?::(\d{2})([.,]\d+)?)?"
    r"[ \t]*([Zz]|[+-]\d{1,2}(?::?\d{2})?)?$"
)
# ISO 8601's basic format, as some scripts and calendar exports write it: 20261212T193000+0800.
_BASIC = re.compile(r"^(\d{4})(\d{2})(\d{2})[Tt](\d{2})(\d{2})(?:(\d{2})([.,]\d+)?)?([Zz]|[+-]\d{2}(?:\d{2})?)?$")


def _iso(text: str) -> str | None:
    """``text`` in the one extended form ``datetime.fromisoformat`` reads, or None if it is no date-time."""
    match = _DATETIME.match(text) or _BASIC.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    iso = f"{year}-{int(month):02}-{int(day):02}T{int(hour):02}:{minute}:{second or '00'}"
    if fraction:
        iso += "." + fraction[1:]
    if offset and offset in "Zz":
        iso += "+00:00"
    elif offset:
        digits = offset[1:].replace(":", "")
        hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "00")
        iso += f"{offset[0]}{int(hours):02}:{minutes}"
    return iso


# Years a hub's dates may take.  Python's dates end at year 9999, and a time zone's offset
# pushes a date-time at either end past them (feeds and calendars convert to UTC); a year
# outside these is a slip of the keyboard anyway (0226, 9026).
YEARS = range(1900, 3000)


def _parse_date(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise fail(f"日期不存在：{shown(value)}")
    if day.year not in YEARS:
        raise fail(f"年份 {day.year} 不对：应在 {YEARS.start} 到 {YEARS.stop - 1} 年之间，实际为{shown(value)}")
    return day


def _day(value: Any, info: ValidationInfo) -> datetime:
    """A publication date; a full date-time is accepted too and kept."""
    text = _typed(value)
    if isinstance(text, str) and _DATE.match(text):
        return _fixed(datetime.combine(_parse_date(text), time(0, 0), tzinfo=_zone(info)))
    if isinstance(text, str) and _iso(text):
        return _moment(text, info)
    raise fail(f"应为 YYYY-MM-DD 格式的日期，例如 2026-03-01，实际为{shown(value)}")


def _typed(value: Any) -> Any:
    # A Chinese input method types a full-width colon, hyphen, digit or space as readily as the
    # ASCII one (19：30, 2026－12－05); NFKC makes them ASCII, and they mean nothing else here.
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


def _moment(value: Any, info: ValidationInfo) -> datetime:
    text = _typed(value)
    iso = _iso(text) if isinstance(text, str) else None
    if iso is None:
        example = f"2026-03-01 19:30（{zone_label(_zone(info))}）"
        raise fail(f"应为日期和时间，例如 {example}或 2026-03-01T19:30:00+08:00，实际为{shown(value)}")
    _parse_date(iso[:10])
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise fail(f"时间不存在：{shown(value)}")
    if moment.tzinfo is None:
        moment = _on_the_clock(moment, _zone(info), value)
    return _fixed(moment)


def _fixed(moment: datetime) -> datetime:
    """``moment`` with its UTC offset, no longer its zone's rules.

    Python adds and subtracts minutes on an aware time's wall clock and asks its zone for the
    offset afterwards: 02:55 plus 10 minutes on the night Berlin falls back is 03:05 winter time,
    70 minutes later, and an hour too late for 迟到.  With a fixed offset every check-in window
    and lateness is exact; pages, feeds and the calendar convert to the hub's zone to show it.

    An offset of seconds (a zone's local mean time before 1900-ish, -10:29:20 in Kiritimati)
    cannot be written in RSS, Atom or HTML, so such a time is kept in UTC; and a fraction of a
    second, which HTML's <time> takes to three digits only and no activity needs, is dropped.
    """
    offset = moment.utcoffset() or timedelta(0)
    zone = timezone(offset) if offset % timedelta(minutes=1) == timedelta(0) else timezone.utc
    return moment.replace(microsecond=0).astimezone(zone)


def _on_the_clock(wall: datetime, zone: ZoneInfo, value: str) -> datetime:
    """A wall time without an offset, read in the hub's zone.

    A time the clocks skip (the hour they spring forward) is an error: no reading of it is
    what the editor meant, and a silent one would move the activity by an hour.  A time the
    clocks show twice (the hour they fall back) is its first occurrence, as RFC 5545 reads it;
    the README says so, and an editor who means the second writes the offset.
    """
    moment = wall.replace(tzinfo=zone)
    if moment.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None) != wall:
        skipped = (wall.replace(tzinfo=zone, fold=1).utcoffset() or timedelta(0)) - (moment.utcoffset() or timedelta(0))
        raise fail(
            f"{zone_label(zone)}没有 {wall:%Y-%m-%d %H:%M} 这个时刻：这天拨钟，时钟向前跳过了 {round(skipped.total_seconds() / 60)} 分钟。"
            f"请改成拨钟之后的时间，或写明时区偏移，实际为{shown(value)}"
        )
    return moment


Day = Annotated[datetime, BeforeValidator(_day)]
Moment = Annotated[datetime, BeforeValidator(_moment)]

_CLOCK = re.compile(r"^(?:(\d+):)?([0-5]?\d):([0-5]\d)$")


def _duration(value: Any) -> int:
    """Seconds, from `754`, `12:34` or `1:02:34`."""
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str):
        if text.isdigit():
            seconds = int(text)
        elif match := _CLOCK.match(text):
            hours, minutes, secs = match.groups()
            if hours is None and len(match.group(2)) > 2:
                raise fail(f"应为秒数、MM:SS 或 HH:MM:SS，实际为{shown(value)}")
            seconds = int(hours or 0) * 3600 + int(minutes) * 60 + int(secs)
        else:
            seconds = -1
        if 0 < seconds <= 24 * 3600:
            return seconds
    raise fail(f"应为秒数、MM:SS 或 HH:MM:SS（例如 06:30），且在 24 小时以内，实际为{shown(value)}")


Duration = Annotated[int, BeforeValidator(_duration)]


def _minutes(value: Any) -> timedelta:
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and text.isdigit() and int(text) <= 7 * 24 * 60:
        return timedelta(minutes=int(text))
    raise fail(f"应为分钟数（0 到 10080 之间的整数），实际为{shown(value)}")


Minutes = Annotated[timedelta, BeforeValidator(_minutes)]


# What RFC 3986 leaves out of a URL; a web address goes into pages and feeds as it is written.
_NOT_IN_URLS = re.compile(r'[\s"<>\\^`{|}\x00-\x1f\x7f]')


def address_fault(value: str) -> str | None:
    """Why ``value`` (an http(s) address) cannot be written into a page as it is, or None."""
    if _NOT_IN_URLS.search(value):
        return "网址里不能有空格、引号或 < > 之类的符号"
    try:
        parts = urlsplit(value)
        parts.port
    except ValueError:
        return "网址的格式或端口号不对"
    if not parts.hostname:
        return "网址里缺少网站的域名"
    if parts.username is not None or parts.password is not None:
        return "网址里不能写用户名或密码（@ 前面的部分）"
    return None


def web_address(url: str) -> str:
    """An editor's https:// address as a valid URL: spaces and other characters a URL may not hold
    (``a b.m4a``, ``音频.mp3``) percent-encoded; what is already encoded stays as it is."""
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~")
