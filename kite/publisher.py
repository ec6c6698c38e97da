"""The publisher: everything written into one site folder, from an already loaded hub.

Pages (all, or only those whose inputs changed), feeds, calendars and the sitemap,
media, the search index, precompressed copies, and the final swap into place.  The
build runs each phase once over a fresh staging folder; the preview keeps one
publisher for its folder and calls ``update`` after every edit.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import quote

from . import engine, feeds, ics, rendered, reuse
from .compress import precompress, text_files
from .media import MEDIA_DIR
from .models import Hub
from .offline import WORKER, OfflineFilesFailed, icon, offline_files
from .pages import PageSpec, TemplateData, template_data
from .parallel import default_workers, render_pages
from .progress import Progress
from .search import (BUNDLE, Indexing, SearchIndexFailed, bundle_identities, listed_pages, marked_lists,
                     new_scratch, record_marked, start_index)
from .site_lock import site_lock

MARKER = ".kite-site"  # a folder holding this file is a Kite site that a build may replace
# How many changed pages an update renders at once before leaving some for the next (the
# preview; ``render_changed_pages``): 100 of the big hub's list pages take about 0.2 s.
AT_ONCE = 100


class BuildFailed(Exception):
    """A phase after validation failed; the message is for the editor."""


class Publisher:
    """``incremental``: remember what each page was made of, so that ``update`` can render
    only what an edit changed (the preview); a one-off build need not pay for that.
    ``recorded``: render only the pages changed since the build that published ``previous``, and
    record what was published for the next build (``kite.rendered``; the build's, not the preview's)."""

    def __init__(self, folder: Path, *, progress: Progress | None = None, workers: int | None = None,
                 incremental: bool = False, previous: Path | None = None, recorded: bool = False,
                 site: Path | None = None):
        self.folder = Path(folder)
        self.site_name = Path(site or folder).name  # the site folder this one becomes (``staged``)
        # The published site this folder will replace: what is unchanged is linked from it (kite.reuse).
        self.previous = previous
        self.progress = progress or Progress.silent()
        self.workers = workers or default_workers()
        self.incremental = incremental
        # What each page in the folder was made from, by its source path: an edit re-renders a page
        # only if its spec no longer compares equal (see ``render_changed_pages``).
        self._pages: dict[str, PageSpec] = {}
        # Rendering's warnings (a broken link) of the pages in the folder, by page source path.
        self._warnings: dict[str, list[str]] = {}
        self._files: dict[str, str] = {}  # generated file -> the text in the folder
        self._made: dict[str, tuple[str, object]] = {}  # feed or calendar -> (its inputs, what they made)
        self._media: set[str] = set()  # the names under media/ that ``copy_media`` put there
        self._search: Indexing | None = None  # the search index being built
        self._scratch: Path | None = None  # its folder, made before it starts (render_pages(for_search=True))
        self.recorded = recorded
        self.rendered = 0  # pages rendered by the last render_pages; the others were linked unchanged
        # What to record once published (``recorded``): the key, and each page's spec, warnings and
        # whether it marks something to index; ``publish`` adds the files.
        self._record: tuple[str, dict[str, tuple[PageSpec, tuple[str, ...], bool]]] | None = None
        self._compressed: set[str] = set()  # pages whose compressed copies were linked with them
        self._pending: set[str] = set()  # changed pages the last ``render_changed_pages`` left for the next
        self.searched_changed = False  # whether it rendered or removed a page the search index holds
        self._published_search: dict | None = None  # what the last build recorded of the index it published
        self._search_parts: list[str] | None = None  # this index's parts' digests (kite.search.part_digest)

    @classmethod
    @contextmanager
    def staged(cls, site_dir: Path, **options) -> Iterator[Publisher]:
        """A publisher for a new folder beside ``site_dir``, removed again unless ``publish``
        swapped it in: whatever fails, ``site_dir`` stays exactly as it was.

        With the site's lock held throughout (``kite.site_lock``; the build took it already, the
        preview holds it while it runs): the published site chosen to link from is the one this
        publisher replaces, and no other build swaps a site in meanwhile."""
        with site_lock(site_dir) as site_dir:
            staging = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.new-", dir=site_dir.parent))
            # mkdtemp makes a private folder; the published site must be readable by the web server.
            staging.chmod(0o777 & ~_umask())
            reuse.fresh_mode.cache_clear()  # a file of the published site is linked only if its mode is what the umask gives now
            previous = site_dir if (site_dir / MARKER).is_file() else None
            publisher = cls(staging, previous=previous, site=site_dir, **options)
            try:
                yield publisher
            except BaseException:
                publisher.abandon()
                shutil.rmtree(staging, ignore_errors=True)
                raise

    # -- pages ---------------------------------------------------------------------------

    def render_pages(self, hub: Hub, specs: list[PageSpec], for_search: bool = False) -> list[str]:
        """Empty the folder and render every page, with the theme's files; return warnings.

        ``for_search``: an ``index_search`` follows, and takes the pages to index as they were written.
        ``recorded`` (with ``for_search``): a page whose spec is as the last build recorded is linked
        from the published site instead (``kite.rendered``)."""
        self.progress.stage("生成页面", len(specs))
        data = template_data(hub, published_media(hub).values())
        if for_search and self._scratch is None:
            self._scratch = new_scratch(self.folder, self.site_name)
        marked = str(marked_lists(self._scratch)) if for_search else None
        key = rendered.rendering_key(hub, data.media) if self.recorded and for_search else None
        last = rendered.load(self.previous, key) if key and self.previous else None
        kept = self._link_unchanged(specs, last) if last else {}
        self._published_search = last.search if last else None
        write = {spec.path for spec in specs if spec.path not in kept} if last else None
        self.rendered = len(specs) - len(kept)
        try:
            warnings = render_pages(hub, specs, self.folder, data, self.progress.advance, self.workers,
                                    str(self.previous) if self.previous else None, marked, write)
        except engine.RenderFailed as error:
            raise BuildFailed(f"生成页面时出错：{error}")
        if key is not None:
            warnings = self._remember(key, specs, kept, warnings, marked)
        self._pages = {spec.path: spec for spec in specs} if self.incremental else {}
        self._warnings = _by_page(specs, warnings) if self.incremental else {}
        self._files = {}  # the folder was emptied
        # Templates or config may differ; the last build's feeds and calendars serve if they did not.
        self._made = dict(last.made) if last else {}
        # The files MkDocs writes itself: the 404 and offline pages and the theme's assets.
        self._keep_unchanged("404.html", "offline.html", "assets")
        return warnings

    def _link_unchanged(self, specs: list[PageSpec], last: rendered.Record) -> dict[str, rendered.Page]:
        """Link into the folder the published files of each page whose spec is as ``last`` recorded
        it, each file checked to be the one recorded; return those pages, by path."""
        # As in ``render_changed_pages``: a link to another page's Markdown file follows pages coming and going.
        moved = {spec.path for spec in specs} != last.pages.keys()
        same = [page for spec in specs if (page := last.pages.get(spec.path)) is not None and page.spec == spec
                and not (moved and ".md" in spec.markdown)]
        previous, folder = str(self.previous), str(self.folder)
        kept = {}
        # (One thread: with four, 2,850 pages took as long; the time is the kernel's, making folders.)
        for page in same:
            html = rendered.page_file(page.spec)
            if not _link_recorded(previous, folder, html, page.files):
                continue
            kept[page.spec.path] = page
            self.progress.advance()
            copies = [html + suffix for suffix in rendered.COMPRESSED if html + suffix in page.files]
            if all(_link_recorded(previous, folder, name, page.files, beside=True) for name in copies):
                self._compressed.add(os.path.join(folder, html))  # ``precompress`` leaves it alone
        return kept

    def _remember(self, key: str, specs: list[PageSpec], kept: dict[str, rendered.Page], warnings: list[str],
                  marked: str | None) -> list[str]:
        """List the kept pages that mark something to index, as rendering listed the others; keep
        what to record once the folder is published; return the warnings of all pages, the kept
        ones' as recorded, in page order (MkDocs's own, which name no page, last)."""
        if marked is not None:
            record_marked([rendered.page_file(page.spec) for page in kept.values() if page.marked], marked)
        found = _by_page([spec for spec in specs if spec.path not in kept], warnings)
        listed = set(listed_pages(Path(marked))) if marked is not None else set()
        pages = {spec.path: (spec, kept[spec.path].warnings if spec.path in kept else tuple(found.get(spec.path, ())),
                             rendered.page_file(spec) in listed) for spec in specs}
        self._record = key, pages
        return [warning for spec, page_warnings, _ in pages.values() for warning in page_warnings] + found.get("", [])

    @property
    def pending(self) -> int:
        """How many changed pages the last ``render_changed_pages`` left for the next."""
        return len(self._pending)

    @property
    def render_warnings(self) -> list[str]:
        """What rendering warned about the pages now in the folder (kept up to date by ``update``)."""
        return list(dict.fromkeys(warning for warnings in self._warnings.values() for warning in warnings))

    def render_changed_pages(self, hub: Hub, specs: list[PageSpec], later: Callable[[PageSpec], int] | None = None,
                             stop: Callable[[], bool] = lambda: False, catch_up: bool = False) -> int:
        """Render only the pages whose inputs changed since the last render; remove those gone.

        ``later``: where more than ``AT_ONCE`` pages changed, those it gives a rank (not 0), which
        existed before, are left for a later call (``pending`` counts them): the others are what the
        edit was about.
        A lesson dated before most, added to a hub of 10,000, moves every later page of the lists it
        is in by one (``pages.list_pages``: some 700 pages, 500 of them the lessons list's); so does
        deleting one, and a template edit changes every page.  The editor looks at the lesson, the
        home page and the lists' first pages first.  ``catch_up``: a call for the pages left before;
        where nothing else changed, it renders them ``AT_ONCE`` at a time in the order of their
        ranks, until ``stop`` says another edit is waiting.

        A page's inputs are its spec: the models, Markdown and context it is rendered from.  Specs are
        frozen dataclasses, and so are the models, which the loader hands back as the very same
        objects for unchanged files; comparing a spec with the last one therefore mostly meets
        objects identical to themselves, which Python's container comparison passes without looking
        inside.  At 10,000 lessons comparing every page takes 0.05 s, where printing what each was
        made of took 0.3–0.7 s of a 1 s edit.  Values compare fully, body included; what a page
        does not show is left out of its spec's comparison (``Term.lessons``).
        """
        current = {spec.path: spec for spec in specs}
        changed = {path for path, spec in current.items() if self._pages.get(path) != spec}
        if current.keys() != self._pages.keys():
            # A link to another page's Markdown file (``../b1.md``) becomes that page's address, or a
            # warning, as the page exists: a page with one follows pages appearing and going.
            changed |= {path for path, spec in current.items() if ".md" in spec.markdown}
        gone = set(self._pages) - set(current)
        for path in gone:
            (self.folder / PageSpec(path, "", "").url / "index.html").unlink(missing_ok=True)
            self._warnings.pop(path, None)
        shares = [changed]
        if later is not None and len(changed) > AT_ONCE:
            deferred = {path for path in changed if path in self._pages and later(current[path])}
            if not catch_up or deferred != changed:
                shares = [changed - deferred]
            else:
                ordered = sorted(deferred, key=lambda path: (later(current[path]), path))
                shares = [set(ordered[start:start + AT_ONCE]) for start in range(0, len(ordered), AT_ONCE)]
        done: set[str] = set()
        data = template_data(hub, published_media(hub).values()) if changed else None
        for share in shares:
            if done and stop():
                break
            self._render_share(hub, specs, data, share)
            done |= share
        self._pending = changed - done
        # Whether the search index must follow: the lists, which most of a big update is, are not in it.
        self.searched_changed = any(current[path].search for path in done) or any(self._pages[path].search for path in gone)
        # A page left for later keeps the spec it was rendered from: the next call finds it changed.
        self._pages = {path: self._pages[path] if path in self._pending else spec for path, spec in current.items()}
        return len(done)

    def _render_share(self, hub: Hub, specs: list[PageSpec], data: TemplateData, share: set[str]) -> None:
        if not share:
            return
        try:
            warnings = engine.render(hub, specs, self.folder, data, engine.Job(write=share, static=False, clean=False))
        except engine.RenderFailed as error:
            raise BuildFailed(f"生成页面时出错：{error}")
        for path in share | {""}:
            self._warnings.pop(path, None)
        self._warnings.update(_by_page([spec for spec in specs if spec.path in share], warnings))

    def update(self, hub: Hub, specs: list[PageSpec], later: Callable[[PageSpec], int] | None = None,
               stop: Callable[[], bool] = lambda: False, catch_up: bool = False) -> int:
        """After an edit: the changed pages (but what ``later`` picks, where many changed: see
        ``render_changed_pages``), files and media; returns how many pages were rendered."""
        changed = self.render_changed_pages(hub, specs, later, stop, catch_up)
        self.write_subscriptions(hub, specs)
        self.copy_media(hub)
        return changed

    # -- generated files ---------------------------------------------------------------

    def write_subscriptions(self, hub: Hub, specs: list[PageSpec]) -> int:
        """Feeds, calendars and the sitemap; a file whose text is unchanged is not rewritten."""
        files = self._subscription_files(hub, specs)
        self.progress.stage("订阅与日历", len(files))
        for path, text in files.items():
            if self._files.get(path) != text:
                self.write_file(path, text)
            self.progress.advance()
        for gone in self._files.keys() - files.keys():  # a deleted activity's calendar (the preview)
            (self.folder / gone).unlink(missing_ok=True)
            self._made.pop(gone.removesuffix("event.ics"), None)
        self._files = files
        return len(files)

    def write_file(self, path: str, content: str | bytes) -> None:
        """Write one generated file at ``path`` (site-relative, '/'-separated) into the site."""
        # Encoded as written, with no newline translation: the calendar's CRLF line ends stay exactly
        # as RFC 5545 wants them.
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        target = str(self.folder / path)
        reuse.write(data, target, reuse.counterpart(target, str(self.folder), str(self.previous) if self.previous else None))

    def _subscription_files(self, hub: Hub, specs: list[PageSpec]) -> dict[str, str]:
        hub = hub.published()  # drafts are never in a feed, a calendar or the sitemap
        config = hub.config
        once = self._once
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
        urls = tuple(spec.url for spec in specs if not spec.draft)
        files["sitemap.xml"] = once("sitemap", urls, lambda: feeds.sitemap(config, [quote(url) for url in urls]))
        return files

    def _once(self, name: str, inputs: object, make: Callable[[], object]):
        """``make()``, or what it made last time for the same inputs (the preview's many updates)."""
        kept = self._made.get(name)
        if kept is None or kept[0] != inputs:  # compared as a page's spec is (render_changed_pages)
            kept = self._made[name] = (inputs, make())
        return kept[1]

    # -- media, search, compression, publishing ---------------------------------------

    def copy_media(self, hub: Hub) -> int:
        """Put every media file a published page uses into ``media/``; drafts' files stay private."""
        files = published_media(hub)
        self.progress.stage("复制媒体", len(files))
        for source, name in files.items():
            target = self.folder / "media" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if not os.path.lexists(target):
                reuse.link_or_copy(source, target)
            elif not _same_file(source, target):  # (updated in place: already the same file)
                # The preview serves this folder: the new file is put beside and renamed over the old,
                # so that a request for it meanwhile gets the old file or the new, never a 404.
                fresh = target.with_name(f"{target.name}.kite-new")
                fresh.unlink(missing_ok=True)
                reuse.link_or_copy(source, fresh)
                os.replace(fresh, target)
            self.progress.advance()
        # A file no page uses any more (the preview, after an edit) leaves the site, as from a new build:
        # so do the sub-folders it leaves empty (a new build makes only those its files are in).
        for gone in self._media - set(files.values()):
            path = self.folder / "media" / gone
            path.unlink(missing_ok=True)
            for folder in path.parents:
                if folder == self.folder:
                    break
                try:
                    folder.rmdir()
                except OSError:  # not empty: another file is still there
                    break
        self._media = set(files.values())
        return len(files)

    def write_offline_files(self, hub: Hub, *, worker: bool = True) -> int:
        """The web app manifest, its icons and the service worker, made from the pages as written.

        The preview leaves the worker out: it would show an editor a page as it was before a save.
        """
        self.progress.stage("离线阅读")
        try:
            # The home-screen icons are drawn again only for another logo: loading cairo and drawing
            # both took 0.15-0.16 s of CPU in each rebuild.
            files = offline_files(self.folder, hub.config, draw=lambda logo, size: self._once(
                f"icon:{size}", hashlib.sha256(logo).digest(), lambda: icon(logo, size)))
        except OfflineFilesFailed as error:
            raise BuildFailed(str(error))
        if not worker:
            files.pop(WORKER)
        for path, content in files.items():
            self.write_file(path, content)
        self.progress.advance()
        return len(files)

    def index_search(self) -> None:
        """Start the search index, in a process of its own: ``precompress`` compresses the pages
        while it runs (Pagefind keeps about one of the cores busy) and waits for it; ``publish``
        waits for it too."""
        self.progress.stage("搜索索引（与预压缩同时进行）")
        scratch, self._scratch = self._scratch, None
        # The published index's parts, for those made from the same pages to be linked (kite.search).
        published = {"site": str(self.previous), **self._published_search} if self._published_search else None
        self._search = start_index(self.folder, self.workers, scratch=scratch, published=published)
        self.progress.advance()

    def _finish_search(self) -> None:
        search, self._search = self._search, None
        if search is not None:
            try:
                self._search_parts = search.finish()
            except SearchIndexFailed as error:
                raise BuildFailed(str(error))
            self._keep_unchanged(BUNDLE)  # Pagefind writes every file anew

    def _keep_unchanged(self, *paths: str) -> int:
        """Files written by MkDocs or Pagefind that are unchanged become the published site's own,
        as Kite's own files do (``kite.reuse``): nginx then answers 304 for them after a rebuild."""
        if self.previous is None:
            return 0
        return reuse.keep_unchanged([str(self.folder / path) for path in paths], str(self.folder), str(self.previous))

    def abandon(self) -> None:
        """A failed build: stop what still runs on the folder."""
        search, self._search = self._search, None
        if search is not None:
            search.stop()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def precompress(self) -> int:
        index = str(self.folder / BUNDLE) + os.sep
        texts = [path for path in text_files(self.folder)
                 if not str(path).startswith(index) and str(path) not in self._compressed]
        self.progress.stage("预压缩", len(texts) + 1)
        count = precompress(texts, self.progress.advance, self.workers, self.folder, self.previous)
        self._finish_search()  # then the index's own scripts and lists
        index_texts = text_files(self.folder / BUNDLE)
        precompress(index_texts, lambda: None, site=self.folder, previous=self.previous)
        self.progress.advance()
        return count + len(index_texts)

    def publish(self, site_dir: Path) -> None:
        """Swap this folder in for ``site_dir``, in one step where the system allows."""
        self._finish_search()
        self.progress.stage("发布")
        self.write_file(MARKER, "由 Kite 生成；每次构建会整体替换本文件夹。\n")
        site_dir = _real(site_dir)
        old = _swap(self.folder, site_dir)
        self.folder = site_dir
        self.previous = None  # the folder is the published site now: nothing to link from (the preview)
        # The old site goes while the record is written: the one is the kernel's work, the other
        # Python's (on a hub of 10,000 lessons, 3-4 s and 0.5 s of a rebuild).
        removing = threading.Thread(target=remove_tree, args=(old,), name="kite-remove-old") if old else None
        if removing is not None:
            removing.start()
        try:
            if self._record is not None:
                (key, pages), self._record = self._record, None
                index = {"parts": self._search_parts, "files": bundle_identities(site_dir / BUNDLE)} if self._search_parts else None
                rendered.save(site_dir, rendered.Record(key, {
                    path: rendered.Page(spec, warnings, marked, rendered.published_files(site_dir, spec))
                    for path, (spec, warnings, marked) in pages.items()}, self._made, index))
        finally:
            if removing is not None:
                removing.join()
        self.progress.advance()


def _link_recorded(previous: str, folder: str, name: str, files: dict[str, tuple[int, int]], beside: bool = False) -> bool:
    """Link the published file ``name`` into ``folder`` if it is the very file recorded in ``files``.
    ``beside``: a file in the folder of one just linked, whose folders were checked and made for it
    (doing that again for each page's two copies cost a rebuild of 2,850 pages 5,700 mkdir and
    25,000 stat calls)."""
    target = os.path.join(folder, name)
    source = os.path.join(previous, name) if beside else reuse.counterpart(target, folder, previous)
    if name not in files or source is None:
        return False
    if not beside:
        os.makedirs(os.path.dirname(target), exist_ok=True)
    return reuse.link_if_same(source, target, lambda status: reuse.identity(status) == files[name])


def _by_page(specs: list[PageSpec], warnings: list[str]) -> dict[str, list[str]]:
    """Rendering's warnings by the page they are about: each begins with its page's file, as
    ``PATH:LINE:`` (MkDocs's own few, which name no file, go under "")."""
    pages = {f"{spec.source or spec.path}:": spec.path for spec in specs}
    found: dict[str, list[str]] = {}
    for warning in warnings:
        about = next((path for prefix, path in pages.items() if warning.startswith(prefix)), "")
        found.setdefault(about, []).append(warning)
    return found


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _same_file(source: Path, target: Path) -> bool:
    try:
        return os.path.samefile(source, target)
    except OSError:
        return False


def published_media(hub: Hub) -> dict[Path, str]:
    """Every file under content/media/ that a page or feed uses, and its name under media/."""
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


def _real(site_dir: Path) -> Path:
    """``site_dir`` with symlinks resolved: a site folder named through a symlink (a web server's root
    pointing at a release folder) is replaced where it is, and the symlink is left to name it.  (Swapped
    as it was, the symlink became the old site, and removing that emptied the folder it named.)"""
    return Path(os.path.realpath(site_dir))


def _swap(staging: Path, site_dir: Path) -> Path | None:
    """Put ``staging`` in the place of ``site_dir``; return where the old site now is, to remove."""
    if not site_dir.exists():
        staging.rename(site_dir)
        return None
    if _exchange(staging, site_dir):
        return staging  # now holds the old site
    old = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.old-", dir=site_dir.parent))
    old.rmdir()
    site_dir.rename(old)
    try:
        staging.rename(site_dir)
    except OSError:
        old.rename(site_dir)
        raise
    return old


def remove_tree(folder: Path) -> None:
    """Remove the old site: its files unlinked by a few threads at once (the work is the
    kernel's, done while Python waits), 40 % sooner than one by one; whatever is left (a
    link to a folder), by shutil."""
    files, folders = [], []
    for parent, _, names in os.walk(folder):
        folders.append(parent)
        files.extend(os.path.join(parent, name) for name in names)

    def unlink(path: str) -> None:
        try:
            os.unlink(path)
        except OSError:
            pass

    with ThreadPoolExecutor(4) as pool:
        for _ in pool.map(unlink, files, chunksize=256):
            pass
    for parent in reversed(folders):
        try:
            os.rmdir(parent)
        except OSError:
            pass
    shutil.rmtree(folder, ignore_errors=True)


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
