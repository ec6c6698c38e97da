"""``build`` and ``check``: the phases of a site build, top to bottom.

Everything is read and validated before anything is written.  The site is built
into a temporary folder beside SITE_DIR and swapped in only when every phase has
succeeded, so a failed build leaves the published site exactly as it was.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import engine
from .errors import ContentErrors, Problem
from .loader import load_hub
from .models import Hub
from .pages import site_pages, template_data
from .progress import Progress, Stage
from .publisher import MARKER, BuildFailed, Publisher
from .site_lock import SiteBusy, site_lock

__all__ = ["BuildFailed", "BuildReport", "build", "check"]

YIELDING = 10  # niceness the build takes on while Pagefind runs (``yield_to_index``)


@dataclass
class BuildReport:
    hub: Hub
    site_dir: Path
    pages: int = 0
    rendered: int = 0  # pages rendered anew; the others were unchanged since the last build (kite.rendered)
    feeds: int = 0
    media: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stages: list[Stage] = field(default_factory=list)


def check(config_path: Path) -> Hub:
    """Validate config and content; raises ``ContentErrors`` with every problem."""
    return compiled(load_hub(config_path))


def compiled(hub: Hub) -> Hub:
    """``hub``, once its own templates compile where pages are rendered; ``check`` and ``build``
    both ask, so that they refuse the same hubs with the same words."""
    problems = engine.template_problems(hub, template_data(hub))
    if problems:
        raise ContentErrors(problems)
    return hub


def build(config_path: Path, site_dir: Path, *, now: datetime | None = None, progress: Progress | None = None,
          workers: int | None = None, yield_to_index: bool = False) -> BuildReport:
    """Build the site into ``site_dir``; ``now`` decides which activities are upcoming.

    One build at a time into a folder (``kite.site_lock``): a second one waits for the first.
    ``yield_to_index``: once the search index has started, the calling thread (and the processes it
    starts) runs at a lower priority, so that Pagefind, which the build then waits for, gets the CPU
    first; the rest takes what it leaves idle.  For a caller that ends with the build
    (the command line): the thread's priority cannot be raised again.
    """
    started = time.monotonic()
    progress = progress or Progress.silent()
    hub = compiled(load_hub(config_path, progress))
    site_dir = Path(site_dir).absolute()
    refuse_unsafe_target(site_dir, hub)
    waited: list[str] = []

    def wait(text: str) -> None:
        waited.append(text)
        progress.say(text)
        progress.stage("等待另一个构建")  # a line of its own: the wait is not the reading's time

    try:
        with site_lock(site_dir, say=wait):
            if waited:
                progress.advance()
                # The content may have changed while the other build ran (it is often why this one
                # was started): what is published last must be what is there now.
                hub = compiled(load_hub(config_path, progress))
                refuse_unsafe_target(site_dir, hub)
            specs = site_pages(hub, now or datetime.now(timezone.utc))
            report = BuildReport(hub, site_dir, pages=len(specs), warnings=[str(w) for w in hub.warnings])
            with Publisher.staged(site_dir, progress=progress, workers=workers, recorded=True) as site:
                report.warnings += site.render_pages(hub, specs, for_search=True)
                report.rendered = site.rendered
                # Pagefind reads only the pages, and it is the longest phase: it starts as soon as they
                # are written, and the rest is written while it runs.
                site.index_search()
                if yield_to_index:
                    _yield_cpu()
                report.feeds = site.write_subscriptions(hub, specs)
                report.media = site.copy_media(hub)
                site.write_offline_files(hub)
                site.precompress()
                site.publish(site_dir)
    except SiteBusy as error:  # a preview's folder
        raise BuildFailed(str(error)) from None
    progress.finish()
    report.stages = progress.stages
    report.seconds = time.monotonic() - started
    return report


def _yield_cpu() -> None:
    """Lower this thread's priority by ``YIELDING``: a hint, which a system that refuses it (a container
    forbidding setpriority) does not turn into a failed build."""
    try:
        os.nice(YIELDING)
    except OSError:
        pass


def refuse_unsafe_target(site_dir: Path, hub: Hub) -> None:
    """Never replace the hub itself, or a folder holding something other than a Kite site; and say at once,
    before any work, that a mount point cannot be replaced."""
    root = hub.root.resolve()
    target = site_dir.resolve()
    if os.path.ismount(target):
        # A Docker volume or a disk of its own: the new site is made beside the folder and swapped in
        # for it in one step, and a mount point can be neither swapped nor renamed (EBUSY, after all the work).
        raise ContentErrors([Problem(hub.config_path.name, 1, "site_dir",
                                     f"输出目录 {site_dir} 是一个挂载点（例如 Docker 的卷或单独的磁盘）：Kite 在它旁边生成新站点、"
                                     f"再一步换上去，挂载点本身换不了。请把输出目录设为挂载点里面的一个子文件夹，"
                                     f"例如 {site_dir / 'site'}，并让网站服务器指向那里")])
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
