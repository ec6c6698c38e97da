"""Precompressed copies (.gz and .br) beside every text file, for nginx's gzip_static/brotli_static.

Members pay for mobile data; the server should not spend CPU compressing the same
file for each of them, nor fall back to sending it uncompressed.  A file unchanged
since the last build keeps that build's copies (linked, see ``kite.reuse``).
"""

from __future__ import annotations

import gzip
import multiprocessing
import os
import zlib
from pathlib import Path
from typing import Callable

import brotli

from . import reuse

TEXT_SUFFIXES = {".html", ".css", ".js", ".mjs", ".json", ".xml", ".svg", ".ics", ".txt", ".map"}
SMALLEST = 256  # bytes; below this the headers cost more than compression saves


def compress_file(path: Path, previous: str | None = None) -> None:
    """Write ``path``'s compressed copies, or link those of ``previous`` if it holds the same bytes."""
    data = path.read_bytes()
    if len(data) < SMALLEST:
        return
    kept = set()
    if previous is not None and reuse.holds(previous, data):
        # A copy is kept only if it still unpacks to the page: one damaged on the server is made again.
        kept = {suffix for suffix, unpack in UNPACK.items()
                if reuse.link_if(previous + suffix, f"{path}{suffix}", lambda packed: _unpacks_to(packed, unpack, data))}
    # Few, long-lived assets get brotli's best; thousands of pages get a fast level.  (Measured on the
    # benchmark hub's lessons: gzip 6 costs as much CPU as 9 and saves nothing; brotli 4 saves a quarter
    # of 5's CPU, 0.09 s for all 1,566 lessons, but a phone pays 17 % more bytes for each lesson.)
    quality = 11 if "/assets/" in path.as_posix() or path.suffix in (".js", ".css") else 5
    # mtime=0: the same content gives the same bytes in every build.
    packers = {".gz": lambda: gzip.compress(data, 9, mtime=0), ".br": lambda: brotli.compress(data, quality=quality)}
    for suffix, pack in packers.items():
        if suffix not in kept:
            packed = pack()
            if len(packed) < len(data):
                reuse.write(packed, f"{path}{suffix}")


UNPACK = {".gz": gzip.decompress, ".br": brotli.decompress}


def _unpacks_to(packed: bytes, unpack: Callable[[bytes], bytes], data: bytes) -> bool:
    try:
        return unpack(packed) == data
    except (EOFError, zlib.error, brotli.error, gzip.BadGzipFile):
        return False


def text_files(site: Path) -> list[Path]:
    found = []
    # os.walk, not pathlib's rglob: a third of the time at 10,000 lessons.
    for folder, _, names in os.walk(site):
        found.extend(Path(folder, name) for name in names if os.path.splitext(name)[1] in TEXT_SUFFIXES)
    return found


def precompress(files: list[Path], advance: Callable[[], None], workers: int = 1,
                site: Path | None = None, previous: Path | None = None) -> int:
    """Compress ``files`` (inside ``site``); those unchanged since the ``previous`` site keep its copies."""
    jobs = [(path, reuse.counterpart(str(path), str(site), str(previous)) if site and previous else None)
            for path in files]
    if workers > 1 and len(files) > 200 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for _ in pool.imap_unordered(_compress, jobs, chunksize=64):
                advance()
    else:
        for job in jobs:
            _compress(job)
            advance()
    return len(files)


def _compress(job: tuple[Path, str | None]) -> None:
    compress_file(*job)
