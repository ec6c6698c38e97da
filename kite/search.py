"""The search index: the words of every page, in small files a phone fetches only as a query needs them.

Pages are read as written: what a template marks ``data-pagefind-body`` is indexed, less what
it marks ``data-pagefind-ignore``; ``data-pagefind-meta="kind:党课"`` (or ``="title"``, the
element's text) gives what the result list shows.  (These are Pagefind's attributes: Kite used
Pagefind until a hub of 10,000 lessons made it need 2.8 GB, and a phone fetch 300 KB of its
index, page list and WebAssembly before showing a single result; templates written for it
keep working.)

Terms.  Chinese has no spaces, so each run of CJK characters gives its characters and its
pairs of neighbouring characters: "抓牢引线" is found by 引线 without a dictionary.  Letters
and digits give words and their beginnings ("wi" finds "wifi").  Full-width letters and
digits count as their ASCII twins, capitals as small letters; assets/search.js reads a query
the same way.

Under ``search/index/`` (see ``entry.json`` for the layout's numbers):

- ``entry.json``: ``version`` (the folder below), ``pages``, ``shards``, ``idBytes``;
- ``VERSION/t/N.bin``: every term whose CRC-32 leaves N modulo ``shards``.  Per term: its
  length and UTF-8 bytes, how many pages hold it, then either (kind 0) those pages' numbers and a
  weight each, or (kind 1, for a term on so many pages that this is smaller) a bitmap of those
  pages and the numbers and weights of the ``TOP`` weightiest;
- ``VERSION/p/ID.json``: page ID's address, title, meta and text, for its entry in the results.

Page numbers follow ``newest_first`` (the publisher's order), so that equal scores list newer
pages first.  A weight is BM25's share of one term in one page, plus a bonus in the title,
scaled to a byte; the query multiplies it by the term's rarity.  Each file has a ``.gz`` twin
(nginx's gzip_static); the version changes with the content, so the files may be cached for good.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from array import array
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence
from urllib.parse import quote

import lxml.html

INDEX_DIR = "search/index"
ENTRY = "entry.json"
TOP = 128  # pages with their weights kept for a term stored as a bitmap
SHARD_BYTES = 16_384  # about this much per shard file, before compression
MAX_SHARDS = 4096
K1, B = 1.2, 0.75  # BM25's usual constants
TYPICAL_LENGTH = 1000  # characters; BM25 divides a page's length by the average, a constant here
TITLE_BONUS = K1 + 1  # a word in the title counts as much as one said many times in the text
TOP_WEIGHT = 2 * (K1 + 1)

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_CJK_PAIR = re.compile(f"(?=([{_CJK}]{{2}}))")  # every two neighbouring characters, overlapping
_WORD = re.compile("[0-9a-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]+")
_FULL_WIDTH = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_LONGEST_PREFIX = 16

_BLOCKS = frozenset("address article aside blockquote br dd details div dl dt figcaption figure footer form h1 h2 h3 h4 h5 h6 "
                    "header hr li main nav ol p pre section summary table td th tr ul".split())
_UNREAD = frozenset(("script", "style", "noscript", "template", "audio", "video"))


class SearchIndexFailed(Exception):
    """The site could not be indexed; the message says why."""


@dataclass
class Record:
    """One page as its entry in the results shows it, and the text its terms come from."""

    url: str  # site-relative, percent-encoded: 'lessons/a/'
    title: str
    text: str
    meta: dict[str, str] = field(default_factory=dict)


# -- reading pages ---------------------------------------------------------------------------


def read_page(html: str, url: str) -> Record | None:
    """The indexed part of a page, or None for a page that marks none."""
    if "data-pagefind-body" not in html:
        return None
    root = lxml.html.fromstring(html)
    bodies = root.xpath("//*[@data-pagefind-body]")
    meta: dict[str, str] = {}
    parts: list[str] = []
    for body in bodies:
        for element in body.iter(None):
            if element.get("data-pagefind-meta") is not None and not _ignored(element, body):
                _read_meta(element, meta)
        _collect_text(body, parts, top=True)
    title = meta.pop("title", "") or _first_text(root, "//h1") or _first_text(root, "//title")
    return Record(url, title, _tidy("".join(parts)), meta)


def _ignored(element, body) -> bool:
    while element is not None and element is not body.getparent():
        if element.get("data-pagefind-ignore") is not None:
            return True
        element = element.getparent()
    return False


def _read_meta(element, meta: dict[str, str]) -> None:
    """``key:value`` (the value as written, commas and all), or ``key``s (the element's text) and
    ``key[attribute]``s (an attribute's value), separated by commas."""
    said = element.get("data-pagefind-meta")
    key, colon, value = said.partition(":")
    if colon and "," not in key:
        meta[key.strip()] = value.strip()
        return
    for key in (part.strip() for part in said.split(",")):
        if "[" in key and key.endswith("]"):
            key, attribute = key[:-1].split("[", 1)
            meta[key] = element.get(attribute, "")
        elif key:
            meta[key] = _tidy(element.text_content())


def _collect_text(element, parts: list[str], top: bool = False) -> None:
    tag = element.tag
    readable = isinstance(tag, str) and tag not in _UNREAD and element.get("data-pagefind-ignore") is None
    # The title is the entry's heading; the text is what the excerpt is cut from.
    if readable and element.get("data-pagefind-meta") != "title":
        block = tag in _BLOCKS
        if block:
            parts.append("\n")
        if element.text:
            parts.append(element.text)
        for child in element:
            _collect_text(child, parts)
        if block:
            parts.append("\n")
    if element.tail and not top:
        parts.append(element.tail)


def _first_text(root, path: str) -> str:
    found = root.xpath(path)
    return _tidy(found[0].text_content()) if found else ""


def _tidy(text: str) -> str:
    """Runs of spaces as one space, one line per block, no empty lines."""
    return "\n".join(" ".join(line.split()) for line in text.split("\n") if line and not line.isspace())


# -- terms -----------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Full-width letters and digits as ASCII, then lower case (assets/search.js does the same)."""
    return _FULL_WIDTH.sub(lambda found: chr(ord(found[0]) - 0xFEE0), text).lower()


def count_terms(text: str, counts: Counter) -> None:
    """Add the terms of ``text`` (normalised) to ``counts``."""
    # Three calls that each do the whole text at C speed: a Python loop per run would cost more
    # than the rest of the indexing.
    counts.update(_CJK_CHAR.findall(text))
    counts.update(_CJK_PAIR.findall(text))
    for word in _WORD.findall(text):
        counts.update(word[:end] for end in range(2, min(len(word), _LONGEST_PREFIX) + 1))
        if len(word) == 1 or len(word) > _LONGEST_PREFIX:
            counts[word[:64]] += 1


def page_weights(record: Record) -> dict[str, int]:
    """Each term of the page and its weight, 1 to 255."""
    counts: Counter = Counter()
    count_terms(normalise(record.text), counts)
    # BM25's term-frequency part for this page's length, looked up rather than computed per term.
    scale = K1 * (1 - B + B * len(record.text) / TYPICAL_LENGTH)
    most = max(counts.values(), default=0)
    table = bytes(_byte(tf * (K1 + 1) / (tf + scale)) for tf in range(most + 1))
    weights = dict(zip(counts, map(table.__getitem__, counts.values())))
    in_title: Counter = Counter()
    count_terms(normalise(record.title), in_title)
    for term in in_title:
        tf = counts.get(term, 0)
        weights[term] = _byte(tf * (K1 + 1) / (tf + scale) + TITLE_BONUS)
    return weights


def _byte(weight: float) -> int:
    return max(1, min(255, round(weight * 255 / TOP_WEIGHT)))


def shard_of(term: str, shards: int) -> int:
    return zlib.crc32(term.encode("utf-8")) % shards


# -- writing the index -------------------------------------------------------------------------


def index_search(site: Path, output: Path | None = None, *, newest_first: Sequence[str] = (), workers: int = 1) -> int:
    """Index the pages of ``site`` into ``output`` (default: ``site/search/index``); returns how many.

    ``newest_first``: page URLs (site-relative, as written, without percent-encoding) in the
    order their numbers should follow; other pages come after, by path.
    """
    output = output or site / INDEX_DIR
    if output.exists():
        shutil.rmtree(output)
    staging = output / ".staging"
    (staging / "p").mkdir(parents=True)
    (staging / "t").mkdir()
    try:
        with _workers(workers) as run:
            pages = indexed_pages(site, newest_first, run)
            postings, entries = _read_all(site, pages, staging, run, workers)
    except (OSError, UnicodeDecodeError) as error:
        raise SearchIndexFailed(f"搜索索引生成失败：{error}") from error
    shards, digest = _write_shards(postings, len(pages), staging / "t")
    digest.update(entries)
    version = digest.hexdigest()[:10]
    staging.rename(output / version)
    entry = {"version": version, "pages": len(pages), "shards": shards, "idBytes": _id_bytes(len(pages))}
    (output / ENTRY).write_text(json.dumps(entry) + "\n", encoding="utf-8")
    return len(pages)


@contextmanager
def _workers(workers: int) -> Iterator[Callable]:
    """``imap`` over forked processes (in order), or the plain ``map`` of this one."""
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield pool.imap
    else:
        yield map


def indexed_pages(site: Path, newest_first: Sequence[str] = (), run: Callable = map) -> list[Path]:
    """The pages to index, in page-number order: those that mark what to index."""
    rank = {url: number for number, url in enumerate(newest_first)}
    index = str(site / INDEX_DIR)
    paths = []
    for folder, folders, names in os.walk(site):  # not pathlib's rglob: seconds at 10,000 lessons
        folders[:] = [name for name in folders if os.path.join(folder, name) != index]
        paths.extend(Path(folder, name) for name in names if name.endswith(".html"))
    marked = [path for chunk in run(_marked, _chunks(paths, 256)) for path in chunk]
    found = []
    for path in marked:
        relative = path.relative_to(site).as_posix()
        found.append((rank.get(relative.removesuffix("index.html"), len(rank)), relative, path))
    return [path for *_, path in sorted(found)]


def _chunks(items: list, size: int) -> list[list]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def _marked(paths: list[Path]) -> list[Path]:
    return [path for path in paths if b"data-pagefind-body" in path.read_bytes()]


def _read_all(site: Path, pages: list[Path], staging: Path, run: Callable, workers: int) -> tuple[dict[str, list], bytes]:
    """Read every page, write its result entry, and gather each term's pages and weights.

    Returns the terms, and a digest of the entries (for the index's version)."""
    step = max(1, -(-len(pages) // (4 * max(1, workers))))  # a few shares a worker, so none waits long
    shares = [(start, pages[start:start + step], site, staging) for start in range(0, len(pages), step)]
    merged: dict[str, list] = {}
    entries = hashlib.sha1()
    for terms, digest in run(_read_share, shares):  # in page order, so each term's pages stay sorted
        entries.update(digest)
        for term, (numbers, weights) in terms.items():
            kept = merged.get(term)
            if kept is None:
                merged[term] = [bytearray(numbers), bytearray(weights)]
            else:
                kept[0] += numbers
                kept[1] += weights
    return merged, entries.digest()


def _read_share(share: tuple[int, list[Path], Path, Path]) -> tuple[dict[str, tuple[bytes, bytes]], bytes]:
    start, paths, site, staging = share
    numbers: dict[str, array] = defaultdict(lambda: array("I"))
    weights: dict[str, bytearray] = defaultdict(bytearray)
    digests = []  # one per entry: however the pages are shared out, the parent hashes the same bytes
    for number, path in enumerate(paths, start):
        url = quote(path.relative_to(site).as_posix().removesuffix("index.html"))
        # None: the page changed since it was listed (the preview); an empty entry keeps the numbers.
        record = read_page(path.read_text(encoding="utf-8"), url) or Record(url, "", "")
        entry = json.dumps({"url": record.url, "title": record.title, "meta": record.meta, "text": record.text},
                           ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        digests.append(hashlib.sha1(entry).digest())
        _write_with_gzip(staging / "p" / f"{number}.json", entry)
        for term, weight in page_weights(record).items():
            numbers[term].append(number)
            weights[term].append(weight)
    return {term: (numbers[term].tobytes(), bytes(weights[term])) for term in numbers}, b"".join(digests)


def _write_with_gzip(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    # mtime=0: the same index gives the same bytes in every build.
    path.with_name(path.name + ".gz").write_bytes(gzip.compress(data, 9, mtime=0))


def _id_bytes(pages: int) -> int:
    return 2 if pages <= 1 << 16 else 4


def _write_shards(postings: dict[str, list], pages: int, folder: Path):
    """Encode every term, spread the terms over shard files; returns (shards, digest of the index)."""
    width = _id_bytes(pages)
    encoded = {term: _encode_term(term, numbers, weights, pages, width) for term, (numbers, weights) in postings.items()}
    total = sum(map(len, encoded.values()))
    shards = 1
    while shards < MAX_SHARDS and total / shards > SHARD_BYTES:
        shards *= 2
    files: list[list[bytes]] = [[] for _ in range(shards)]
    for term in sorted(encoded):
        files[shard_of(term, shards)].append(encoded[term])
    digest = hashlib.sha1(f"{pages},{shards},{width}".encode())
    for number, parts in enumerate(files):
        data = b"".join(parts)
        digest.update(data)
        _write_with_gzip(folder / f"{number}.bin", data)
    return shards, digest


def _encode_term(term: str, numbers: bytes, weights: bytes, pages: int, width: int) -> bytes:
    name = term.encode("utf-8")
    count = len(weights)
    ids = array("I")
    ids.frombytes(numbers)
    head = bytes([len(name)]) + name + _varint(count)
    if count * (width + 1) <= (pages + 7) // 8 + min(count, TOP) * (width + 1):  # a list is no bigger
        return head + b"\x00" + _pack_ids(ids, width) + weights
    marks = bytearray(pages)
    for number in ids:
        marks[number] = 1
    bitmap = int(marks.translate(_ASCII_BITS)[::-1] or b"0", 2).to_bytes((pages + 7) // 8, "little")
    top = _heaviest(weights, TOP)
    return (head + b"\x01" + bitmap + _varint(len(top)) + _pack_ids(array("I", (ids[i] for i in top)), width)
            + bytes(weights[i] for i in top))


_ASCII_BITS = bytes.maketrans(b"\x00\x01", b"01")


def _heaviest(weights: bytes, count: int) -> list[int]:
    """Positions of the ``count`` greatest weights, earliest first among equals; in position order."""
    if len(weights) <= count:
        return list(range(len(weights)))
    tally = Counter(weights)
    threshold, taken = 256, 0
    while taken < count:
        threshold -= 1
        taken += tally.get(threshold, 0)
    above = weights.translate(bytes(1 if value > threshold else 0 for value in range(256)))
    chosen = _positions(above, 1, len(weights))
    at = weights.translate(bytes(1 if value == threshold else 0 for value in range(256)))
    chosen += _positions(at, 1, count - len(chosen))
    return sorted(chosen)


def _positions(data: bytes, value: int, limit: int) -> list[int]:
    found, at = [], data.find(value)
    while at >= 0 and len(found) < limit:
        found.append(at)
        at = data.find(value, at + 1)
    return found


def _pack_ids(ids: Iterable[int], width: int) -> bytes:
    packed = array("H" if width == 2 else "I", ids)
    if sys.byteorder == "big":  # the files are little-endian, as phones are
        packed.byteswap()
    return packed.tobytes()


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def reindex_search(site: Path, newest_first: Sequence[str] = ()) -> None:
    """Index a site that is being served (the preview): in a process of low priority, so that
    page rebuilds come first, into a new folder swapped in when complete."""
    work = Path(tempfile.mkdtemp(prefix=".kite-search-", dir=site.parent))  # same disk: renames are moves
    try:
        lower = (lambda: os.nice(15)) if hasattr(os, "nice") else None
        command = [sys.executable, "-m", "kite.search", str(site), str(work / "index")]
        result = subprocess.run(command, input=json.dumps(list(newest_first)), capture_output=True, text=True,
                                preexec_fn=lower)
        if result.returncode != 0:
            raise SearchIndexFailed(f"搜索索引生成失败：{(result.stderr or result.stdout).strip()[-2000:]}")
        target = site / INDEX_DIR
        if target.exists():
            target.rename(work / "old")
        target.parent.mkdir(parents=True, exist_ok=True)
        (work / "index").rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":  # reindex_search's worker: SITE OUTPUT, the page order as JSON on stdin
    index_search(Path(sys.argv[1]), Path(sys.argv[2]), newest_first=json.loads(sys.stdin.read() or "[]"))
