"""A rebuild into a published site equals a fresh build of the same content into an empty folder.

A rebuild links every unchanged file to the published one, keeps compressed copies that still
unpack to their page, and swaps MkDocs's and Pagefind's own files for the published ones when
equal (``kite.reuse``).  Each edit below is applied to a copy of one built hub, the copy is
rebuilt into (a copy of) its published site, and every file is compared with a fresh build.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kite.build import build
from kite.errors import ContentErrors
from kite.publisher import BuildFailed

from helpers import HubFolder
from same_as_fresh import EDITS, NOW, TEMPLATE, copy_site, differences, files, lesson, make_hub


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The hub and its site, built once for the module."""
    root = tmp_path_factory.mktemp("base")
    hub = make_hub(root / "hub")
    build(hub.config, root / "site", now=NOW)
    return root


@pytest.fixture
def published(base, tmp_path):
    """A copy of the base hub and of its published site, for one test to edit and rebuild."""
    shutil.copytree(base / "hub", tmp_path / "hub")
    copy_site(base / "site", tmp_path / "site")
    return tmp_path


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_a_rebuild_after_an_edit_equals_a_fresh_build(published, edit):
    hub = HubFolder(published / "hub")
    now = edit(hub)
    build(hub.config, published / "site", now=now)
    build(hub.config, published / "fresh", now=now)
    found = differences(published / "site", published / "fresh")
    assert not found, "\n".join(found)


def test_the_same_build_twice_keeps_every_file(tmp_path):
    # Built here rather than copied: a copy would give the media new inodes, where a build links
    # them to the hub's own files.
    hub = make_hub(tmp_path / "hub")
    build(hub.config, tmp_path / "site", now=NOW)
    before = {path: os.stat(file).st_ino for path, file in files(tmp_path / "site").items()}
    build(hub.config, tmp_path / "site", now=NOW)
    after = {path: os.stat(file).st_ino for path, file in files(tmp_path / "site").items()}
    assert after.keys() == before.keys()
    assert [path for path in after if after[path] != before[path]] == []


BREAKAGES = {
    # Found while loading: nothing is staged.
    "content": (lambda hub: lesson(hub, "a3", "风筝的线", "三月三日"), ContentErrors),  # not a date
    # Found while rendering, with the new site half staged (and half linked to the published one).
    "template": (lambda hub: hub.write(TEMPLATE, "<p>{{ 1 / 0 }}</p>\n"), BuildFailed),
}


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_a_failed_build_leaves_the_last_good_site_and_the_fixed_rebuild_equals_fresh(published, breakage):
    hub = HubFolder(published / "hub")
    site = published / "site"
    good = {path: (file.read_bytes(), file.stat().st_ino) for path, file in files(site).items()}
    breakage[0](hub)
    with pytest.raises(breakage[1]):
        build(hub.config, site, now=NOW)
    assert {path: (file.read_bytes(), file.stat().st_ino) for path, file in files(site).items()} == good
    assert sorted(path.name for path in published.iterdir()) == [".site.kite-pages", "hub", "site"]  # no staging folder left
    lesson(hub, "a3", "风筝的线", "2026-03-03", body="改好的正文。\n")
    hub.write(TEMPLATE, "<p>海安市委组织部 主办</p>\n")
    build(hub.config, site, now=NOW)
    build(hub.config, published / "fresh", now=NOW)
    found = differences(site, published / "fresh")
    assert not found, "\n".join(found)


def test_a_build_shared_among_processes_equals_one_made_in_one(published, monkeypatch):
    # Big hubs are rendered by several processes, each writing a share of the pages: a page's link
    # to another's Markdown file (a1.md links a2.md) must resolve when the other is another's share.
    import kite.parallel

    hub = HubFolder(published / "hub")
    build(hub.config, published / "one", now=NOW, workers=1)
    monkeypatch.setattr(kite.parallel, "SERIAL_BELOW", 10)  # this small hub, shared as a big one is
    build(hub.config, published / "shared", now=NOW, workers=2)
    assert differences(published / "shared", published / "one") == []
