"""Attacks on a rebuild that links unchanged files from the published site (``kite.reuse``).

A linked file is the published file itself, so the new site must never take one that is not
plainly the last build's own (a symlink out of the site, a file the web server cannot read,
someone else's file), and a failed build must leave every published file's bytes and inode as
they were, whatever phase it failed in."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import stat
import time
from pathlib import Path

import pytest

from kite import reuse, search
from kite.build import BuildFailed, build
from kite.publisher import Publisher, _umask

from helpers import REPO, wait_for
from test_reuse import assert_copies_match, identities, lessons  # noqa: F401  (lessons: the same hub fixture)


def snapshot(site: Path) -> dict[str, tuple[tuple[int, int], bytes]]:
    return {path: (identity, (site / path).read_bytes()) for path, identity in identities(site).items()}


def contents(site: Path) -> dict[str, bytes]:
    """Every file's bytes, by path (the service worker names the build; it is left out)."""
    found = {}
    for folder, _, names in os.walk(site):
        for name in names:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, site)] = Path(path).read_bytes()
    return found


def test_a_tampered_published_site_is_never_linked_into_the_new_one(lessons, tmp_path):
    site, outside = tmp_path / "site", tmp_path / "outside"
    build(lessons.config, site, workers=2)
    outside.mkdir()
    # A page the web server can no longer read (chmod 000; root reads it all the same).
    (site / "lessons/第1课/index.html").chmod(0)
    # A page someone else owns: they could change the published page after the build.
    os.chown(site / "lessons/第5课/index.html", 12345, 12345)
    # A page that is a symlink to a file outside the site with the same bytes.
    page = site / "lessons/第2课/index.html"
    shutil.copyfile(page, outside / "page.html")
    page.unlink()
    page.symlink_to(outside / "page.html")
    # A compressed copy that is a symlink to a good copy outside the site.
    packed = site / "lessons/第3课/index.html.gz"
    shutil.copyfile(packed, outside / "page.html.gz")
    packed.unlink()
    packed.symlink_to(outside / "page.html.gz")
    # A lesson's whole folder replaced by a symlink to a copy outside the site.
    shutil.copytree(site / "lessons/第4课", outside / "第4课")
    shutil.rmtree(site / "lessons/第4课")
    (site / "lessons/第4课").symlink_to(outside / "第4课")
    # A directory where a page was.
    shutil.rmtree(site / "lessons/第0课")
    (site / "lessons/第0课/index.html").mkdir(parents=True)
    # A page edited in place (same length), and the lesson list's and the feed's copies swapped.
    edited = site / "lessons/第3课/index.html"
    edited.write_bytes(edited.read_bytes().replace("讲安全".encode(), "讲工资".encode()))
    assert "讲工资" in edited.read_text(encoding="utf-8")
    listing, feed = site / "lessons/index.html.br", site / "lessons/rss.xml.br"
    listing.rename(tmp_path / "swap")
    feed.rename(listing)
    (tmp_path / "swap").rename(feed)
    # A symlink to a folder where the home page was.
    (site / "index.html").unlink()
    (site / "index.html").symlink_to(outside)
    foreign = {path: os.stat(path).st_ino for path in outside.rglob("*") if path.is_file()}

    build(lessons.config, site, workers=2)

    fresh = tmp_path / "fresh"
    build(lessons.config, fresh, workers=2)
    built = contents(site)
    expected = contents(fresh)
    worker = "sw.js"
    built.pop(worker, None), expected.pop(worker, None)
    assert built.keys() == expected.keys()
    assert [path for path in built if built[path] != expected[path] and not path.startswith(("sw.js", "pagefind/"))] == []
    readable = 0o666 & ~_umask()
    inodes = set(foreign.values())
    for folder, folders, names in os.walk(site):
        for name in folders:
            assert not os.path.islink(os.path.join(folder, name))
        for name in names:
            path = os.path.join(folder, name)
            status = os.lstat(path)
            assert stat.S_ISREG(status.st_mode), path
            assert status.st_ino not in inodes, path  # never shares a file outside the site
            assert status.st_uid == os.geteuid(), path
            if not path.endswith(tuple(f"/{name}" for name in ("sw.js",))):
                assert stat.S_IMODE(status.st_mode) & 0o444 == readable & 0o444, path
    assert_copies_match(site)
    assert {path: os.stat(path).st_ino for path in outside.rglob("*") if path.is_file()} == foreign


@pytest.mark.parametrize("phase", ["template", "offline", "search"])
def test_a_rebuild_failing_in_any_phase_leaves_every_published_file_as_it_was(lessons, tmp_path, monkeypatch, phase):
    site = tmp_path / "site"
    build(lessons.config, site, workers=2)
    before = snapshot(site)
    lessons.lesson("第3课", "title: 第3课（修订）\ndate: 2026-01-04", "改过的正文。\n" * 40)
    if phase == "template":
        lessons.write("templates/lesson.html", "{% extends 'main.html' %}{% block content %}{{ lesson.no_such_name.deeper }}{% endblock %}")
    elif phase == "offline":  # after pages, feeds and media were linked or written
        lessons.write("templates/assets/kite.svg", "<svg 这不是图")
    elif phase == "search":
        monkeypatch.setenv("PAGEFIND_BINARY_PATH", "/bin/false")
    with pytest.raises(BuildFailed, match={"template": "生成页面", "offline": "kite.svg", "search": "搜索索引"}[phase]):
        build(lessons.config, site, workers=2)
    assert snapshot(site) == before
    assert {path.name for path in tmp_path.iterdir()} == {"hub", "site", ".site.kite-pages"}


def test_a_folder_of_the_published_site_replaced_by_a_symlink_leads_nowhere(tmp_path):
    published, outside = tmp_path / "site", tmp_path / "outside"
    (outside / "lesson").mkdir(parents=True)
    (outside / "lesson/index.html").write_bytes(b"page")
    published.mkdir()
    (published / "lesson").symlink_to(outside / "lesson")
    staged = str(tmp_path / "new/lesson/index.html")
    assert reuse.counterpart(staged, str(tmp_path / "new"), str(published)) is None
    # The published site's own folder may itself be reached through a symlink (``-d`` names one).
    (tmp_path / "alias").symlink_to(outside)
    assert reuse.counterpart(staged, str(tmp_path / "new"), str(tmp_path / "alias")) == str(tmp_path / "alias/lesson/index.html")


def test_a_file_swapped_while_it_is_compared_is_not_linked(tmp_path):
    """Another build of the same hub swaps its site in between the comparison and the link."""
    published, other, staged = tmp_path / "page.html", tmp_path / "other.html", tmp_path / "new.html"
    published.write_bytes(b"same page")
    other.write_bytes(b"changed!!")

    def swap_meanwhile(data: bytes) -> bool:
        os.replace(other, published)
        return data == b"same page"

    assert not reuse.link_if(str(published), str(staged), swap_meanwhile)
    assert not staged.exists()
    reuse.write(b"same page", str(staged), str(published))
    assert staged.read_bytes() == b"same page" and not os.path.samefile(staged, published)


def test_a_failing_search_part_stops_the_parts_still_running(tmp_path, monkeypatch):
    site, mark = tmp_path / "site", tmp_path / "written-after-failure"
    site.mkdir()
    for number in range(4):
        (site / f"p{number}.html").write_text(f"<html><body data-pagefind-body>第{number}页</body></html>", encoding="utf-8")
    fake = tmp_path / "pagefind.sh"
    # The first part fails at once; the second would write a while later.
    fake.write_text(f'#!/bin/sh\ncase "$*" in *bundle-0*) echo 第一部分坏了; exit 1;; esac\nsleep 2; touch {mark}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
    monkeypatch.setattr(search, "PART_MEMORY", 1)  # both parts at once, whatever the memory
    with pytest.raises(search.SearchIndexFailed, match="第一部分坏了"):
        search.index_search(site, workers=2, shard_pages=2)
    time.sleep(3)
    assert not mark.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["pagefind.sh", "site"]


def test_the_preview_writing_a_served_file_over_itself_never_removes_it(tmp_path, lessons):
    """After ``publish`` the preview's folder *is* the published site: the file it would link from
    is the one it serves, which must not be unlinked first (a member of the editor's browser would
    get a 404 meanwhile)."""
    page = tmp_path / "page.html"
    page.write_bytes(b"same page")
    assert reuse.link(str(page), str(page)) and page.read_bytes() == b"same page"
    site = tmp_path / "site"
    build(lessons.config, site)
    with Publisher.staged(site, incremental=True) as publisher:
        assert publisher.previous == site
        publisher.write_file("a.txt", "甲")
        publisher.publish(site)
    assert publisher.folder == site and publisher.previous is None


def test_a_build_killed_once_it_linked_pages_leaves_the_published_site_as_it_was(lessons, tmp_path):
    site = tmp_path / "site"
    build(lessons.config, site, workers=2)
    before = snapshot(site)
    lessons.lesson("第3课", "title: 第3课（修订）\ndate: 2026-01-04", "改过的正文。\n" * 40)
    command = [sys.executable, str(REPO / "build.py"), "build", "-f", str(lessons.config), "-d", str(site)]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: any((staging / "lessons/第5课/index.html.gz").exists() for staging in tmp_path.glob(".site.new-*")),
                 timeout=60, what="the build to link and compress pages")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert snapshot(site) == before
    build(lessons.config, site, workers=2)  # and the next build is whole
    assert "第3课（修订）" in (site / "lessons/第3课/index.html").read_text(encoding="utf-8")
    assert_copies_match(site)


def test_a_site_built_with_a_private_umask_is_made_readable_by_the_next_build(lessons, tmp_path):
    site = tmp_path / "site"
    reuse.fresh_mode.cache_clear()
    kept = os.umask(0o077)
    try:
        build(lessons.config, site)
        build(lessons.config, site)  # a rebuild: links what the umask of now gives
        assert stat.S_IMODE((site / "lessons/第1课/index.html").stat().st_mode) == 0o600
        os.umask(0o022)  # the operator fixes it: the web server must read every file again
        build(lessons.config, site)
    finally:
        os.umask(kept)
    for path in site.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) & 0o004, path


def test_a_site_folder_named_through_a_symlink_is_replaced_where_it_is(lessons, tmp_path):
    real, alias = tmp_path / "releases/site", tmp_path / "site"
    build(lessons.config, real, workers=2)
    alias.symlink_to(real)
    before = identities(real)
    lessons.lesson("第3课", "title: 第3课（修订）\ndate: 2026-01-04", "改过的正文。\n" * 40)
    build(lessons.config, alias, workers=2)
    assert alias.is_symlink() and alias.resolve() == real  # the web server's root still names the site
    assert "第3课（修订）" in (real / "lessons/第3课/index.html").read_text(encoding="utf-8")
    after = identities(real)
    assert after["lessons/第0课/index.html"] == before["lessons/第0课/index.html"]  # linked, as always
    assert_copies_match(real)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["hub", "releases", "site"]
    assert sorted(path.name for path in (tmp_path / "releases").iterdir()) == [".site.kite-pages", "site"]  # the record beside the real folder
