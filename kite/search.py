"""The search index: Pagefind's Chinese-aware index, split into small fragments, under ``pagefind/``.

Pagefind is fed through its Python API (``pagefind.index``), one page at a time, as the
build renders them: its work overlaps the rendering instead of following it.  It gets only
what it reads of a page (the ``<html>`` tag, for the language, and the element marked
``data-pagefind-body``, with its meta and filters): a third of a lesson, and the index it
writes is byte for byte the one it makes from the whole pages (tests/test_search_index.py).

Pagefind holds every page it indexes in memory until it writes the index: about 230 KB a
page, 2.5 GB for a hub of 10,000 lessons.  So a big hub is indexed in parts of at most
``SHARD_PAGES`` pages, one after another (each part is written and dropped before the next
one fills): the first part is the bundle under ``pagefind/``, the others go under
``pagefind/merge/N/``, and ``pagefind/kite-shards.json`` lists them for the search page,
which merges them into one search (Pagefind's ``mergeIndex``: one WebAssembly module for all).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path

from pagefind.service import PagefindService, _encode

BUNDLE = "pagefind"
SHARDS = "kite-shards.json"  # in the bundle: the other bundles, relative to it
SHARD_PAGES = 3000  # pages per part: about 700 MB at most
BATCH = 64  # pages sent to Pagefind at once: a tenth of a second of rendering
# Kite's search page talks to pagefind.js directly; Pagefind's ready-made UIs go unused, and a
# merged bundle needs only its index (the first bundle's script and WebAssembly serve them all).
_UNUSED = ("pagefind-ui.*", "pagefind-component-ui.*", "pagefind-modular-ui.*", "pagefind-highlight.js")
_MERGED_UNUSED = ("pagefind.js", "pagefind-worker.js", "wasm.*.pagefind")


class SearchIndexFailed(Exception):
    """Pagefind could not index the site; the message says why."""


# -- what Pagefind reads of a page ---------------------------------------------------------

_BODY = re.compile(rb"<([a-zA-Z][a-zA-Z0-9-]*)\b[^>]*\sdata-pagefind-body\b")
_HEAD = re.compile(rb"<head[\s>]", re.IGNORECASE)


def searchable(html: bytes) -> bytes | None:
    """The part of a page Pagefind indexes, as a page of its own; None for a page that marks
    nothing to index (Kite's list pages, the search page)."""
    found = _BODY.search(html)
    if found is None:
        return None
    head = _HEAD.search(html)
    if head is None:
        return None
    tag = found.group(1)
    depth, end = 0, len(html)
    for mark in re.finditer(rb"<(/?)" + re.escape(tag) + rb"[\s>]", html[found.start():]):
        depth += -1 if mark.group(1) else 1
        if depth == 0:
            end = html.index(b">", found.start() + mark.start()) + 1
            break
    # Everything before <head> keeps the doctype and <html lang="…">: Pagefind picks the language there.
    return b"".join((html[:head.start()], b"<head></head><body>", html[found.start():end], b"</body></html>"))


def page_url(path: str) -> str:
    """The address Pagefind's own crawl gives the file at the site-relative ``path``."""
    path = path.replace(os.sep, "/")
    return "/" + (path[: -len("index.html")] if path == "index.html" or path.endswith("/index.html") else path)


# -- the index, fed page by page ------------------------------------------------------------

class _Service(PagefindService):
    """Pagefind's service, its answers read as they come, its requests sent in batches.

    The library's reader sleeps a tenth of a second before reading each answer: one per
    page, 285 s for the benchmark hub.  This one is the same loop without the pause.  And
    Pagefind wakes up for every write to it, at a cost: pages sent one by one as they are
    rendered cost it half as much CPU again as the same pages sent together (9.2 s against
    5.8 s for the benchmark hub), so ``send_many`` writes a batch of requests at once.
    """

    ended: str | None = None  # why Pagefind stopped answering

    async def send(self, payload):
        return (await self.send_many([payload]))[0]

    async def send_many(self, payloads: list[dict]) -> list[dict]:
        """``send`` for each of ``payloads``, in one write; their answers, in order."""
        if self.ended is not None:
            raise SearchIndexFailed(self.ended)
        assert self._backend.stdin is not None
        futures, requests = [], []
        for payload in payloads:
            self._message_id += 1
            futures.append(self._responses.setdefault(self._message_id, self._loop.create_future()))
            requests.append(_encode({"message_id": self._message_id, "payload": payload}) + b",")
        try:
            self._backend.stdin.write(b"".join(requests))
            await self._backend.stdin.drain()
        except ConnectionError:  # it has ended: say how
            raise SearchIndexFailed(f"Pagefind 意外退出（退出码 {await self._backend.wait()}）") from None
        return list(await asyncio.gather(*futures))

    async def _wait_for_responses(self) -> None:
        assert self._backend.stdout is not None
        while True:
            try:
                output = await self._backend.stdout.readuntil(b",")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError) as error:
                # Pagefind is gone (or garbled): whatever waits for an answer would wait forever.
                code = await self._backend.wait() if isinstance(error, asyncio.IncompleteReadError) else None
                self.ended = f"Pagefind 意外退出（退出码 {code}）" if code is not None else f"Pagefind 的回答无法读取：{error}"
                for future in self._responses.values():
                    if not future.done():
                        future.set_exception(SearchIndexFailed(self.ended))
                        future.exception()  # whoever waits for it is told; nobody else need be
                self._responses.clear()
                return
            answer = json.loads(base64.b64decode(output[:-1]))
            if answer is None:
                continue
            payload = answer["payload"]
            message_id = answer.get("message_id")
            if message_id is None and payload.get("original_message"):
                message_id = json.loads(payload["original_message"]).get("message_id")
            future = self._responses.pop(message_id, None)
            if future is None or future.done():
                continue
            if payload["type"] == "Error":
                future.set_exception(SearchIndexFailed(payload.get("message") or "Pagefind 出错"))
            else:
                future.set_result(payload)


class StreamIndex:
    """A search index that takes pages as they are made and writes the bundle at ``finish``.

    Pagefind runs as a service (its own process); this object talks to it from a thread
    of its own, so that ``add`` returns at once.  ``expected``: how many pages will come,
    to cut the parts evenly (more or fewer is fine).  ``scratch``: where the parts are written
    before they are put in place (default: beside the bundle; the same disk, so that they move).

    Pagefind numbers pages in the order they are added, and its files show it; so that a
    build gives the same index however many workers render it, and in whatever order they
    finish, pages are added in ``order`` (every page's path, each then given to ``add``,
    with None for a page without anything to index): a page that comes early waits for
    those before it, which the workers render at about the same time.
    """

    def __init__(self, bundle: Path, expected: int, shard_pages: int | None = None, scratch: Path | None = None,
                 order: list[str] | None = None):
        self.bundle = Path(bundle)
        parts = max(1, math.ceil(expected / (shard_pages or SHARD_PAGES)))
        self.part_pages = max(1, math.ceil(expected / parts))
        self.added = 0
        self._order = order or []
        self._next = 0  # in _order: the first page not yet added
        self._early: dict[str, bytes | None] = {}  # pages that came before their turn
        self._batch: list[tuple[str, str]] = []  # (url, html) of pages not yet sent
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._services: list[_Service] = []  # one Pagefind for each part: see ``_write``
        self._parts: list[Future] = []  # each part's writing, in order
        self._current: Future | None = None  # (its Pagefind, index id) of the part being filled
        self._pending: list = []  # the pages' answers of the current part
        self._scratch = Path(tempfile.mkdtemp(prefix=".kite-pagefind-", dir=scratch or self.bundle.parent))

    def _start(self) -> None:
        # Started on the first page, not before: forked render workers must not inherit the thread.
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kite-pagefind", daemon=True)
        self._thread.start()

    def _call(self, coroutine) -> Future:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def add(self, path: str, html: bytes | None) -> None:
        """Index ``html`` (``searchable``'s part of a page) as the page at site-relative ``path``;
        None: the page has nothing to index (it only takes its turn)."""
        if not self._order:
            if html is not None:
                self._index(path, html)
            return
        early, order = self._early, self._order
        early[path] = html
        while self._next < len(order) and order[self._next] in early:
            path = order[self._next]
            self._next += 1
            html = early.pop(path)
            if html is not None:
                self._index(path, html)

    def _index(self, path: str, html: bytes) -> None:
        if self._loop is None:
            self._start()
        if self._current is None or self.added == self.part_pages * len(self._parts) + self.part_pages:
            self._next_part()
        self.added += 1
        self._batch.append((page_url(path), html.decode("utf-8")))
        if len(self._batch) >= BATCH:
            self._send()

    def _send(self) -> None:
        if self._batch:
            before = self._parts[-1] if self._parts else None
            self._pending.append(self._call(self._add(self._current, self._batch, before)))
            self._batch = []

    async def _new_index(self) -> tuple[_Service, int]:
        service = _Service()
        self._services.append(service)
        await service.launch()
        return service, (await service.create_index())._index_id

    async def _add(self, index: Future, pages: list[tuple[str, str]], before: Future | None) -> None:
        """Send ``pages`` to the part ``index``, once the part ``before`` it is written and dropped:
        Pagefind never holds more than one part (the pages wait here meanwhile, a few KB each)."""
        if before is not None:
            try:
                await asyncio.wrap_future(before)
            except Exception:
                return  # that part's failure is reported by ``finish``
        service, index_id = await asyncio.wrap_future(index)
        answers = await service.send_many([{"type": "AddFile", "index_id": index_id, "url": url,
                                                  "file_contents": html, "file_path": None} for url, html in pages])
        for (url, _), answer in zip(pages, answers):
            if answer.get("type") != "IndexedFile":
                raise SearchIndexFailed(f"{url}: {answer}")

    def _next_part(self) -> None:
        if self._current is not None:
            self._close_part()
        self._current = self._call(self._new_index())

    def _close_part(self) -> None:
        assert self._current is not None
        self._send()
        output = self._scratch / f"bundle-{len(self._parts)}"
        self._parts.append(self._call(self._write(self._current, self._pending, output)))
        self._current, self._pending = None, []

    async def _write(self, index: Future, pages: list[Future], output: Path) -> Path:
        service, index_id = await asyncio.wrap_future(index)
        for page in pages:
            await asyncio.wrap_future(page)
        answer = await service.send({"type": "WriteFiles", "index_id": index_id, "output_path": str(output)})
        if answer.get("type") != "WriteFiles":
            raise SearchIndexFailed(f"{output}: {answer}")
        # Written: this part's Pagefind ends before the next part's pages are sent.  (One Pagefind
        # for all the parts, each deleted once written, still grew to 963 MB at 10,000 lessons:
        # what it frees, it keeps.)  It is asked to end, not killed: it may answer before the last
        # of its files is on disk.
        await _end(service, gently=True)
        return output

    def finish(self) -> None:
        """Write the last part and put the bundle in place; raises ``SearchIndexFailed``."""
        try:
            for path in sorted(self._early):  # pages that were not in ``order``, or whose turn never came
                if (html := self._early.pop(path)) is not None:
                    self._index(path, html)
            if self._loop is None:
                self._start()
            if self._current is None:  # nothing to index: an empty bundle, as Pagefind's crawl makes
                self._next_part()
            self._close_part()
            try:
                bundles = [part.result() for part in self._parts]
            except SearchIndexFailed as error:
                raise SearchIndexFailed(f"搜索索引生成失败：{error}") from None
            except Exception as error:  # no Pagefind to start, or it could not write
                raise SearchIndexFailed(f"搜索索引生成失败：{error or type(error).__name__}") from None
            self._place(bundles)
        finally:
            self.stop()

    def _place(self, bundles: list[Path]) -> None:
        bundle = self.bundle
        try:
            if bundle.exists():
                shutil.rmtree(bundle)
            bundle.parent.mkdir(parents=True, exist_ok=True)
            bundles[0].rename(bundle)
            for number, merged in enumerate(bundles[1:], 1):
                _remove(merged, _UNUSED + _MERGED_UNUSED)
                (bundle / "merge").mkdir(exist_ok=True)
                merged.rename(bundle / "merge" / str(number))
            _remove(bundle, _UNUSED)
            (bundle / SHARDS).write_text(json.dumps([f"merge/{n}/" for n in range(1, len(bundles))]) + "\n", encoding="utf-8")
        except OSError as error:
            raise SearchIndexFailed(f"搜索索引生成失败：无法写入 {bundle}：{error}") from None

    def stop(self) -> None:
        """End Pagefind and the thread, and remove the work in progress (a failed build, or after ``finish``)."""
        loop, self._loop = self._loop, None
        if loop is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=30)
            except Exception:
                pass
            loop.call_soon_threadsafe(loop.stop)
            assert self._thread is not None
            self._thread.join()
            loop.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    async def _close(self) -> None:
        for service in self._services:
            await _end(service)
        for future in list(self._pending) + list(self._parts):
            future.cancel()


async def _end(service: _Service, gently: bool = False) -> None:
    """End a Pagefind: ``gently``, by closing its input (it exits when it has nothing left to
    do, 0 when all went well); otherwise by killing it (a failed build)."""
    backend = getattr(service, "_backend", None)
    if backend is None:  # never started
        return
    if gently and backend.returncode is None and backend.stdin is not None:
        backend.stdin.close()
        try:
            code = await asyncio.wait_for(backend.wait(), timeout=600)
        except asyncio.TimeoutError:
            code = None
        if code != 0:
            raise SearchIndexFailed(f"Pagefind 没有正常结束（退出码 {code}）")
    if getattr(service, "_poll_task", None) is not None:
        service._poll_task.cancel()
    if backend.returncode is None:
        backend.kill()
    await backend.wait()


def index_search(site: Path, output: Path | None = None, shard_pages: int | None = None,
                 scratch: Path | None = None) -> None:
    """Index the pages already in ``site`` into ``output`` (default: ``site/pagefind``), in
    parts of ``shard_pages`` at most (the preview's index, and its reindex after edits)."""
    bundle = output or site / BUNDLE
    pages = html_pages(site)
    marked = [(path, part) for path in pages if (part := searchable((site / path).read_bytes())) is not None]
    index = StreamIndex(bundle, len(marked), shard_pages, scratch)
    for path, part in marked:
        index.add(path, part)
    index.finish()


def html_pages(site: Path) -> list[str]:
    """The site-relative paths of the site's pages (not the search bundle's), in order."""
    found = []
    for folder, folders, names in os.walk(site):
        folders[:] = [name for name in folders if not (folder == str(site) and name == BUNDLE)]
        found.extend(os.path.relpath(os.path.join(folder, name), site) for name in names if name.endswith(".html"))
    return sorted(found)


def marked_pages(site: Path) -> list[str]:
    """The site-relative paths of the pages that mark what to index, in order."""
    return [path for path in html_pages(site) if b"data-pagefind-body" in (site / path).read_bytes()]


def _remove(bundle: Path, patterns: tuple[str, ...]) -> None:
    for pattern in patterns:
        for path in bundle.glob(pattern):
            path.unlink()


def start_index(site: Path, output: Path | None = None, background: bool = False) -> Indexing:
    """``index_search`` over the pages in ``site``, in a process of its own, so that the preview's
    pages need not wait for the GIL (the build feeds its index while rendering: ``StreamIndex``);
    ``Indexing.finish`` waits for it.  ``background``: the process and its Pagefind at low priority, so that
    the preview's page rebuilds come first."""
    # Beside the site, made here: whatever happens to the process, ``stop`` can remove it.
    scratch = Path(tempfile.mkdtemp(prefix=".kite-pagefind-", dir=site.parent))
    command = [sys.executable, "-m", "kite.search", str(site), "--scratch", str(scratch)]
    if output is not None:
        command += ["--output", str(output)]
    lower = (lambda: os.nice(15)) if background and hasattr(os, "nice") else None
    # The build's index gets a session of its own, so that ``stop`` ends its Pagefind with it; the
    # preview's stays in the preview's, so that Ctrl+C in the terminal ends it with the preview.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=not background, preexec_fn=lower)
    return Indexing(process, scratch, own_session=not background)


@dataclasses.dataclass
class Indexing:
    """A search index being built by ``start_index``."""

    process: subprocess.Popen
    scratch: Path
    own_session: bool = True

    def finish(self) -> None:
        try:
            _, stderr = self.process.communicate()
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)
        if self.process.returncode != 0:
            text = stderr.strip()
            if text.startswith("搜索索引生成失败"):  # Pagefind's own words, passed on by main()
                raise SearchIndexFailed(text)
            lines = text.splitlines()  # anything else: its last line says what broke
            raise SearchIndexFailed(f"搜索索引生成失败：{lines[-1] if lines else f'退出码 {self.process.returncode}'}")

    def stop(self) -> None:
        """A failed build: end the indexer and Pagefind, and remove their work."""
        try:
            if self.own_session:
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.kill()
        except ProcessLookupError:
            pass
        self.process.communicate()
        shutil.rmtree(self.scratch, ignore_errors=True)


def reindex_search(site: Path) -> None:
    """Index a site that is being served: into a new folder, swapped in when complete."""
    work = Path(tempfile.mkdtemp(prefix=".kite-search-", dir=site.parent))  # same disk: renames are moves
    try:
        start_index(site, output=work / BUNDLE, background=True).finish()
        target = site / BUNDLE
        if target.exists():
            target.rename(work / "old")
        (work / BUNDLE).rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(arguments: list[str]) -> int:
    """``python -m kite.search SITE [--scratch FOLDER] [--output FOLDER]``: what
    ``start_index`` runs."""
    parser = argparse.ArgumentParser(prog="python -m kite.search")
    parser.add_argument("site", type=Path)
    parser.add_argument("--scratch", type=Path)
    parser.add_argument("--output", type=Path)
    options = parser.parse_args(arguments)
    try:
        index_search(options.site, output=options.output, scratch=options.scratch)
    except SearchIndexFailed as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
