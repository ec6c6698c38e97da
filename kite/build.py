"""``build``: the phases of a site build, top to bottom.

Everything is read and validated before anything is written.  The site is built
into a temporary folder beside SITE_DIR and swapped in only when every phase has
succeeded, so a failed build leaves the published site exactly as it was.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from . import feeds, ics
from .errors import ContentErrors, Problem
from .loader import Hub, load_hub
from .media import MEDIA_DIR
from .offline import OfflineFilesFailed, offline_files
from .pages import PageSpec, site_pages
from .compress import precompress, text_files
from .parallel import RenderFailed, default_workers, render_pages
from .progress import Progress, Stage

MARKER = ".kite-site"


class BuildFailed(Exception):
    """A phase after validation failed; the message is for the editor."""


@dataclass
class BuildReport:
    hub: Hub
    site_dir: Path
    pages: int = 0
    feeds: int = 0
    media: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stages: list[Stage] = field(default_factory=list)


def check(config_path: Path) -> Hub:
    """Validate config and content; raises ``ContentErrors`` with every problem."""
    return load_hub(config_path)


def build(config_path: Path, site_dir: Path, *, now: datetime | None = None, endpoint: str | None = None,
          progress: Progress | None = None, workers: int | None = None, memo: dict | None = None) -> BuildReport:
    """Build the site into ``site_dir``; ``endpoint`` replaces the configured check-in endpoint (preview)."""
    started = time.monotonic()
    progress = progress or Progress.silent()
    hub = load_hub(config_path, progress)
    site_dir = Path(site_dir).absolute()
    refuse_unsafe_target(site_dir, hub)
    now = now or datetime.now(timezone.utc)

    site_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.new-", dir=site_dir.parent))
    # mkdtemp makes a private folder; the published site must be readable by the web server.
    staging.chmod(0o777 & ~_umask())
    try:
        report = BuildReport(hub, site_dir, warnings=[str(w) for w in hub.warnings])
        specs = site_pages(hub, now)
        progress.stage("生成页面", len(specs))
        try:
            report.warnings += render_pages(hub, specs, staging, template_globals(hub, endpoint), progress.advance, workers)
        except RenderFailed as error:
            raise BuildFailed(f"生成页面时出错：{error}")
        report.pages = len(specs)
        files = site_files(hub, specs, memo)
        progress.stage("订阅与日历", len(files))
        report.feeds = write_files(staging, files, progress.advance)
        progress.stage("复制媒体")
        report.media = copy_media(hub, staging, progress.advance)
        progress.stage("离线阅读")
        try:
            write_files(staging, offline_files(staging, hub.config), progress.advance)
        except OfflineFilesFailed as error:
            raise BuildFailed(str(error))
        progress.stage("搜索索引")
        index_search(staging)
        progress.advance()
        texts = text_files(staging)
        progress.stage("预压缩", len(texts))
        precompress(texts, progress.advance, workers or default_workers())
        progress.stage("发布")
        (staging / MARKER).write_text("由 Kite 生成；每次构建会整体替换本文件夹。\n", encoding="utf-8")
        publish(staging, site_dir)
        progress.advance()
        progress.finish()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    report.stages = progress.stages
    report.seconds = time.monotonic() - started
    return report


def template_globals(hub: Hub, endpoint: str | None) -> dict:
    """What every template may use besides its page's own data."""
    endpoint = endpoint or (hub.config.attendance.endpoint if hub.config.attendance else "")
    return {
        "media_names": sorted(set(published_media(hub).values())),
        "site": hub.config,
        "webcal_url": ics.webcal_url(hub.config),
        "checkin_action": f"{endpoint.rstrip('/')}/checkin" if endpoint else "",
    }


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def refuse_unsafe_target(site_dir: Path, hub: Hub) -> None:
    """Never replace the hub itself, or a folder holding something other than a Kite site."""
    root = hub.root.resolve()
    target = site_dir.resolve()
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).exists():
        raise ContentErrors([Problem(hub.config_path.name, 1, "site_dir",
                                     f"输出目录 {site_dir} 里已有别的文件，不是 Kite 生成的站点；为免误删，请换一个空目录，或先把它清空")])
    if target.exists() and not target.is_dir():
        raise ContentErrors([Problem(hub.config_path.name, 1, "site_dir", f"输出目录 {site_dir} 是一个文件，不是文件夹")])
    if target == root or target in root.parents:
        raise ContentErrors([Problem(hub.config_path.name, 1, "site_dir", f"输出目录 {site_dir} 包含站点源文件，不能用作输出目录")])
    for source in (root / "lessons", root / "content", root / "templates"):
        if target == source.resolve() or source.resolve() in target.parents:
            raise ContentErrors([Problem(hub.config_path.name, 1, "site_dir", f"输出目录 {site_dir} 位于源文件夹 {source.name}/ 内")])


def subscriptions(hub: Hub, memo: dict | None = None) -> dict[str, str]:
    """Every feed and calendar file, by site-relative path.

    ``memo`` lets a long-running preview skip what its inputs have not changed.
    """
    config = hub.config
    memo = {} if memo is None else memo

    def once(name: str, inputs: object, make: Callable[[], object]):
        key = repr(inputs)
        if memo.get(name, (None,))[0] != key:
            memo[name] = (key, make())
        return memo[name][1]

    files: dict[str, str] = {}
    files["lessons/rss.xml"], files["lessons/atom.xml"] = once(
        "lessons", hub.lessons[: feeds.FEED_ITEMS], lambda: feeds.lesson_feeds(config, hub.lessons))
    files["announcements/rss.xml"], files["announcements/atom.xml"] = once(
        "announcements", hub.announcements, lambda: feeds.announcement_feeds(config, hub.announcements))
    cover = podcast_cover(hub)
    files["episodes/podcast.xml"] = once("episodes", (hub.episodes, cover),
                                         lambda: feeds.podcast_feed(config, hub.episodes, cover))
    files["announcements/calendar.ics"] = once(
        "calendar", hub.announcements, lambda: ics.activity_calendar(config, hub.announcements))
    for item in hub.announcements:
        files[f"{item.path}event.ics"] = once(item.path, item, lambda: ics.event_calendar(config, item))
    return files


def site_files(hub: Hub, specs: list[PageSpec], memo: dict | None = None) -> dict[str, str]:
    """The files written besides the pages: feeds, calendars and the sitemap."""
    files = subscriptions(hub, memo)
    files["sitemap.xml"] = feeds.sitemap(hub.config, [quote(spec.url) for spec in specs])
    return files


def write_files(staging: Path, files: dict[str, str | bytes], advance: Callable[[], None]) -> int:
    for path, text in files.items():
        target = staging / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
            advance()
            continue
        # newline="" keeps the calendar's CRLF line ends exactly as RFC 5545 wants them.
        with open(target, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        advance()
    return len(files)


def published_media(hub: Hub) -> dict[Path, str]:
    """Every file under content/media/ that a published page or feed uses, and its name there."""
    files = {episode.media.file: episode.media.name for episode in hub.episodes if episode.media and episode.media.file}
    for item in hub.items():
        files.update({hub.root / MEDIA_DIR / name: name for name in item.media_refs})
    cover = podcast_cover(hub)
    if cover and not cover.startswith("https://"):
        files[hub.root / MEDIA_DIR / cover] = cover
    return files


def podcast_cover(hub: Hub) -> str | None:
    """The podcast's cover (an https:// address or a name under content/media/), if usable."""
    podcast = hub.config.podcast
    if not podcast or not podcast.image or any(w.field == "podcast.image" for w in hub.warnings):
        return None
    return podcast.image


def copy_media(hub: Hub, staging: Path, advance: Callable[[], None]) -> int:
    """Put every media file a published page uses into ``media/``; drafts' files stay private."""
    files = published_media(hub)
    for source, name in files.items():
        target = staging / "media" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            # The preview updates its folder in place: keep what is already the same file.
            if os.path.samefile(source, target):
                advance()
                continue
            target.unlink()
        try:
            # Audio and video are large; a hard link costs no copying where the disk allows it.
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
        advance()
    return len(files)


def index_search(staging: Path, output: Path | None = None, background: bool = False) -> None:
    """Build Pagefind's Chinese-aware index, split into small fragments, under ``pagefind/``.

    ``background`` runs it at low priority, so that the preview's page rebuilds come first.
    """
    command = [sys.executable, "-m", "pagefind", "--site", str(staging), "--silent"]
    if output is not None:
        command += ["--output-path", str(output)]
    lower = (lambda: os.nice(15)) if background and hasattr(os, "nice") else None
    result = subprocess.run(command, capture_output=True, text=True, preexec_fn=lower)
    if result.returncode != 0:
        raise BuildFailed(f"搜索索引生成失败：{(result.stderr or result.stdout).strip()}")
    # Kite's search page talks to pagefind.js directly; Pagefind's ready-made UIs go unused.
    bundle = output or staging / "pagefind"
    for unused in ("pagefind-ui.*", "pagefind-component-ui.*", "pagefind-modular-ui.*", "pagefind-highlight.js"):
        for path in bundle.glob(unused):
            path.unlink()


def publish(staging: Path, site_dir: Path) -> None:
    """Swap the finished build in for the old site, in one step where the system allows."""
    if not site_dir.exists():
        staging.rename(site_dir)
        return
    if _exchange(staging, site_dir):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the old site
        return
    old = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.old-", dir=site_dir.parent))
    old.rmdir()
    site_dir.rename(old)
    try:
        staging.rename(site_dir)
    except OSError:
        old.rename(site_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _exchange(first: Path, second: Path) -> bool:
    """Linux's renameat2(RENAME_EXCHANGE): both paths swap at once, so the site is never missing."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    return result == 0
