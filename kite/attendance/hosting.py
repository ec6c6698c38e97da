"""What a host shows at a live activity: the code on a screen, and a printed poster.

Pure functions from a session, the live codes and the time to the values the desk's
pages render (contract, section 7); the pages themselves and their templates come
with the desk.  Times are in the hub's time zone and say which one it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..formatting import Dates
from .livecode import LiveCode, LiveCodes
from .qrcodes import qr_svg, url_with_code
from .sessions import Session


@dataclass(frozen=True)
class Poster:
    """The printable A4 page: the activity and a QR code of its page, without a code."""

    title: str
    when: str  # "2026年12月5日（星期六）19:30 至 21:00（北京时间）"
    place: str | None
    page_url: str
    qr_svg: str


@dataclass(frozen=True)
class HostScreen:
    """The host view's moving parts at one moment."""

    title: str
    code: LiveCode
    seconds_left: int  # until ``code.valid_until``, for the countdown
    code_url: str  # the page with ?code=
    qr_svg: str  # of ``code_url``


def activity_time(session: Session, zone: ZoneInfo) -> str:
    """When the activity is, as its page says it: start, end if any, and the zone."""
    dates = Dates(zone)
    if session.starts is None:
        return ""
    text = dates.day_and_time(session.starts)
    if session.ends is not None:
        ends = dates.clock(session.ends) if dates.same_day(session.starts, session.ends) else dates.day_and_time(session.ends)
        text += f" 至 {ends}"
    return f"{text}（{dates.label}）"


def poster(session: Session, zone: ZoneInfo) -> Poster:
    return Poster(session.title, activity_time(session, zone), session.location, session.page_url,
                  qr_svg(session.page_url, title=f"{session.title}：扫码打开签到页面"))


def host_screen(session: Session, codes: LiveCodes, at: datetime) -> HostScreen:
    """The code to show now and the QR code that carries it.  ``session`` must need a code."""
    if not session.needs_code:
        raise ValueError(f"{session.key} takes no live code")
    code = codes.current(session.key, session.code_seconds, at)
    address = url_with_code(session.page_url, code.code)
    left = max(0, math.ceil((code.valid_until - at).total_seconds()))
    return HostScreen(session.title, code, left, address, qr_svg(address, title=f"{session.title}：扫码签到"))
