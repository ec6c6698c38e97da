"""Which pages take check-ins, and when: read from the hub's content."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..config import Attendance, SiteConfig
from ..errors import ContentErrors
from ..loader import ItemCache, load_hub
from ..models import Hub

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Session:
    key: str  # "lessons/SLUG" or "announcements/SLUG"
    title: str
    page_url: str
    opens: datetime | None = None  # None: a lesson, open at any time
    closes: datetime | None = None
    starts: datetime | None = None  # an announcement's start: check-ins after it + late_after are 迟到
    ends: datetime | None = None
    location: str | None = None
    code_seconds: int | None = None  # attendance: code: how long one live code lasts; None: no code needed
    review: bool = False  # an announcement with review: true (每年一评比): attending it counts as 评议

    def is_open(self, now: datetime) -> bool:
        return self.opens is None or self.opens <= now <= self.closes

    @property
    def needs_code(self) -> bool:
        return self.code_seconds is not None


@dataclass(frozen=True)
class Roster:
    """What the endpoint checks a check-in against: sessions and branches."""

    config: SiteConfig
    sessions: dict[str, Session]
    branch_groups: dict[str, str]  # branch -> its joint committee

    @property
    def reviews(self) -> frozenset[str]:
        """The sessions of yearly reviews (每年一评比)."""
        return frozenset(key for key, session in self.sessions.items() if session.review)

    @property
    def starts(self) -> dict[str, datetime]:
        """Each announcement's start, by session: 准时 or 迟到 is counted from it."""
        return {key: session.starts for key, session in self.sessions.items() if session.starts is not None}

    @classmethod
    def from_hub(cls, hub: Hub) -> "Roster":
        config = hub.config
        sessions: dict[str, Session] = {}
        for lesson in hub.lessons:
            if lesson.attendance:
                sessions[lesson.session] = Session(lesson.session, lesson.title, config.site_url + lesson.url_path)
        code_seconds = config.attendance.code_seconds if config.attendance else Attendance.model_fields["code_seconds"].default
        for item in hub.announcements:
            if item.attendance:
                opens, closes = item.checkin_window(config)
                sessions[item.session] = Session(
                    item.session, item.title, config.site_url + item.url_path, opens, closes,
                    starts=item.starts, ends=item.ends, location=item.location, review=item.review,
                    code_seconds=code_seconds if item.attendance == "code" else None)
        groups = {branch: group.name for group in config.branches for branch in group.branches}
        return cls(config, sessions, groups)


class RosterSource:
    """The current roster, reloaded in the background when the hub's files change.

    Editors publish by changing files; the endpoint follows within ``interval``
    seconds without a restart.  Broken content keeps the last good roster.
    A process that loads the hub itself after each change (the preview) hands it to
    ``follow`` instead, and does not ``start`` the reloading.
    """

    def __init__(self, config_path: Path, interval: float = 5.0, endpoint: str | None = None,
                 cache: ItemCache | None = None):
        """``endpoint``: the endpoint's public address, in place of the config's (the preview's own).
        ``cache``: the items read so far, shared with a caller that loads the same hub (the preview)."""
        self.config_path = Path(config_path)
        self.interval = interval
        self.endpoint = endpoint
        # A reload reads again only the files that changed: at 10,000 lessons, reading them all is
        # seconds of CPU, taken from the check-ins and desk pages this process answers meanwhile.
        self._cache = ItemCache() if cache is None else cache
        hub = self._load()
        self.roster = Roster.from_hub(hub)
        self._stamp = self._fingerprint(hub)
        self._hub = hub
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _load(self) -> Hub:
        return load_hub(self.config_path, cache=self._cache).with_endpoint(self.endpoint)

    def follow(self, hub: Hub) -> None:
        """Take the roster from ``hub``, just loaded by the caller (drafts are left out here)."""
        hub = hub.published()
        self.roster = Roster.from_hub(hub)
        self._hub = hub

    def _fingerprint(self, hub: Hub) -> tuple:
        # os.walk and os.stat, not pathlib's rglob and stat: a third of the CPU at 10,000 lessons
        # (45 ms against 110-170 ms a round), paid every ``interval`` while the desk answers.
        stamps = []
        for source in map(str, hub.sources):
            if os.path.isfile(source):
                stamps.append((source, os.stat(source).st_mtime_ns))
                continue
            found = []
            for folder, _, names in os.walk(source):
                for name in names:
                    if name.endswith(".md"):
                        path = os.path.join(folder, name)
                        try:
                            found.append((path, os.stat(path).st_mtime_ns))
                        except FileNotFoundError:  # removed while we looked: the next round sees it
                            pass
            stamps.extend(sorted(found))
        return tuple(stamps)

    def refresh(self) -> bool:
        """Reload if anything changed; True if the roster was replaced."""
        if self._fingerprint(self._hub) == self._stamp:
            return False
        try:
            hub = self._load()
        except ContentErrors as errors:
            log.warning("内容有误，签到服务继续使用上一次的活动列表：\n%s", errors)
            self._stamp = self._fingerprint(self._hub)
            return False
        self.follow(hub)
        self._stamp = self._fingerprint(hub)
        return True

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.refresh()
                except Exception:  # the endpoint must keep serving whatever happens here
                    log.exception("重新读取内容失败")

        self._thread = threading.Thread(target=loop, name="kite-roster", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
