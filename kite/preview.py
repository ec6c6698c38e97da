"""``serve``: a live preview for editors on loopback.

The first build is a full one.  After that, a saved change re-reads only the files
that changed, works out which pages now look different, renders just those into
the preview, and reloads the browser; the search index follows in the background.
A template or config change rebuilds everything.  A content error is printed in
the terminal and shown on top of every page, and the last good preview stays up.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from mkdocs.livereload import LiveReloadServer
from pydantic import BaseModel

from . import engine
from .build import build, copy_media, index_search, site_files, subscriptions, template_globals, write_files
from .errors import ContentErrors, Problem
from .loader import CONTENT_DIRS, Hub, ItemCache, load_hub
from .offline import remove_worker
from .pages import PageSpec, site_pages

log = logging.getLogger(__name__)


def watched_paths(config_path: Path) -> list[Path]:
    root = config_path.parent
    paths = [config_path, root / "templates", root / "content", *(root / folder for folder in CONTENT_DIRS.values())]
    return [path for path in dict.fromkeys(paths) if path.exists()]


class Fingerprints:
    """What each page is made of, hashed, to tell which pages an edit changed.

    Printing a model is the slow part, and the loader hands back the very same
    object for an unchanged file, so each model's text is kept by identity (the
    object itself is kept too, so its id cannot be reused by another).
    """

    def __init__(self) -> None:
        self._models: dict[int, tuple[object, str]] = {}
        self._seen: set[int] = set()

    def _text(self, value: object) -> str:
        if isinstance(value, BaseModel):
            key = id(value)
            self._seen.add(key)
            kept = self._models.get(key)
            if kept is None:
                kept = self._models[key] = (value, repr(value))
            return kept[1]
        if isinstance(value, (list, tuple)):
            return "[" + ",".join(self._text(item) for item in value) + "]"
        if isinstance(value, dict):
            return "{" + ",".join(f"{key!r}:{self._text(item)}" for key, item in value.items()) + "}"
        return repr(value)

    def of(self, specs: list[PageSpec]) -> dict[str, str]:
        self._seen = set()
        found = {}
        for spec in specs:
            # Models print every field but the body, which the spec carries as its Markdown.
            text = "|".join((spec.path, spec.template, spec.title, spec.markdown, repr(spec.description),
                             repr(spec.alternates), str(spec.search), self._text(spec.context)))
            found[spec.path] = hashlib.sha1(text.encode("utf-8")).hexdigest()
        self._models = {key: kept for key, kept in self._models.items() if key in self._seen}
        return found


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

    def __init__(self, config_path: Path, site_dir: Path, endpoint: str | None):
        self.config_path = config_path
        self.site_dir = site_dir
        self.endpoint = endpoint
        self.cache = ItemCache()
        self.fingerprints: dict[str, str] = {}
        self.everything_stamp: tuple | None = None
        self.problems: list[Problem] = []
        self.memo: dict = {}  # feeds and calendars by their inputs
        self.written: dict[str, str] = {}  # subscription files as last written
        self.hasher = Fingerprints()
        self._search = threading.Event()
        threading.Thread(target=self._index_in_background, name="kite-search-index", daemon=True).start()

    def _everything(self) -> tuple:
        return _stamp([self.config_path, self.config_path.parent / "templates"])

    def update(self) -> None:
        """Bring the preview up to date with the files; never raises for content problems."""
        started = time.monotonic()
        try:
            hub = load_hub(self.config_path, cache=self.cache)
        except ContentErrors as errors:
            self.problems = errors.problems
            for problem in errors.problems:
                print(problem, file=sys.stderr)
            print(f"发现 {len(errors.problems)} 个问题；浏览器里的预览会显示这些问题，并保持上一次成功的版本。", file=sys.stderr, flush=True)
            return
        self.problems = []
        now = datetime.now(timezone.utc)
        specs = site_pages(hub, now)
        stamp = self._everything()
        if stamp != self.everything_stamp or not self.site_dir.exists():
            self.memo = {}
            self.written = {}
            report = build(self.config_path, self.site_dir, now=now, endpoint=self.endpoint, memo=self.memo)
            remove_worker(self.site_dir)
            self.fingerprints = self.hasher.of(specs)
            self.written = subscriptions(hub, self.memo)  # what the build wrote, as the memo holds it
            self.everything_stamp = stamp
            print(f"已生成预览：{report.pages} 个页面，用时 {report.seconds:.1f} 秒", flush=True)
            return
        changed = self._render_changes(hub, specs)
        print(f"已更新 {changed} 个页面，用时 {time.monotonic() - started:.1f} 秒", flush=True)

    def _render_changes(self, hub: Hub, specs: list[PageSpec]) -> int:
        current = self.hasher.of(specs)
        changed = [spec for spec in specs if current[spec.path] != self.fingerprints.get(spec.path)]
        for path in set(self.fingerprints) - set(current):
            gone = self.site_dir / PageSpec(path, "", "").url / "index.html"
            gone.unlink(missing_ok=True)
        if changed:
            given = changed + [spec for spec in specs if spec.path in engine.NAV_SOURCES and spec not in changed]
            job = engine.Job(write={spec.path for spec in changed}, static=False, clean=False)
            engine.render(hub, given, self.site_dir, template_globals(hub, self.endpoint), job)
        files = site_files(hub, specs, self.memo)
        # Hundreds of calendar files: write only those whose text changed.
        fresh = {path: text for path, text in files.items() if self.written.get(path) is not text}
        write_files(self.site_dir, fresh, lambda: None)
        self.written = files
        copy_media(hub, self.site_dir, lambda: None)
        self.fingerprints = current
        if changed:
            self._search.set()
        return len(changed)

    def _index_in_background(self) -> None:
        """Re-index search after changes, into a new folder swapped in when complete."""
        while True:
            self._search.wait()
            time.sleep(1.0)  # editors save in bursts; index once they pause
            self._search.clear()
            work = Path(tempfile.mkdtemp(prefix="kite-search-"))
            try:
                index_search(self.site_dir, output=work / "pagefind", background=True)
                target = self.site_dir / "pagefind"
                old = work / "old"
                if target.exists():
                    target.rename(old)
                (work / "pagefind").rename(target)
            except Exception:  # the preview goes on without an updated index
                log.exception("搜索索引更新失败")
            finally:
                shutil.rmtree(work, ignore_errors=True)

    def banner(self) -> str:
        if not self.problems:
            return ""
        items = "".join(f"<li>{escape(str(problem))}</li>" for problem in self.problems[:50])
        return (
            '<div role="alert" style="position:fixed;z-index:1000;left:0;right:0;bottom:0;max-height:50vh;overflow:auto;'
            'background:#fff3f3;color:#7f0000;border-top:3px solid #b71c1c;padding:12px 16px;font:16px/1.6 system-ui,sans-serif">'
            f"<strong>内容有 {len(self.problems)} 个问题，预览显示的是上一次成功的版本：</strong>"
            f'<ul style="margin:6px 0 0;padding-left:20px">{items}</ul></div>'
        )


class PreviewServer(LiveReloadServer):
    """MkDocs's live-reload server, which also shows content problems on every page."""

    preview: Preview

    def request_rebuild(self) -> None:
        # What the server's own file watcher does when a watched file changes.
        with self._rebuild_cond:
            self._want_rebuild = True
            self._rebuild_cond.notify_all()

    def _inject_js_into_html(self, content: bytes, epoch: int) -> bytes:
        content = super()._inject_js_into_html(content, epoch)
        banner = self.preview.banner()
        if banner:
            content = content.replace(b"</body>", banner.encode("utf-8") + b"</body>", 1)
        return content


def serve(config_path: Path, *, host: str = "127.0.0.1", port: int = 8000) -> int:
    config_path = Path(config_path)
    workspace = Path(tempfile.mkdtemp(prefix="kite-preview-"))
    site_dir = workspace / "site"
    endpoint = start_checkin(config_path, workspace, host, port)
    preview = Preview(config_path, site_dir, endpoint)
    preview.update()
    if not site_dir.exists():
        # The very first build failed: serve a page that shows the problems.
        site_dir.mkdir(parents=True)
        (site_dir / "index.html").write_text(
            "<!doctype html><html lang=zh><meta charset=utf-8><title>预览</title><body><h1>预览暂不可用</h1></body></html>",
            encoding="utf-8")
    try:
        base_path = load_hub(config_path, cache=preview.cache).config.base_path
    except ContentErrors:
        base_path = "/"
    logging.getLogger("mkdocs.livereload").setLevel(logging.WARNING)
    # Polling every 0.2 s notices a save quickly; it costs a few milliseconds of stat calls.
    server = PreviewServer(preview.update, host, port, str(site_dir), mount_path=base_path, polling_interval=0.2)
    server.preview = preview
    server.build_delay = 0.05
    watching: set[Path] = set()

    def watch_new_folders() -> bool:
        added = False
        for path in watched_paths(config_path):
            if path not in watching:
                watching.add(path)
                server.watch(str(path))
                added = True
        return added

    def look_for_new_folders() -> None:
        # A folder created after the start (say, templates/) is watched from then on.
        while True:
            time.sleep(0.5)
            if watch_new_folders():
                server.request_rebuild()

    watch_new_folders()
    threading.Thread(target=look_for_new_folders, name="kite-new-folders", daemon=True).start()
    print(f"预览地址：{server.url}  （按 Ctrl+C 停止）", flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        shutil.rmtree(workspace, ignore_errors=True)
    return 0


def start_checkin(config_path: Path, workspace: Path, host: str, port: int) -> str | None:
    """The check-in endpoint on the next port, recording into a throwaway database."""
    from .attendance.server import run_in_background

    checkin_port = port + 1
    try:
        run_in_background(config_path, workspace / "preview.sqlite3", host, checkin_port, (f"http://{host}:{port}",))
    except ContentErrors:
        return None
    url = f"http://{host}:{checkin_port}"
    print(f"签到服务（仅供预览，数据不保留）：{url}/checkin", flush=True)
    return url
