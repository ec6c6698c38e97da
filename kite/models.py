"""Typed content: one schema class per kind, the models templates receive, and the hub.

A ``*Front`` class is exactly what an editor may write in front matter (unknown
keys are errors).  The model subclasses it with what the loader knows besides:
where the file is, its body, its final slug.  Views and templates only ever see
models.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, ClassVar, Iterator, Literal
from urllib.parse import quote

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from .config import CHECKIN_MARGIN, SiteConfig
from .errors import Problem
from .fields import Day, Duration, Flag, Moment, Slug, Tags, Text, Title, _flag, address_fault, fail, shown
from .media import MEDIA_DIR, MediaRef, media_field

# Where each kind of content lives in a hub folder.
CONTENT_DIRS = {
    "lesson": "lessons",
    "episode": "content/episodes",
    "announcement": "content/announcements",
}


class Front(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Title
    date: Day
    slug: Slug
    summary: Text | None = None
    draft: Flag = False


class Content(Front):
    """What every published item has beyond its front matter."""

    kind: ClassVar[str]
    section: ClassVar[str]  # folder of the built site

    source: str = Field(exclude=True)  # path relative to the hub folder, as shown in errors
    body: str = Field(default="", exclude=True, repr=False)
    body_line: int = Field(default=1, exclude=True)
    slug_line: int = Field(default=1, exclude=True)  # where an editor changes the slug
    media_refs: tuple[str, ...] = Field(default=(), exclude=True)  # files under content/media/ the body uses

    @property
    def path(self) -> str:
        """Site-relative URL path, with the slug as written (for MkDocs and files)."""
        return f"{self.section}/{self.slug}/"

    @property
    def url_path(self) -> str:
        """The same path percent-encoded, for links outside the engine (feeds, calendar)."""
        return f"{self.section}/{quote(self.slug)}/"

    @property
    def session(self) -> str:
        """The check-in session name: ``lessons/SLUG``."""
        return f"{self.section}/{self.slug}"


class LessonFront(Front):
    speaker: Text | None = None
    series: Text | None = None
    tags: Tags = []
    attendance: Flag = False

    @field_validator("attendance", mode="before")
    @classmethod
    def no_live_code(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == "code":
            raise fail("现场签到码（code）只用于活动通知；党课请写 true 或 false")
        return value


class Lesson(LessonFront, Content):
    kind: ClassVar[str] = "lesson"
    section: ClassVar[str] = "lessons"


class EpisodeFront(Front):
    media: MediaRef = media_field()
    duration: Duration | None = None
    speaker: Text | None = None


class Episode(EpisodeFront, Content):
    kind: ClassVar[str] = "episode"
    section: ClassVar[str] = "episodes"


def _checkin_mode(value: Any) -> bool | str:
    if isinstance(value, str) and value.strip().lower() == "code":
        return "code"
    try:
        return _flag(value)
    except PydanticCustomError:
        raise fail(f"应为 true、false 或 code（现场签到码），实际为{shown(value)}")


# Truthy either way: "code" is a check-in session that also needs the live code.
CheckinMode = Annotated[bool | Literal["code"], BeforeValidator(_checkin_mode)]


class AnnouncementFront(Front):
    starts: Moment
    ends: Moment | None = None
    location: Text | None = None
    online_url: Text | None = None
    organizer: Text | None = None
    attendance: CheckinMode = False
    review: Flag = False  # a yearly review (每年一评比): attending it counts as 评议 in the desk

    @field_validator("online_url")
    @classmethod
    def web_address(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("https://", "http://")):
            raise fail(f"应为以 https:// 或 http:// 开头的网址，实际为 {value!r}")
        if value is not None and (fault := address_fault(value)):
            raise fail(f"{fault}，实际为 {value!r}")
        return value

    @field_validator("ends")
    @classmethod
    def after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        starts = info.data.get("starts")
        if value is not None and starts is not None and value <= starts:
            raise fail("结束时间必须晚于开始时间 starts")
        return value


class Announcement(AnnouncementFront, Content):
    kind: ClassVar[str] = "announcement"
    section: ClassVar[str] = "announcements"

    def checkin_window(self, config: SiteConfig) -> tuple[datetime, datetime]:
        """When members may check in: from a margin before the start to a margin after the
        end, or, without an end, to the end of that day in the hub's time zone."""
        before = config.attendance.opens_before if config.attendance else CHECKIN_MARGIN
        after = config.attendance.closes_after if config.attendance else CHECKIN_MARGIN
        if self.ends:
            closes = self.ends + after
        else:
            local = self.starts.astimezone(config.zone)
            midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=config.zone)
            # In UTC: a second before midnight on the zone's clock is an hour off where the
            # clocks fall back at midnight (Santiago in April).
            closes = midnight.astimezone(timezone.utc) - timedelta(seconds=1)
        return self.starts - before, closes


KINDS: dict[str, tuple[type[Front], type[Content]]] = {
    "lesson": (LessonFront, Lesson),
    "episode": (EpisodeFront, Episode),
    "announcement": (AnnouncementFront, Announcement),
}


@dataclass(frozen=True)
class Hub:
    """Everything a build needs, validated: items newest first.

    Drafts are among the items only in a hub loaded for the preview; ``published()``
    is what feeds, calendars and anything else outside the pages may see.
    """

    root: Path
    config_path: Path
    config: SiteConfig
    lessons: list[Lesson] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    announcements: list[Announcement] = field(default_factory=list)
    drafts: int = 0  # how many drafts the hub has, shown or not
    warnings: list[Problem] = field(default_factory=list)  # worth fixing, but the site can still be built

    def items(self) -> Iterator[Content]:
        yield from self.lessons
        yield from self.episodes
        yield from self.announcements

    def published(self) -> Hub:
        """The hub without its drafts."""
        if not any(item.draft for item in self.items()):
            return self
        return replace(self, lessons=[i for i in self.lessons if not i.draft],
                       episodes=[i for i in self.episodes if not i.draft],
                       announcements=[i for i in self.announcements if not i.draft])

    def with_endpoint(self, endpoint: str | None) -> Hub:
        """The hub with its check-in endpoint at ``endpoint`` (the preview's own); None: as it is."""
        if endpoint is None or self.config.attendance is None:
            return self
        return replace(self, config=self.config.with_endpoint(endpoint))

    @property
    def sources(self) -> list[Path]:
        """Every folder and file whose change should trigger a rebuild."""
        return [self.config_path, *(self.root / d for d in CONTENT_DIRS.values()), self.root / MEDIA_DIR]
