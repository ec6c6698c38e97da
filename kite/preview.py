"""``serve``: a live preview for editors on loopback.

The first render is a full one.  After that, a saved change re-reads only the files
that changed (the hub is loaded once per change), the publisher renders just the
pages that now look different, and the browser reloads; the search index follows in
the background.  A template or config change renders everything again, into a new
folder swapped in when complete.  Drafts are shown, marked 草稿.  A content or
template error is printed in the terminal and shown on top of every page, and the
last good preview stays up.
"""

from __future__ import annotations

import errno
import gc
import logging
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Callable

from .attendance.sessions import RosterSource
from .engine.livereload import PreviewServer
from .errors import ContentErrors
from .loader import ItemCache, load_config, load_hub
from .models import CONTENT_DIRS, Hub
from .pages import PageSpec, next_past, site_pages
from .ports import free_port, is_free
from .publisher import BuildFailed, Publisher
from .search import Indexing, SearchIndexFailed, reindex_search
from .site_lock import PREVIEW, abandoned, site_lock

log = logging.getLogger(__name__)


def later_page(spec: PageSpec) -> int:
    """A list's later pages (their place from the first page; 0 for any other page): where an edit
    changed many pages (a lesson dated before others moves every later page of its lists by one),
    these are rendered by the update after, once the lesson itself, the home page and the lists'
    first pages show, the newest first (``Publisher.render_changed_pages``)."""
    pager = spec.context.get("pager")
    return pager.number if pager is not None and pager.number > 1 else 0


def watched_paths(config_path: Path) -> list[Path]:
    root = config_path.parent
    paths = [config_path, root / "templates", root / "content", *(root / folder for folder in CONTENT_DIRS.values())]
    return [path for path in dict.fromkeys(paths) if path.exists()]


def _stamp(paths: list[Path]) -> tuple:
    """Modification times of the files that change every page: config and templates."""
    found = []
    for path in paths:
        if path.is_file():
            found.append((str(path), path.stat().st_mtime_ns))
        elif path.is_dir():
            found.extend((str(p), p.stat().st_mtime_ns) for p in sorted(path.rglob("*")) if p.is_file())
    return tuple(found)


class Preview:
    """The preview's state between rebuilds."""

    def __init__(self, config_path: Path, site_dir: Path, endpoint: str | None, cache: ItemCache | None = None,
                 roster: RosterSource | None = None):
        self.config_path = config_path
        self.site_dir = site_dir
        self.endpoint = endpoint
        self.cache = ItemCache() if cache is None else cache
        self.roster = roster  # the check-in endpoint's, handed each hub loaded (RosterSource.follow)
        self.site: Publisher | None = None  # the publisher of what is being served
        self.everything_stamp: tuple | None = None
        self.next_past: datetime | None = None  # when an upcoming activity becomes past
        self.problems: list[str] = []  # shown on every page until fixed
        self.more = False  # the last update left pages for the next (``later_page``): ``serve`` asks for it
        self.warnings: list[str] = []  # printed in the terminal as they appear
        self._search = threading.Event()
        # The index being built in the background, where ``close`` can stop it.
        self._lock = threading.Lock()
        self._indexing: Indexing | None = None
        # What the last re-index made, so that the next links the parts made from unchanged pages.
        self._index_parts: dict | None = None
        self._closed = False
        self._idle = threading.Event()
        self._idle.set()
        threading.Thread(target=self._index_in_background, name="kite-search-index", daemon=True).start()

    def _everything(self) -> tuple:
        return _stamp([self.config_path, self.config_path.parent / "templates"])

    def update(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Bring the preview up to date with the files; never raises for content problems.

        Where an edit changed many pages, the lists' later pages are left for the next update
        (``more``), which renders them a share at a time until ``stop`` says a file changed again."""
        started = time.monotonic()
        catch_up, self.more = self.more, False
        try:
            # Check-in forms post to the preview's own endpoint.
            hub = load_hub(self.config_path, cache=self.cache, drafts=True).with_endpoint(self.endpoint)
        except ContentErrors as errors:
            self._show_problems([str(problem) for problem in errors.problems])
            return
        if self.roster is not None:
            self.roster.follow(hub)
        now = datetime.now(timezone.utc)
        specs = site_pages(hub, now)
        # Pages change then without an edit: ``serve`` updates the preview at that moment.
        self.next_past = next_past(hub.announcements, now, hub.config.zone)
        stamp = self._everything()
        try:
            if self.site is None or stamp != self.everything_stamp:
                first = self.site is None
                self._render_everything(hub, specs)
                self.everything_stamp = stamp
                print(f"已生成预览：{len(specs)} 个页面（含 {hub.drafts} 篇草稿），用时 {time.monotonic() - started:.1f} 秒", flush=True)
                if first:
                    # What stays for the session (the models, the pages' specs) is kept out of the
                    # garbage collector's full passes, which cost a save at 10,000 lessons 0.1 s each.
                    gc.collect()
                    gc.freeze()
            else:
                changed = self.site.update(hub, specs, later=later_page, stop=stop, catch_up=catch_up)
                if self.site.searched_changed:
                    self._search.set()
                self.more = self.site.pending > 0
                rest = f"（其余 {self.site.pending} 个列表页接着更新）" if self.more else ""
                print(f"已更新 {changed} 个页面{rest}，用时 {time.monotonic() - started:.1f} 秒", flush=True)
        except BuildFailed as error:
            self._show_warnings([str(warning) for warning in hub.warnings])
            self._show_problems([str(error)])
            return
        self._show_warnings([str(warning) for warning in hub.warnings] + self.site.render_warnings)
        self.problems = []

    def _render_everything(self, hub: Hub, specs: list) -> None:
        first = self.site is None
        with Publisher.staged(self.site_dir, incremental=True) as site:
            site.render_pages(hub, specs)
            site.write_subscriptions(hub, specs)
            site.copy_media(hub)
            site.write_offline_files(hub, worker=False)
            if first:
                site.index_search()  # before the server starts, so search works from the first visit
            site.publish(self.site_dir)
        self.site = site
        if not first:
            self._search.set()

    def _show_warnings(self, warnings: list[str]) -> None:
        """What ``build`` would warn about (a link to a lesson that does not exist), printed once
        when it first appears, not again on every save."""
        for warning in warnings:
            if warning not in self.warnings:
                print(f"警告：{warning}", file=sys.stderr, flush=True)
        self.warnings = warnings

    def _show_problems(self, problems: list[str]) -> None:
        self.problems = problems
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"发现 {len(problems)} 个问题；浏览器里的预览会显示这些问题，并保持上一次成功的版本。", file=sys.stderr, flush=True)

    def _index_in_background(self) -> None:
        # Ctrl+C in the terminal reaches the whole process group. The indexer this thread forks must
        # not take it: forked in the middle of Python's after-fork code, it would print a
        # KeyboardInterrupt traceback into the editor's terminal. It inherits this thread's blocked
        # SIGINT through exec; ``close`` ends it, and it dies with the preview (search._with_parent).
        # The preview itself still takes Ctrl+C: Python runs signal handlers in the main thread.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        while True:
            self._search.wait()
            time.sleep(1.0)  # editors save in bursts; index once they pause
            self._search.clear()
            try:
                if self.site is not None:
                    self._reindex(self.site.folder)
            except SearchIndexFailed as error:  # the preview goes on without an updated index
                log.warning("%s（预览照常，搜索结果可能不是最新的）", error)
            except Exception:
                if not self._closed:
                    log.exception("搜索索引更新失败")

    def _reindex(self, site: Path) -> None:
        """``search.reindex_search``, with the running indexer kept where ``close`` can end it."""
        if self._closed:
            return
        self._idle.clear()
        try:
            self._index_parts = reindex_search(site, started=self._keep, last=self._index_parts)
        except SearchIndexFailed:
            if self._closed or self._indexing.process.returncode in (-signal.SIGINT, -signal.SIGKILL):
                return  # Ctrl+C in the terminal reached the indexer too, or the preview is stopping
            raise
        finally:
            with self._lock:
                self._indexing = None
                self._idle.set()

    def _keep(self, indexing: Indexing) -> None:
        with self._lock:
            self._indexing = indexing
            closed = self._closed
        if closed:  # ``close`` came while it was starting
            indexing.process.kill()

    def close(self) -> None:
        """End an index being built (its process and its Pagefind), so that nothing writes into the
        workspace while it is removed."""
        with self._lock:
            self._closed = True
            indexing = self._indexing
        if indexing is not None:
            try:
                indexing.process.kill()  # its Pagefind dies with it (search._with_parent)
            except ProcessLookupError:
                pass
            self._idle.wait(10)

    def banner(self) -> str:
        if not self.problems:
            return ""
        items = "".join(f"<li>{escape(problem)}</li>" for problem in self.problems[:50])
        return (
            '<div role="alert" style="position:fixed;z-index:1000;left:0;right:0;bottom:0;max-height:50vh;overflow:auto;'
            'background:#fff3f3;color:#7f0000;border-top:3px solid #b71c1c;padding:12px 16px;font:16px/1.6 system-ui,sans-serif">'
            f"<strong>内容有 {len(self.problems)} 个问题，预览显示的是上一次成功的版本：</strong>"
            f'<ul style="margin:6px 0 0;padding-left:20px">{items}</ul></div>'
        )


def serve(config_path: Path, *, host: str = "127.0.0.1", port: int = 8000) -> int:
    config_path = Path(config_path)
    # Said before anything is built: most often a preview already runs in another terminal.
    refusal = _cannot_listen(host, port)
    if refusal:
        print(refusal, file=sys.stderr, flush=True)
        return 1
    # Stopped with ``kill`` or by closing the terminal, the preview ends as with Ctrl+C: its
    # workspace (a whole site, 400 MB on a big hub) is removed, not left in the temp folder.
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, _interrupt)
    _remove_abandoned(Path(tempfile.gettempdir()))
    workspace = Path(tempfile.mkdtemp(prefix=WORKSPACE))
    site_dir = workspace / "site"
    preview: Preview | None = None
    held = ExitStack()  # the folder is the preview's while it runs: a build into it is refused
    try:
        held.enter_context(site_lock(site_dir, holder=PREVIEW))
        cache = ItemCache()  # the items read, shared by the preview and its endpoint's first reading
        endpoint, checkin_later = start_checkin(config_path, workspace, host, port, cache=cache)
        preview = Preview(config_path, site_dir, endpoint, cache, checkin_roster())
        preview.update()
        if not site_dir.exists():
            # The very first render failed: serve a page that shows the problems.
            site_dir.mkdir(parents=True)
            (site_dir / "index.html").write_text(
                "<!doctype html><html lang=zh><meta charset=utf-8><title>预览</title><body><h1>预览暂不可用</h1></body></html>",
                encoding="utf-8")
        logging.getLogger("mkdocs.livereload").setLevel(logging.WARNING)

        config_stamp = _stamp([config_path])

        def rebuild() -> None:
            nonlocal checkin_later, config_stamp
            continuing = preview.more
            if continuing:
                server.serve_during_rebuild()
            preview.update(stop=server.rebuild_wanted)
            if checkin_later and not preview.problems:
                # The hub reads now: the endpoint starts, and every page's form is pointed at it.
                preview.endpoint, checkin_later = start_checkin(config_path, workspace, host, port, quiet=True,
                                                                cache=preview.cache)
                if preview.endpoint is not None:
                    preview.roster = checkin_roster()
                    preview.everything_stamp = None
                    preview.update()
            # site_url's path changed, or was only now readable: the preview moves there with it.
            stamp = _stamp([config_path])
            if stamp != config_stamp:
                config_stamp = stamp
                base_path = _base_path(config_path)
                # A config that cannot be read now leaves the preview where it is (the banner says why).
                if base_path is not None and server.move_to(base_path):
                    print(f"预览地址改为：{server.url}", flush=True)
            if continuing:
                server.reload_after_rebuild()
            if preview.more:
                server.request_rebuild()  # the browsers reload first, with what matters most to the editor

        server = PreviewServer(rebuild, host, port, site_dir, mount_path=_base_path(config_path) or "/", banner=preview.banner)
        watching: dict[Path, tuple[int, int]] = {}  # each watched path, and which file or folder it was

        def watch_new_folders() -> bool:
            changed = False
            current = {path: _identity(path) for path in watched_paths(config_path)}
            lost = set(server.lost_watches())  # (absolute paths, as MkDocs keeps them)
            for path, identity in list(watching.items()):
                if current.get(path) != identity or os.path.abspath(path) in lost:
                    # Removed, or removed and made again (lessons/ deleted, then restored): the
                    # system's watch went with the old folder.
                    server.unwatch(str(path))
                    del watching[path]
                    changed = True
            for path, identity in current.items():
                if path not in watching and identity is not None:
                    watching[path] = identity
                    server.watch(str(path))
                    changed = True
            return changed

        def look_for_new_folders() -> None:
            # A folder created after the start (say, templates/) is watched from then on; and an
            # activity that has just ended moves among the past without waiting for a save.
            while True:
                time.sleep(0.5)
                due = preview.next_past
                if watch_new_folders() or (due is not None and datetime.now(timezone.utc) > due):
                    preview.next_past = None  # (set again by the update)
                    server.request_rebuild()

        watch_new_folders()
        threading.Thread(target=look_for_new_folders, name="kite-new-folders", daemon=True).start()
        print(f"预览地址：{server.url}  （按 Ctrl+C 停止）", flush=True)
        try:
            server.serve()
        except KeyboardInterrupt:
            pass
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            # Taken between the check above and now (two previews started at once).
            print(_port_taken(port), file=sys.stderr, flush=True)
            return 1
        finally:
            server.shutdown()
    finally:
        stop_checkin()
        if preview is not None:
            preview.close()
        held.close()
        _remove(workspace)
    return 0


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _base_path(config_path: Path) -> str | None:
    """The path the preview serves the site at: site_url's; None while the config cannot be read."""
    try:
        return load_config(config_path).base_path
    except ContentErrors:
        return None


WORKSPACE = "kite-preview-"  # the prefix of a preview's folder in the temp folder


def _remove_abandoned(temp: Path) -> list[Path]:
    """Remove the workspaces that killed previews left in ``temp`` (400 MB each on a big hub): a
    preview holds its folder's lock while it runs, so a workspace whose lock file is there but held
    by nobody is no running preview's.  Only the user's own folders; returns those being removed."""
    found = []
    for path in temp.glob(f"{WORKSPACE}*"):
        try:
            status = path.lstat()
        except OSError:
            continue
        if stat.S_ISDIR(status.st_mode) and status.st_uid == os.geteuid() and abandoned(path / "site"):
            _remove(path)
            found.append(path)
    return found


# Removes a folder, again while a Pagefind killed a moment ago may still be ending and writing into it.
_REMOVE = """
import os, shutil, sys, time
for _ in range(50):
    shutil.rmtree(sys.argv[1], ignore_errors=True)
    if not os.path.lexists(sys.argv[1]):
        break
    time.sleep(0.1)
"""


def _remove(folder: Path) -> None:
    """Remove the workspace in a process of its own, which the preview does not wait for.

    A big hub's workspace (13,175 pages and their search index: tens of thousands of small files)
    took 15.6 s to delete on a busy machine, and the editor's terminal waited that long after
    Ctrl+C.  The remover runs in a session of its own, so the terminal's Ctrl+C or hang-up that
    ended the preview does not end it too.
    """
    try:
        subprocess.Popen([sys.executable, "-I", "-c", _REMOVE, str(folder)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:  # no process to be had: remove it here
        shutil.rmtree(folder, ignore_errors=True)


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the preview could not listen on ``port``, or None.  Bound as its server binds (address
    reuse on, so the closed connections of a preview just stopped do not count)."""
    if not 0 < port < 65536:
        return f"预览没有启动：端口应是 1 到 65535 之间的数，实际为 {port}"
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return _port_taken(port)
            return f"预览没有启动：不能使用端口 {port}（{error.strerror}），请换一个端口，例如 --port 8000"
    return None


def _port_taken(port: int) -> str:
    other = port + 10 if port + 10 < 65536 else 8000
    return (f"预览没有启动：端口 {port} 已被占用（可能另一个终端里已经在运行 serve）。"
            f"请先关掉那个预览（按 Ctrl+C），或换一个端口，例如 --port {other}")


def _interrupt(number: int, frame) -> None:
    raise KeyboardInterrupt


# The endpoints this process started, to be stopped before it exits: Python ending while uvicorn's
# thread still runs its event loop crashed the process (SIGSEGV) in about one stop in twenty.
_checkin_servers: list = []  # attendance.server.InBackground


def stop_checkin() -> None:
    for running in _checkin_servers:
        running.stop()
    _checkin_servers.clear()


def checkin_roster() -> RosterSource | None:
    """The roster of the endpoint started last (``start_checkin``), which the preview keeps up to date."""
    return _checkin_servers[-1].roster if _checkin_servers else None


def start_checkin(config_path: Path, workspace: Path, host: str, port: int, *,
                  quiet: bool = False, cache: ItemCache | None = None) -> tuple[str | None, bool]:
    """The check-in endpoint beside the preview, recording into a throwaway database: its URL, and
    whether it is worth trying again after a later save (the hub could not be read, or had no
    attendance settings yet).  ``cache``: the preview's items, read once for both.

    It takes the port after the preview's when that is free, else any free one; either
    way the terminal says where it runs, or why it does not (``quiet``: only where it runs).
    """
    from .attendance.server import run_in_background

    def say(text: str) -> None:
        if not quiet:
            print(text, flush=True)

    try:
        if load_config(config_path).attendance is None:
            say("签到服务没有启动：site_config.yml 里没有 attendance 设置，页面上不会有签到表单。")
            return None, True
        checkin_port = port + 1 if is_free(host, port + 1) else free_port(host)
        url = f"http://{host}:{checkin_port}"
        # The endpoint too takes itself to be there: its desk's cookies are then not https-only.
        running = run_in_background(config_path, workspace / "preview.sqlite3", host, checkin_port,
                                    (f"http://{host}:{port}",), endpoint=url, cache=cache)
        _checkin_servers.append(running)
    except ContentErrors:
        say("签到服务暂未启动：内容有错误（见下）。改好保存后会自动启动。")
        return None, True
    deadline = time.monotonic() + 10
    while not running.started:
        if time.monotonic() > deadline:
            print(f"签到服务没有启动：端口 {checkin_port} 无法使用。页面上的签到表单在预览中不能试用。", flush=True)
            return None, False
        time.sleep(0.02)
    print(f"签到服务（仅供预览，数据不保留）：{url}/checkin", flush=True)
    password = _preview_account(config_path, workspace / "preview.sqlite3")
    print(f"工作台（仅供预览）：{url}/desk/  账号 {PREVIEW_LOGIN}，密码 {password}"
          "（可以主持现场签到、取得签到码，查看预览里的签到）", flush=True)
    return url, False


PREVIEW_LOGIN = "preview"


def _preview_account(config_path: Path, db: Path) -> str:
    """An account of scope ``all`` in the preview's throwaway database, with a new random password:
    an editor trying an ``attendance: code`` activity needs the desk's live page for its code."""
    from .desk.commands import CommandProblem, add_account, change_password
    from .storage import open_store
    from .storage.desk import DeskStore

    password = secrets.token_urlsafe(12)
    store = open_store(db)
    try:
        desk = DeskStore(store)
        try:
            add_account(desk, load_config(config_path), PREVIEW_LOGIN, "all", password)
        except CommandProblem:  # made when this preview's endpoint first started
            change_password(desk, PREVIEW_LOGIN, password)
    finally:
        store.close()
    return password
