"""A rebuild keeps the published site's unchanged files: same inode, so the same ETag and
Last-Modified from nginx (a member's browser gets a 304), and no file created or deleted."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import brotli
import pytest

from kite import parallel, reuse
from kite.build import BuildFailed, build
from kite.compress import TEXT_SUFFIXES


def identities(site: Path) -> dict[str, tuple[int, int]]:
    """Every file of the site, by its path, with (device, inode)."""
    found = {}
    for folder, _, names in os.walk(site):
        for name in names:
            status = os.stat(os.path.join(folder, name))
            found[os.path.relpath(os.path.join(folder, name), site)] = (status.st_dev, status.st_ino)
    return found


def assert_copies_match(site: Path) -> None:
    """Every compressed copy in the site holds exactly its file, whatever the builds before."""
    checked = 0
    for folder, _, names in os.walk(site):
        for name in names:
            path = Path(folder, name)
            if path.suffix not in TEXT_SUFFIXES:
                continue
            data = path.read_bytes()
            for suffix, unpack in ((".gz", gzip.decompress), (".br", brotli.decompress)):
                copy = Path(f"{path}{suffix}")
                if copy.exists():
                    assert unpack(copy.read_bytes()) == data, copy
                    checked += 1
    assert checked > 20


@pytest.fixture
def lessons(hub, monkeypatch):
    monkeypatch.setattr(parallel, "SERIAL_BELOW", 0)  # the render workers and the compression pool too
    for number in range(6):
        hub.lesson(f"第{number}课", f"title: 第{number}课\ndate: 2026-01-{number + 1:02}\nseries: 引线",
                   "工地上的党课，讲安全也讲权益。\n" * 40)
    return hub


def test_a_rebuild_links_what_is_unchanged_and_writes_what_changed(lessons, tmp_path):
    site = tmp_path / "site"
    build(lessons.config, site, workers=2)
    before = identities(site)
    # A copy the published site lost (an administrator's clean-up) is made again, not left out.
    (site / "lessons/第3课/index.html.br").unlink()
    # So is a damaged one (a full disk on the server, say): never linked into the new site.
    damaged = site / "lessons/第4课/index.html.gz"
    damaged.write_bytes(damaged.read_bytes()[:-9])
    (site / "lessons/第4课/index.html.br").write_bytes(b"not brotli")

    lessons.lesson("第0课", "title: 第0课（修订）\ndate: 2026-01-01\nseries: 引线", "工地上的党课，改过了。\n" * 40)
    build(lessons.config, site, workers=2)
    after = identities(site)

    for unchanged in ("lessons/第2课/index.html", "lessons/第5课/index.html"):
        for path in (unchanged, f"{unchanged}.gz", f"{unchanged}.br"):
            assert after[path] == before[path], path
    assert after["lessons/第3课/index.html"] == before["lessons/第3课/index.html"]
    assert "lessons/第3课/index.html.br" in after
    assert after["lessons/第4课/index.html"] == before["lessons/第4课/index.html"]
    assert after["lessons/第4课/index.html.gz"] != before["lessons/第4课/index.html.gz"]
    for changed in ("lessons/第0课/index.html", "lessons/index.html", "lessons/rss.xml"):
        for path in (changed, f"{changed}.gz", f"{changed}.br"):
            assert after[path] != before[path], path
    assert "第0课（修订）" in (site / "lessons/第0课/index.html").read_text(encoding="utf-8")
    kept = sum(after[path] == before.get(path) for path in after)
    assert kept > len(after) / 2, (kept, len(after))
    assert_copies_match(site)


def test_a_failed_rebuild_leaves_the_linked_files_as_they_were(lessons, tmp_path, monkeypatch):
    site = tmp_path / "site"
    build(lessons.config, site, workers=2)
    before = {path: (identity, (site / path).read_bytes()) for path, identity in identities(site).items()}
    lessons.lesson("第3课", "title: 第3课（修订）\ndate: 2026-01-04", "改过的正文。\n" * 40)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", "/bin/false")  # fails after pages were linked and compressed
    with pytest.raises(BuildFailed):
        build(lessons.config, site, workers=2)
    assert {path: (identity, (site / path).read_bytes()) for path, identity in identities(site).items()} == before
    assert {path.name for path in tmp_path.iterdir()} == {"hub", "site", ".site.kite-pages"}


def test_writing_over_a_linked_file_leaves_the_published_one_alone(tmp_path):
    published, staged = tmp_path / "published.html", tmp_path / "new" / "index.html"
    published.write_bytes(b"old page")
    reuse.write(b"old page", str(staged), str(published))
    assert os.path.samefile(published, staged)
    reuse.write(b"new page", str(staged))
    assert published.read_bytes() == b"old page" and staged.read_bytes() == b"new page"
    reuse.write(b"other page", str(staged), str(published))  # not the same bytes: written
    assert published.read_bytes() == b"old page" and staged.read_bytes() == b"other page"
