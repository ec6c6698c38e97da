"""Precompressed copies (.gz and .br) beside every text file, for nginx's gzip_static/brotli_static.

Members pay for mobile data; the server should not spend CPU compressing the same
file for each of them, nor fall back to sending it uncompressed.
"""

from __future__ import annotations

import gzip
import multiprocessing
import os
from pathlib import Path
from typing import Callable

import brotli

TEXT_SUFFIXES = {".html", ".css", ".js", ".mjs", ".json", ".xml", ".svg", ".ics", ".txt", ".map"}
SMALLEST = 256  # bytes; below this the headers cost more than compression saves


def compress_file(path: Path) -> None:
    data = path.read_bytes()
    if len(data) < SMALLEST:
        return
    # Few, long-lived assets get brotli's best; thousands of pages get a fast level.  (Measured on the
    # benchmark hub's lessons: gzip 6 costs as much CPU as 9 and saves nothing; brotli 4 saves a quarter
    # of 5's CPU, 0.09 s for all 1,566 lessons, but a phone pays 17 % more bytes for each lesson.)
    quality = 11 if "/assets/" in path.as_posix() or path.suffix in (".js", ".css") else 5
    # mtime=0: the same content gives the same bytes in every build.
    for suffix, packed in ((".gz", gzip.compress(data, 9, mtime=0)), (".br", brotli.compress(data, quality=quality))):
        if len(packed) < len(data):
            Path(f"{path}{suffix}").write_bytes(packed)


def text_files(site: Path) -> list[Path]:
    found = []
    # os.walk, not pathlib's rglob: a third of the time at 10,000 lessons.
    for folder, _, names in os.walk(site):
        found.extend(Path(folder, name) for name in names if os.path.splitext(name)[1] in TEXT_SUFFIXES)
    return found


def precompress(files: list[Path], advance: Callable[[], None], workers: int = 1) -> int:
    if workers > 1 and len(files) > 200 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for _ in pool.imap_unordered(compress_file, files, chunksize=64):
                advance()
    else:
        for path in files:
            compress_file(path)
            advance()
    return len(files)
