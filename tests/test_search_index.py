"""The search index built beside the build: in its own process, stopped with its Pagefind."""

from __future__ import annotations

import os
import shutil

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
