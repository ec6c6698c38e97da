"""The search index built beside the build: in its own process, stopped with its Pagefind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from kite.search import SearchIndexFailed, start_index


def test_a_stopped_index_leaves_no_process_and_no_files(sample_site, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(sample_site, site)
    shutil.rmtree(site / "pagefind")
    indexing = start_index(site)
    indexing.stop()
    assert indexing.process.returncode is not None
    with pytest.raises(ProcessLookupError):  # the whole session is gone: Pagefind too
        os.killpg(indexing.process.pid, 0)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["site"]
    assert not (site / "pagefind").exists()


def test_an_index_that_fails_says_so_and_cleans_up(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html><body><p>没有 data-pagefind-body 的页面</p></body></html>", encoding="utf-8")
    (tmp_path / "file").write_text("", encoding="utf-8")
    indexing = start_index(site, output=tmp_path / "file" / "pagefind")  # under a file: cannot be written
    with pytest.raises(SearchIndexFailed, match="^搜索索引生成失败：.*file"):
        indexing.finish()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file", "site"]


def _alive(pid: int) -> bool:
    """Running, not a zombie left for a parent that does not reap (PID 1 in a container may not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("background", [True, False], ids=["preview", "build"])
def test_the_indexer_and_its_pagefind_die_with_whoever_started_them(tmp_path, background):
    # A preview stopped with kill, or a build killed outright, must not leave Pagefind running on.
    from helpers import REPO, wait_for

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html lang=zh><body><main data-pagefind-body><p>风筝</p></main></body></html>",
                                     encoding="utf-8")
    pids = tmp_path / "pids"
    slow = tmp_path / "slow-pagefind"
    slow.write_text(f'#!/bin/sh\necho $$ > "{pids}"\nexec sleep 300\n', encoding="utf-8")
    slow.chmod(0o755)
    starter = ("import os, sys, time\nfrom pathlib import Path\nfrom kite.search import start_index\n"
               f"indexing = start_index(Path({str(site)!r}), background={background})\n"
               "print(indexing.process.pid, flush=True)\n"
               f"while not Path({str(pids)!r}).exists(): time.sleep(0.05)\n"
               "os._exit(0)  # gone without a word, as with kill -9\n")
    result = subprocess.run([sys.executable, "-c", starter], capture_output=True, text=True, timeout=60, cwd=REPO,
                            env={**os.environ, "PAGEFIND_BINARY_PATH": str(slow)})
    indexer, pagefind = int(result.stdout.split()[0]), int(pids.read_text().strip())
    wait_for(lambda: not _alive(indexer) and not _alive(pagefind), timeout=10, what="the indexer and Pagefind to end")
