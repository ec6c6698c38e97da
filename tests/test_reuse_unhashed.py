"""The files MkDocs and Pagefind write themselves (the 404 and offline pages, the theme's assets,
the search index) stay the published site's own files after a rebuild where their bytes are the
same, as Kite's pages do (tests/test_reuse.py): nginx answers 304 for them, rsync skips them.
Only with the same safety checks: never a file reached through a symlink, someone else's, or one
whose mode is not what the umask gives."""

from __future__ import annotations

import os

from kite.build import build
from test_reuse import assert_copies_match, identities, lessons  # noqa: F401  (lessons: a fixture)

WRITTEN_BY_OTHERS = ["404.html", "404.html.gz", "404.html.br", "offline.html", "offline.html.gz", ".kite-site",
                     "pagefind/pagefind.js", "pagefind/pagefind-worker.js"]


def test_unchanged_files_written_by_mkdocs_and_pagefind_keep_their_inode(lessons, tmp_path):
    site = tmp_path / "site"
    build(lessons.config, site, workers=2)
    before = identities(site)
    lessons.lesson("第0课", "title: 第0课（修订）\ndate: 2026-01-01\nseries: 引线", "工地上的党课，改过了。\n" * 40)
    build(lessons.config, site, workers=2)
    after = identities(site)

    for path in WRITTEN_BY_OTHERS:
        assert after[path] == before[path], path
    theme = [path for path in before if path.startswith("assets/") and path in after]
    assert len(theme) > 10 and all(after[path] == before[path] for path in theme)
    index = [path for path in before if path.startswith("pagefind/fragment/") and path in after]
    assert index and all(after[path] == before[path] for path in index)
    # What did change is new: the lesson's page, and the index's entry that names its new parts.
    assert after["lessons/第0课/index.html"] != before["lessons/第0课/index.html"]
    assert after["pagefind/pagefind-entry.json"] != before["pagefind/pagefind-entry.json"]
    assert not [path for path in after if path.endswith(".kite-new")]
    assert_copies_match(site)


def test_a_tampered_or_unreadable_published_file_is_not_linked(lessons, tmp_path):
    site = tmp_path / "site"
    build(lessons.config, site, workers=2)
    (site / "404.html").chmod(0o600)  # the web server could no longer read it
    offline = (site / "offline.html").read_bytes()
    (site / "offline.html").unlink()
    outside = tmp_path / "outside.html"
    outside.write_bytes(offline)
    (site / "offline.html").symlink_to(outside)  # a file from outside the site
    moved = tmp_path / "elsewhere"
    (site / "pagefind").rename(moved)
    (site / "pagefind").symlink_to(moved)  # a folder on the way replaced by a symlink
    before = identities(site)

    build(lessons.config, site, workers=2)
    after = identities(site)
    assert after["404.html"] != before["404.html"]
    assert os.stat(site / "404.html").st_mode & 0o777 == 0o666 & ~_umask()
    assert not (site / "offline.html").is_symlink() and (site / "offline.html").read_bytes() == offline
    assert after["offline.html"] != (outside.stat().st_dev, outside.stat().st_ino)
    assert not (site / "pagefind").is_symlink()
    linked_from_outside = set(identities(moved).values()) & set(after.values())
    assert not linked_from_outside


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
