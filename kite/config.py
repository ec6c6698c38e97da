"""The hub's ``site_config.yml``: a typed schema whose errors say what was expected."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from .desk.names import match_key
from .fields import DEFAULT_TIMEZONE, Flag, Minutes, Text, address_fault, fail, shown

Branch = Text


# How long before an activity starts, and after it ends, members may check in, unless configured.
CHECKIN_MARGIN = timedelta(minutes=30)


def _url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(f"应为完整网址，例如 https://example.org/hub/，实际为{shown(value)}")
    value = value.strip()
    if value.partition("://")[0] not in ("https", "http"):
        raise fail(f"应为以 https:// 开头的完整网址，实际为 {value!r}")
    # The address goes into every page's links and forms as it is written.
    if fault := address_fault(value):
        raise fail(f"{fault}，实际为 {value!r}")
    parts = urlsplit(value)
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        # What follows ? or # cannot carry a path that links and forms are joined onto.
        raise fail(f"网址不能带 ? 或 # 及其后的部分，请删去，写成 {_bare(value)!r}")
    # Repeated slashes at the end are plainly one; within the path they name another address
    # on most servers, and which one was meant only the editor knows.
    path = parts.path.rstrip("/")
    if "//" in path:
        raise fail(f"网址的路径里有连续的 //（{parts.path}），请改成只用一个 /")
    return value


def _bare(value: str) -> str:
    return value.split("#", 1)[0].split("?", 1)[0]


def _site_url(value: Any) -> str:
    value = _url(value)
    parts = urlsplit(value)
    # A copied address of the home page (…/hub/index.html) means the folder that holds it.
    path = parts.path
    if path.endswith("/index.html"):
        path = path.removesuffix("index.html")
    path = path.rstrip("/") + "/"
    # Every link and feed is built by joining onto it, which needs the trailing slash.
    return parts._replace(path=_ascii(path)).geturl()


def _ascii(path: str) -> str:
    """A Chinese path percent-encoded, as browsers send it: feeds, the calendar and the sitemap hold
    URLs, which are ASCII (the site's own slugs in them are encoded already), and so do the headers
    the endpoint sends (a desk cookie's Path)."""
    return re.sub(r"[^\x00-\x7f]+", lambda found: quote(found[0]), path)


def _endpoint(value: Any) -> str:
    parts = urlsplit(_url(value).rstrip("/"))
    return parts._replace(path=_ascii(parts.path)).geturl()


def _unique(branches: list[str]) -> list[str]:
    # Names are told apart as the desk tells members apart (match_key): 'A区' and 'Ａ区', or
    # '鼓韵堂 党支部' and '鼓韵堂党支部', would be two choices on the form and one branch on the desk.
    seen: dict[str, str] = {}
    for branch in branches:
        earlier = seen.setdefault(match_key(branch), branch)
        if earlier == branch and branches.count(branch) > 1:
            raise fail(f"支部 {branch!r} 出现了不止一次；签到时无法区分")
        if earlier != branch:
            raise fail(f"支部 {earlier!r} 和 {branch!r} 只差空格或全角半角，签到和工作台无法区分；请改成明显不同的名字")
    return branches


class BranchGroup(BaseModel):
    """A joint Party committee and the branches under it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Text
    branches: list[Branch] = Field(min_length=1)

    @field_validator("branches")
    @classmethod
    def unique_within(cls, branches: list[str]) -> list[str]:
        return _unique(branches)


def _branch_item(value: Any) -> Any:
    # A branch directly under the top level is a group of its own with no children.
    return {"name": value, "branches": [value]} if isinstance(value, str) else value


def _whole(low: int, high: int, unit: str = ""):
    def check(value: Any) -> int:
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, int) and not isinstance(text, bool):
            text = str(text)
        if isinstance(text, str) and text.isascii() and text.isdigit() and low <= int(text) <= high:
            return int(text)
        raise fail(f"应为 {low} 到 {high} 之间的整数{unit}，实际为{shown(value)}")

    return BeforeValidator(check)


class Attendance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: Annotated[str, BeforeValidator(_endpoint)]
    # How long before an activity starts, and after it ends, members may check in.
    opens_before: Minutes = CHECKIN_MARGIN
    closes_after: Minutes = CHECKIN_MARGIN
    late_after: Minutes = timedelta(minutes=10)  # after `starts`, a check-in is 迟到
    # How long one live check-in code lasts: up to a day; under HUMAN_CODE_SECONDS only warned about.
    code_seconds: Annotated[int, _whole(1, 86400, "（秒）")] = 120


HUMAN_CODE_SECONDS = 10  # shorter, and people at the activity hardly have time to type a code


class Points(BaseModel):
    """积分 per record in the desk's 三个一 table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    study: Annotated[int, _whole(0, 1000)] = 1  # a check-in to a lesson or an activity
    report: Annotated[int, _whole(0, 1000)] = 2  # a quarter with a quarterly report
    suggestion: Annotated[int, _whole(0, 1000)] = 1  # a suggestion with the member's name
    review: Annotated[int, _whole(0, 1000)] = 2  # a yearly review attended


class Podcast(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Text | None = None
    description: Text | None = None
    author: Text
    owner_email: Text | None = None
    image: Text | None = None
    category: Text = "Education"
    explicit: Flag = False


class SiteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    site_name: Text
    short_name: Text | None = None  # under the icon on a phone's home screen (offline.short_name)
    site_url: Annotated[str, BeforeValidator(_site_url)]
    site_description: Text | None = None
    language: Text = "zh"
    timezone: Text = DEFAULT_TIMEZONE
    copyright: Text | None = None
    attendance: Attendance | None = None
    points: Points = Points()
    branches: list[Annotated[BranchGroup, BeforeValidator(_branch_item)]] = []
    podcast: Podcast | None = None

    @field_validator("language")
    @classmethod
    def language_tag(cls, value: str) -> str:
        # It becomes every page's lang attribute and the feeds' language.
        if not re.fullmatch(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*", value):
            raise fail(f"应为语言代码，例如 zh、zh-CN 或 en，实际为 {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise fail(f"未知时区 {value!r}，例如 Asia/Shanghai")
        return value

    @field_validator("branches")
    @classmethod
    def unique_branches(cls, groups: list[BranchGroup]) -> list[BranchGroup]:
        _unique([branch for group in groups for branch in group.branches])
        # An account's scope names a committee or a branch: one name must not be both, nor two committees.
        branches = {match_key(branch): branch for group in groups for branch in group.branches}
        committees: dict[str, str] = {}
        for group in groups:
            if group.branches == [group.name]:
                continue  # a branch directly under the top level
            key = match_key(group.name)
            if key in branches:
                raise fail(f"联合党委 {group.name!r} 与支部 {branches[key]!r} 同名，工作台的账号范围无法区分；请改成不同的名字")
            if key in committees:
                raise fail(f"联合党委 {group.name!r} 出现了不止一次（或只差空格、全角半角）；请改成不同的名字")
            committees[key] = group.name
        return groups

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_endpoint(self, endpoint: str) -> SiteConfig:
        """This config with the check-in endpoint at ``endpoint`` (the preview runs its own)."""
        if self.attendance is None:
            return self
        return self.model_copy(update={"attendance": self.attendance.model_copy(update={"endpoint": endpoint})})

    @property
    def base_path(self) -> str:
        """The path the site is served under, e.g. ``/hub/``, decoded (``/流动党员/``) as the
        preview matches requests and as the address bar shows it."""
        return unquote(urlsplit(self.site_url).path) or "/"
