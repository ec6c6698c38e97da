"""The search index: Pagefind's Chinese-aware index, split into small fragments, under ``pagefind/``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


class SearchIndexFailed(Exception):
    """Pagefind could not index the site; the message says why."""


def index_search(site: Path, output: Path | None = None, background: bool = False) -> None:
    """Index ``site`` into ``output`` (default: ``site/pagefind``).

    ``background`` runs Pagefind at low priority, so that the preview's page rebuilds come first.
    """
    command = [sys.executable, "-m", "pagefind", "--site", str(site), "--silent"]
    if output is not None:
        command += ["--output-path", str(output)]
    lower = (lambda: os.nice(15)) if background and hasattr(os, "nice") else None
    result = subprocess.run(command, capture_output=True, text=True, preexec_fn=lower)
    if result.returncode != 0:
        raise SearchIndexFailed(f"搜索索引生成失败：{(result.stderr or result.stdout).strip()}")
    # Kite's search page talks to pagefind.js directly; Pagefind's ready-made UIs go unused.
    bundle = output or site / "pagefind"
    for unused in ("pagefind-ui.*", "pagefind-component-ui.*", "pagefind-modular-ui.*", "pagefind-highlight.js"):
        for path in bundle.glob(unused):
            path.unlink()


def reindex_search(site: Path) -> None:
    """Index a site that is being served: into a new folder, swapped in when complete."""
    work = Path(tempfile.mkdtemp(prefix=".kite-search-", dir=site.parent))  # same disk: renames are moves
    try:
        index_search(site, output=work / "pagefind", background=True)
        target = site / "pagefind"
        if target.exists():
            target.rename(work / "old")
        (work / "pagefind").rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
