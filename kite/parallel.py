"""Rendering on every core: the pages are split between forked workers.

Each worker runs the engine over the whole site, writing only its share of the pages,
into the same folder; only the first one copies the theme's files.  The models are
inherited by ``fork``, not copied through pickles.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import traceback
from pathlib import Path
from typing import Callable

from . import engine
from .engine import RenderFailed
from .models import Hub
from .pages import PageSpec, TemplateData

SERIAL_BELOW = 300  # pages; under this, starting processes costs more than it saves


def default_workers() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def render_pages(hub: Hub, specs: list[PageSpec], site_dir: Path, data: TemplateData,
                 on_page: Callable[[], None], workers: int | None = None, previous: str | None = None,
                 marked: str | None = None, write: set[str] | None = None) -> list[str]:
    """Render every page into an empty ``site_dir``, or only those in ``write`` (the folder holds the
    others already); return the warnings.  A page with the same bytes as in the ``previous`` site is a
    link to it there (``kite.reuse``); one that marks something to index is listed in ``marked`` too
    (``engine.Job``)."""
    workers = default_workers() if workers is None else workers
    chosen = specs if write is None else [spec for spec in specs if spec.path in write]
    if workers <= 1 or len(chosen) < SERIAL_BELOW or "fork" not in multiprocessing.get_all_start_methods():
        job = engine.Job(write=write, clean=write is None, on_page=on_page, previous=previous, marked=marked)
        return engine.render(hub, specs, site_dir, data, job)

    context = multiprocessing.get_context("fork")
    done = context.Value("i", 0)
    answers = context.Queue()
    shares = [chosen[index::workers] for index in range(workers)]  # interleaved, so list pages spread evenly
    processes = []
    for index, share in enumerate(shares):
        job = (index, {spec.path for spec in share}, previous, marked)
        process = context.Process(target=_work, args=(hub, specs, site_dir, data, job, done, answers), daemon=True)
        process.start()
        processes.append(process)

    warnings: list[str] = []
    failures: list[str] = []
    failed_writing: OSError | None = None
    answered, reported = 0, 0
    while answered < workers:
        try:
            kind, payload = answers.get(timeout=0.05)
        except queue.Empty:
            if any(p.exitcode not in (None, 0) for p in processes) and answers.empty():
                failures.append("页面生成进程意外退出")
                break
        else:
            answered += 1
            if kind == "oserror":
                failed_writing = payload
            else:
                (warnings if kind == "ok" else failures).extend(payload if kind == "ok" else [payload])
        reported = _report(done, reported, on_page)
    for process in processes:
        process.join()
    _report(done, reported, on_page)
    if failures:
        raise RenderFailed(failures[0])
    if failed_writing is not None:
        raise failed_writing
    return warnings


def _report(done, reported: int, on_page: Callable[[], None]) -> int:
    current = done.value
    for _ in range(current - reported):
        on_page()
    return current


def _work(hub: Hub, specs: list[PageSpec], site_dir: Path, data: TemplateData, job: tuple, done, answers) -> None:
    index, write, previous, marked = job

    def count() -> None:
        with done.get_lock():
            done.value += 1

    try:
        # Only the first worker empties the folder, copies the theme's files and writes 404.html.
        run = engine.Job(write=write, static=index == 0, clean=False, on_page=count, previous=previous, marked=marked)
        answers.put(("ok", engine.render(hub, specs, site_dir, data, run)))
    except RenderFailed as error:  # the editor's template: the message says where
        answers.put(("error", str(error)))
    except OSError as error:  # a full disk: raised again in the parent, to be said as a serial build says it
        answers.put(("oserror", error))
    except BaseException as error:  # reported to the parent, which fails the build
        answers.put(("error", f"{error}\n{traceback.format_exc(limit=3)}"))
