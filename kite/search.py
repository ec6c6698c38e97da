"""The search index: Pagefind's Chinese-aware index, split into small fragments, under ``pagefind/``.

Pagefind holds every page it indexes in memory until it writes the index: about 230 KB a
page, 2.5 GB for a hub of 10,000 lessons.  So a big hub is indexed in parts of at most about
``SHARD_PAGES`` pages, one Pagefind run each; a hub of a few thousand pages is split too, into
a few parts, because a rebuild indexes again only the parts that hold a changed page
(``part_shares``).  The first part is the bundle under
``pagefind/``, the others go under ``pagefind/merge/N/``, and ``pagefind/kite-shards.json``
lists them for the search page, which merges them into one search (Pagefind's
``mergeIndex``: one WebAssembly module for all).  Each run reads the site itself, but only
its part's pages that mark something to index (``data-pagefind-body``), named one by one
in a glob (``page_glob``); a folder of hard links to them, one folder made and removed per
page, is the fallback for a page path a glob cannot name.  Parts are indexed one per core at
once where the memory allows.  Where a part's pages keep all Pagefind reads inside their body
element (``reads_only_body``: Kite's own templates do), Pagefind is told to start there.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import math
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Callable

from . import reuse

BUNDLE = "pagefind"
SHARDS = "kite-shards.json"  # in the bundle: the other bundles, relative to it
SHARD_PAGES = 3000  # pages per Pagefind run: about 700 MB at most
# A rebuild indexes again only the parts holding a changed page, so parts are kept near PART_PAGES;
# but a search fetches every part's page list and index chunk (about 2 KB and two requests a part
# more), so a hub is not split into more than MOST_PARTS unless the memory needs it.
PART_PAGES = 1000
MOST_PARTS = 4
PART_MEMORY = 1024 ** 3  # what one run may take, with room to spare
# Kite's search page talks to pagefind.js directly; Pagefind's ready-made UIs go unused, and a
# merged bundle needs only its index (the first bundle's script and WebAssembly serve them all).
_UNUSED = ("pagefind-ui.*", "pagefind-component-ui.*", "pagefind-modular-ui.*", "pagefind-highlight.js")
_MERGED_UNUSED = ("pagefind.js", "pagefind-worker.js", "wasm.*.pagefind")
# A search fetches, for each word and each part, the index chunk the word is in. Pagefind's chunks
# hold about 20,000 word positions (35-45 KB gzip'd on a hub of 10,000 lessons), so a rare word cost
# a phone as much as a common one; at 1,000 a search fetches little more than its own words, for a
# longer chunk list in pf_meta (about 1 KB per part). Pagefind 1.5 reads this only from the environment.
PAGEFIND_ENVIRONMENT = {"PAGEFIND_UNSTABLE_INDEX_CHUNK_SIZE": "1000"}


def pagefind_environment() -> dict[str, str]:
    """The environment Pagefind runs in: Kite's settings, and none of the editor's own.  Pagefind
    takes every option from a ``PAGEFIND_`` variable too, ahead of its configuration file: one left
    set in a shell (``PAGEFIND_GLOB``, ``PAGEFIND_SITE``) would index other pages than Kite names.
    ``PAGEFIND_BINARY_PATH`` stays: it is the Python package's, naming which Pagefind to run."""
    own = {name: value for name, value in os.environ.items()
           if not name.startswith("PAGEFIND_") or name == "PAGEFIND_BINARY_PATH"}
    return {**own, **PAGEFIND_ENVIRONMENT}


def part_pages() -> int:
    """Pages per Pagefind run: ``SHARD_PAGES``, or fewer where ``KITE_SEARCH_PART_PAGES`` says so (a
    server with little memory: each run holds its pages in memory, about 230 KB a page)."""
    try:
        return max(1, int(os.environ.get("KITE_SEARCH_PART_PAGES", SHARD_PAGES)))
    except ValueError:
        return SHARD_PAGES


class SearchIndexFailed(Exception):
    """Pagefind could not index the site; the message says why."""


def index_search(site: Path, output: Path | None = None, workers: int = 1,
                 shard_pages: int | None = None, scratch: Path | None = None, collected: bool = False) -> None:
    """Index ``site`` into ``output`` (default: ``site/pagefind``), in parts (``part_shares``) of about
    ``shard_pages`` pages at most.

    ``scratch`` holds the work in progress (default: a folder beside the site, removed after).
    ``collected``: the pages to index are already listed in ``marked_lists(scratch)`` (``record_marked``,
    as they were rendered), so the site's pages need not be read again to find them.
    """
    # Each Pagefind runs in a working folder of its own (``_start_pagefind``), not the caller's.
    site, scratch = Path(os.path.abspath(site)), scratch and Path(os.path.abspath(scratch))
    bundle = output or site / BUNDLE
    pages = listed_pages(marked_lists(scratch)) if collected and scratch is not None else marked_pages(site, workers)
    shares = part_shares(pages, shard_pages or part_pages())
    at_once = _parts_at_once(workers, len(shares))
    # Beside the site: a fallback view's hard links need the same disk, and the site must not index it.
    with tempfile.TemporaryDirectory(prefix=".kite-pagefind-", dir=scratch or site.parent) as folder:
        work = Path(folder)
        bundles, running = [], []
        try:
            known = _published_parts(scratch)
            digests = []
            for number, share in enumerate(shares):
                made = _Made(site, share)
                bundles.append(work / f"bundle-{number}")
                reused = known is not None and _reuse_part(known, site, number, made, bundles[-1])
                digests.append(made.recorded())
                if reused:
                    continue
                if len(running) == at_once:
                    _finish_pagefind(running.pop(0))
                part = work / f"part-{number}"
                part.mkdir()
                running.append(_start_pagefind(site, bundles[-1], part, share, narrow=made.body is not None))
            while running:
                _finish_pagefind(running.pop(0))
        except BaseException:
            # A part failed: the others, still running, must not go on writing into a folder being removed.
            for started in running:
                started.process.kill()
                started.process.wait()
                started.errors.close()
            raise
        if bundle.exists():
            shutil.rmtree(bundle)
        bundle.parent.mkdir(parents=True, exist_ok=True)
        bundles[0].rename(bundle)
        for number, merged in enumerate(bundles[1:], 1):
            _remove(merged, _UNUSED + _MERGED_UNUSED)
            (bundle / "merge").mkdir(exist_ok=True)
            merged.rename(bundle / "merge" / str(number))
    _remove(bundle, _UNUSED)
    _own_origin(bundle)
    (bundle / SHARDS).write_text(json.dumps([f"merge/{number}/" for number in range(1, len(shares))]) + "\n", encoding="utf-8")
    if scratch is not None:
        (scratch / MADE_PARTS).write_text(json.dumps(digests), encoding="utf-8")


def part_shares(pages: list[str], most: int) -> list[list[str]]:
    """``pages`` (in order) in parts of about ``most`` pages at most, each part in that order.

    A page's part follows from its path alone (a hash of it, for a given number of parts), not from
    its place among the others: a new or removed lesson changes its own part, where slices of the
    sorted list would shift every part after it, and each would be indexed again.  The parts come out
    nearly even (a few per cent apart on big hubs); a part that gets no page is left out.
    """
    count = max(1, math.ceil(len(pages) / most), min(MOST_PARTS, math.ceil(len(pages) / PART_PAGES)))
    if count == 1:
        return [pages]
    shares: list[list[str]] = [[] for _ in range(count)]
    for page in pages:
        key = hashlib.blake2b(page.encode("utf-8", "surrogateescape"), digest_size=8).digest()
        shares[int.from_bytes(key, "big") % count].append(page)
    return [share for share in shares if share]


# -- a rebuild's parts made from the very pages they were made from last time -----------------
#
# A part whose pages are the same files as when the published site's part was made (a page a
# rebuild did not change is the published file itself, ``kite.reuse``) would come out of Pagefind
# byte for byte as published: its files are linked from there instead, each checked to be the file
# the build recorded (``kite.rendered``).  On a hub of 10,000 lessons an edit re-indexes one part of four.

PUBLISHED_PARTS = "published-parts.json"  # in the scratch: the published site's parts, from the record
MADE_PARTS = "parts.json"  # in the scratch: this index's parts' digests, for the record
_COMPRESSED = (".gz", ".br")  # beside the index's text files: made again (or linked) by the build


class _Made:
    """What a part is made from, for its record: ``[identity, body]``.  ``identity``
    (``part_digest``) says the pages are the very files they were; ``body`` (``body_digest``, read
    only when asked) says that what Pagefind reads of them is the same bytes, where it reads only
    their body elements (``reads_only_body``), and is None where it reads them whole.  A lesson's
    page changes outside its body when a lesson is added beside it in its series (its 下一课 link):
    its part is then linked all the same, not indexed again."""

    def __init__(self, site: Path, pages: list[str]):
        self.site, self.pages = site, pages
        self.identity = part_digest(site, pages)

    @functools.cached_property
    def body(self) -> str | None:
        return body_digest(self.site, self.pages)

    def known_as(self, body: str | None) -> None:
        """The published part was made from these very pages: its recorded body digest holds too."""
        vars(self).setdefault("body", body)  # (where cached_property keeps what it read)

    def recorded(self) -> list:
        return [self.identity, self.body]


def part_digest(site: Path, pages: list[str]) -> str:
    """What a part is made from: its pages, as the very files they are (an edited page is a new file),
    and what makes an index of them (Pagefind's version and settings, and this module)."""
    digest = hashlib.sha256(_indexer())
    for page in pages:
        status = os.lstat(site / page)
        digest.update(f"{page}\0{status.st_dev} {status.st_ino} {status.st_size} {status.st_mtime_ns}\0"
                      .encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _indexer() -> bytes:
    versions = [importlib.metadata.version(name) for name in ("pagefind", "pagefind_bin_extended")]
    own = Path(__file__).read_bytes()
    return repr((versions, sorted(PAGEFIND_ENVIRONMENT.items()))).encode() + hashlib.sha256(own).digest()


def part_files(bundle_files: list[str], number: int) -> list[str]:
    """Of a bundle's files (relative, '/'-separated), those of part ``number`` (``index_search``'s layout)."""
    if number:
        return [name for name in bundle_files if name.startswith(f"merge/{number}/")]
    return [name for name in bundle_files if not name.startswith("merge/") and name not in (SHARDS,)]


def bundle_identities(bundle: Path) -> dict[str, tuple[int, int]]:
    """Each file Pagefind made in ``bundle`` (not the build's compressed copies), with its size and mtime."""
    found = {}
    for folder, _, names in os.walk(bundle):
        for name in names:
            if not name.endswith(_COMPRESSED):
                path = os.path.join(folder, name)
                found[os.path.relpath(path, bundle).replace(os.sep, "/")] = reuse.identity(os.lstat(path))
    return found


def _published_parts(scratch: Path | None) -> dict | None:
    """What was recorded of the published index, if the caller handed it over (``start_index``'s ``published``)."""
    try:
        with open(scratch / PUBLISHED_PARTS, encoding="utf-8") as handed:
            return json.load(handed)
    except (TypeError, OSError, ValueError):
        return None


def _reuse_part(known: dict, site: Path, number: int, made: _Made, target: Path) -> bool:
    """Link the published part ``number`` into ``target`` if it was made from the same pages, or from
    pages whose body elements alone Pagefind read and reads the same now (``_Made``); False (and
    nothing left at ``target``) if not, or if any of its files is not the one recorded, or is
    reached through a symlink (``reuse.counterpart``: it would put a file from outside into the site)."""
    if number >= len(known["parts"]) or not isinstance(known["parts"][number], list):
        return False
    identity, body = (known["parts"][number] + [None, None])[:2]
    if identity == made.identity:
        made.known_as(body)
    elif body is None or made.body != body:
        return False
    prefix = f"merge/{number}/" if number else ""
    files = known["files"]
    for name in part_files(list(files), number):
        source = reuse.counterpart(str(site / BUNDLE / name), str(site), known["site"])
        destination = target / name[len(prefix):]
        destination.parent.mkdir(parents=True, exist_ok=True)
        recorded = tuple(files[name])
        if source is None or not reuse.link_if_same(source, str(destination), lambda status: reuse.identity(status) == recorded):
            shutil.rmtree(target, ignore_errors=True)
            return False
    return target.is_dir()


def marked_pages(site: Path, workers: int = 1) -> list[str]:
    """The site-relative paths of the pages that mark what to index, in order."""
    found = []
    for folder, folders, names in os.walk(site):
        folders[:] = [name for name in folders if not (folder == str(site) and name == BUNDLE)]
        found.extend(os.path.relpath(os.path.join(folder, name), site) for name in names if name.endswith(".html"))
    found.sort()
    chunks = [(site, found[start:start + 256]) for start in range(0, len(found), 256)]
    if workers > 1 and len(chunks) > 1 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            marked = pool.map(_marked, chunks)
    else:
        marked = list(map(_marked, chunks))
    return [path for chunk in marked for path in chunk]


def _marked(chunk: tuple[Path, list[str]]) -> list[str]:
    site, paths = chunk
    return [path for path in paths if marks_search((site / path).read_bytes())]


def marks_search(html: bytes) -> bool:
    """Whether a page marks something to index; Pagefind indexes only those (when any page does)."""
    return b"data-pagefind-body" in html


# Pagefind reads a page's words only inside its ``data-pagefind-body`` element, but it walks every
# element of the page for the few attributes it also takes from outside (filters, metadata, sort
# keys), and for the ``lang`` of ``<html>``, which it reads whatever the root.  Told to start at the
# body element (its ``root_selector``), it skips the rest of the page: about half the HTML of a
# lesson (the header, the contents, the footer), 7 % of its CPU on the benchmark hub, with
# byte-identical output.  A page whose own template puts one of those attributes outside its body, or
# whose body's end Kite cannot find for certain, is indexed whole, as Pagefind chooses.
NARROW_ROOT = "[data-pagefind-body]"
_READ_OUTSIDE = re.compile(rb"data-pagefind-(?:filter|meta|default-meta|sort)\b")
# Text in which tags are not tags (counting them would misplace the body's end).
_UNCOUNTED = re.compile(rb"<(?:script|style|textarea|template|title|!--)", re.IGNORECASE)
_TAG = re.compile(rb"<([a-zA-Z][a-zA-Z0-9-]*)")
_HTML_TAG = re.compile(rb"<html\b[^>]*>", re.IGNORECASE)
# Elements whose end tag HTML may leave out (the next <li> ends an <li>): their end is not where the
# tags alone say.
_OPTIONAL_END = frozenset({b"html", b"head", b"body", b"p", b"li", b"dt", b"dd", b"option", b"optgroup", b"tr",
                           b"td", b"th", b"thead", b"tbody", b"tfoot", b"colgroup", b"caption", b"rb", b"rt",
                           b"rtc", b"rp"})


def reads_only_body(html: bytes) -> bool:
    """Whether everything Pagefind takes from ``html`` lies in its one ``data-pagefind-body`` element
    (and ``<html lang>``), so that ``NARROW_ROOT`` indexes it exactly as the whole page."""
    return _body_of(html) is not None


def _body_of(html: bytes) -> bytes | None:
    """The ``data-pagefind-body`` element of ``html``, where it holds all Pagefind reads (``reads_only_body``)."""
    at = html.find(b"data-pagefind-body")
    if at < 0 or html.find(b"data-pagefind-body", at + 1) >= 0:
        return None
    start = html.rfind(b"<", 0, at)
    tag = _TAG.match(html, start) if start >= 0 else None
    if tag is None or html.find(b">", start, at) >= 0 or not html[at - 1:at].isspace():
        return None  # the words, not an attribute: in a page's text, say
    if tag.group(1).lower() in _OPTIONAL_END:
        return None
    end = _element_end(html, start, tag.group(1))
    if end is None or _UNCOUNTED.search(html, start, end):
        return None
    if _READ_OUTSIDE.search(html, 0, start) is not None or _READ_OUTSIDE.search(html, end) is not None:
        return None
    return html[start:end]


def _element_end(html: bytes, start: int, name: bytes) -> int | None:
    """Where the element opened at ``start`` ends (past its end tag), counting the elements of the
    same name inside it; None if it is never closed."""
    depth = 0
    for tag in re.compile(rb"<(/?)" + re.escape(name) + rb"(?=[\s/>])", re.IGNORECASE).finditer(html, start):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            close = html.find(b">", tag.end())
            return None if close < 0 else close + 1
    return None


def body_digest(site: Path, pages: list[str]) -> str | None:
    """What Pagefind reads of ``pages`` when it starts at each one's body element: the body elements
    and each page's ``<html>`` tag (its ``lang``), in one digest with what makes the index; None if
    any page is to be read whole (``reads_only_body``), or cannot be read."""
    if not pages:
        return None
    digest = hashlib.sha256(_indexer())
    try:
        for page in pages:
            html = (site / page).read_bytes()
            body = _body_of(html)
            if body is None:
                return None
            root = _HTML_TAG.search(html)
            for value in (page.encode("utf-8", "surrogateescape"), root.group(0) if root else b"", body):
                digest.update(len(value).to_bytes(8, "big") + value)
    except OSError:
        return None
    return digest.hexdigest()


def new_scratch(site: Path, name: str | None = None) -> Path:
    """A folder for the index's work, beside ``site``: a fallback view's hard links need the same disk,
    and the site must not index it.  ``Indexing`` removes it.  Named after the site folder the work
    is for (``name``, default ``site``'s own: a build's staging folder passes the published one's),
    ``.site.index-…``, so that the next build into it removes one a killed build left (``kite.site_lock``)."""
    return Path(tempfile.mkdtemp(prefix=f".{name or site.name}.index-", dir=site.parent))


def marked_lists(scratch: Path) -> Path:
    """Where a build lists the pages to index as it writes them (``record_marked``)."""
    return scratch / "marked"


def record_marked(pages: list[str], folder: str) -> None:
    """List ``pages`` (site-relative paths) in a file of their own in ``folder``: one per render
    process, so that processes writing at once need no lock."""
    os.makedirs(folder, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="pages-", dir=folder)
    try:
        with open(handle, "w", encoding="utf-8") as listing:
            listing.write("".join(f"{page}\0" for page in pages))  # NUL: the one character no path holds
    except OSError as error:
        if not error.filename:  # a full disk fails the write without a name: the editor is told which file
            error.filename = name
        raise


def listed_pages(folder: Path) -> list[str]:
    """The pages listed in ``folder`` by ``record_marked``, in ``marked_pages``'s order."""
    found = []
    for listing in folder.iterdir() if folder.is_dir() else ():
        found.extend(listing.read_text(encoding="utf-8").split("\0")[:-1])
    found.sort()
    return found


# What a glob (Pagefind's, the wax crate's) reads as other than itself: each is escaped with a
# backslash.  A backslash itself cannot be escaped there (nor a control character be trusted to
# pass), so a page whose path holds one is indexed through a view of hard links instead.
_GLOB_SPECIAL = frozenset("?*$:<>()[]{},")
_NOT_IN_GLOB = frozenset("\\" + "".join(map(chr, range(32))) + "\x7f")


def page_glob(pages: list[str]) -> str | None:
    """A glob that matches exactly ``pages`` (site-relative paths) and nothing else; None when one
    of them cannot be written in a glob."""
    if any(not _NOT_IN_GLOB.isdisjoint(page) for page in pages):
        return None
    return "{" + ",".join("".join(f"\\{c}" if c in _GLOB_SPECIAL else c for c in page) for page in pages) + "}"


def _remove(bundle: Path, patterns: tuple[str, ...]) -> None:
    for pattern in patterns:
        for path in bundle.glob(pattern):
            path.unlink()


# Pagefind's scripts parse a result's path against a made-up origin, https://example.com, and strip
# it again; the site must not name another host (CONTRACT.md section 3), so they use the page's own.
_MADE_UP_ORIGIN = (
    ("new URL(`https://example.com${", "new URL(`${self.location.origin}${"),
    ('.replace(/^https:\\/\\/example.com/,"")', ".slice(self.location.origin.length)"),
    ('.replace(/^https:\\/\\/example\\.com/,"")', ".slice(self.location.origin.length)"),
)


def _own_origin(bundle: Path) -> None:
    for name in ("pagefind.js", "pagefind-worker.js"):
        script = bundle / name
        if not script.exists():
            continue
        text = original = script.read_text(encoding="utf-8")
        for made_up, own in _MADE_UP_ORIGIN:
            text = text.replace(made_up, own)
        if text != original:  # (a part linked from the published site is that site's own file: left alone)
            fresh = script.with_name(f"{name}.kite-new")
            fresh.write_text(text, encoding="utf-8")
            os.replace(fresh, script)


def _parts_at_once(workers: int, parts: int) -> int:
    """How many parts to index at once: one per worker, where the memory allows (each Pagefind run
    takes up to ``PART_MEMORY``; a small server indexes one part after another, as before)."""
    try:
        with open("/proc/meminfo") as meminfo:
            available = next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return 1
    return max(1, min(workers, parts, available // PART_MEMORY))


@dataclasses.dataclass
class _Started:
    """A running Pagefind: its process, where its output goes, and its view to remove after it (if any)."""

    process: subprocess.Popen
    errors: IO[str]
    view: Path | None


def _start_pagefind(site: Path, output: Path, folder: Path, pages: list[str], narrow: bool = False) -> _Started:
    """Pagefind on ``site``, indexing ``pages`` alone (none: the whole site, as Pagefind chooses);
    ``folder``: an empty folder of the run's own, its working folder; ``narrow``: starting at each
    page's body element (``reads_only_body`` holds for every page)."""
    command = [sys.executable, "-m", "pagefind", "--site", str(site), "--output-path", str(output), "--silent"]
    view, glob = None, page_glob(pages) if pages else None
    # In Pagefind's configuration file (read from the working folder), not the command line:
    # a part's glob holds thousands of paths, more than one argument may (128 KB on Linux).
    settings = {"glob": glob} if glob is not None else {}
    if narrow:
        settings["root_selector"] = NARROW_ROOT
    if settings:
        (folder / "pagefind.json").write_text(json.dumps(settings), encoding="utf-8")
    if glob is None and pages:
        view = folder / "view"
        for path in pages:
            (view / path).parent.mkdir(parents=True, exist_ok=True)
            reuse.link_or_copy(site / path, view / path)
        command[command.index("--site") + 1] = str(view)
    errors = tempfile.TemporaryFile("w+", encoding="utf-8")  # not a pipe: two runs at once cannot block on it
    process = subprocess.Popen(command, stdout=errors, stderr=subprocess.STDOUT, text=True, cwd=folder,
                               env=pagefind_environment(), preexec_fn=_with_parent())
    return _Started(process, errors, view)


def _finish_pagefind(started: _Started) -> None:
    with started.errors as errors:
        if started.process.wait() != 0:
            errors.seek(0)
            raise SearchIndexFailed(f"搜索索引生成失败：{errors.read().strip()}")
    if started.view is not None:  # now, while the other parts still run, rather than all at the end
        shutil.rmtree(started.view)


def start_index(site: Path, workers: int = 1, output: Path | None = None, background: bool = False,
                scratch: Path | None = None, published: dict | None = None) -> Indexing:
    """``index_search`` in a process of its own, so that the build can compress meanwhile
    (Pagefind keeps about one core busy) and the preview's pages need not wait for the GIL;
    ``Indexing.finish`` waits for it.  ``background``: the process and its Pagefind at low priority, so that
    the preview's page rebuilds come first.  ``scratch``: a ``new_scratch`` whose ``marked_lists`` hold
    the pages to index, listed as they were written; it becomes the index's (removed with it).
    ``published``: the index now published, to link its parts made from the same pages from: the
    site it is in (``site``), and what ``Indexing.finish`` and ``bundle_identities`` said of it."""
    collected = scratch is not None
    # Beside the site, made before the process: whatever happens to it, ``stop`` can remove it.
    scratch = scratch or new_scratch(site)
    if published is not None:
        (scratch / PUBLISHED_PARTS).write_text(json.dumps(published), encoding="utf-8")
    command = [sys.executable, "-m", "kite.search", str(site), "--workers", str(workers), "--scratch", str(scratch)]
    if collected:
        command.append("--collected")
    if output is not None:
        command += ["--output", str(output)]
    # The build's index gets a process group of its own, so that ``stop`` ends its Pagefind with it; the
    # preview's stays in the preview's, so that Ctrl+C in the terminal ends it with the preview.  A group,
    # not a session: Linux shares the CPU between sessions first (autogroups), and in a session of its own
    # Pagefind got one core of two while the build compressed, however low the compression's priority.
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, process_group=None if background else 0,
                               preexec_fn=_with_parent(lower=background))
    return Indexing(process, scratch, own_group=not background)


def _with_parent(lower: bool = False) -> Callable[[], None] | None:
    """What a child runs before it starts (Linux): be killed when its parent dies, however it dies.

    A preview stopped with ``kill`` or by closing its terminal, or a build killed outright, would
    otherwise leave its indexer, and that one its Pagefind, running for minutes on a big hub.
    ``lower``: at low priority too.  Resolved here, before the fork: the child only makes the calls.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
    except (OSError, AttributeError):
        prctl = None
    parent = os.getpid()

    def prepare() -> None:
        if lower and hasattr(os, "nice"):
            os.nice(15)
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent:  # the parent died before the call: nothing would tell us
                os._exit(1)

    return prepare if prctl is not None or lower else None


_PR_SET_PDEATHSIG = 1


@dataclasses.dataclass
class Indexing:
    """A search index being built by ``start_index``."""

    process: subprocess.Popen
    scratch: Path
    own_group: bool = True

    def finish(self) -> list[str] | None:
        """Wait for the index; return its parts' digests (``part_digest``), for the build's record."""
        try:
            _, stderr = self.process.communicate()
            try:
                made = json.loads((self.scratch / MADE_PARTS).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                made = None
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)
        if self.process.returncode != 0:
            text = stderr.strip()
            if text.startswith("搜索索引生成失败"):  # Pagefind's own words, passed on by main()
                raise SearchIndexFailed(text)
            lines = text.splitlines()  # anything else: its last line says what broke
            raise SearchIndexFailed(f"搜索索引生成失败：{lines[-1] if lines else f'退出码 {self.process.returncode}'}")
        return made

    def stop(self) -> None:
        """A failed build: end the indexer and Pagefind, and remove their work."""
        try:
            if self.own_group:
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.kill()
        except ProcessLookupError:
            pass
        self.process.communicate()
        shutil.rmtree(self.scratch, ignore_errors=True)


def reindex_search(site: Path, started: Callable[[Indexing], None] | None = None,
                   last: dict | None = None) -> dict | None:
    """Index a site that is being served: into a new folder, swapped in when complete.

    ``started`` is handed the running indexer, for a caller that may have to stop it (the preview,
    stopping, must not leave it writing into a folder being removed).  ``last``: what the last call
    returned; the parts of the index made from pages unchanged since are linked, not made again
    (a page the preview did not render again is the same file).  Returns what to give the next call.
    """
    work = Path(tempfile.mkdtemp(prefix=".kite-search-", dir=site.parent))  # same disk: renames are moves
    try:
        indexing = start_index(site, output=work / BUNDLE, background=True,
                               published={"site": str(site), **last} if last else None)
        if started is not None:
            started(indexing)
        parts = indexing.finish()
        target = site / BUNDLE
        if target.exists():
            target.rename(work / "old")
        (work / BUNDLE).rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"parts": parts, "files": bundle_identities(target)} if parts else None


def main(arguments: list[str]) -> int:
    """``python -m kite.search SITE [--workers N] [--scratch FOLDER] [--output FOLDER] [--collected]``:
    what ``start_index`` runs."""
    parser = argparse.ArgumentParser(prog="python -m kite.search")
    parser.add_argument("site", type=Path)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--scratch", type=Path)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--collected", action="store_true")
    options = parser.parse_args(arguments)
    try:
        index_search(options.site, output=options.output, workers=options.workers, scratch=options.scratch,
                     collected=options.collected)
    except SearchIndexFailed as error:
        print(error, file=sys.stderr)
        return 1
    except OSError as error:  # a full disk: said in Chinese, with at least the folder being written
        from .errors import os_error_message

        if not error.filename:
            error.filename = str(options.output or options.site / BUNDLE)
        print(f"搜索索引生成失败：{os_error_message(error)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
