"""The preview re-renders exactly the pages an edit changed: every page that shows the edited
lesson gets its new text, and every other page is left as it was (same file, same inode).

An edit must stay cheap at 10,000 lessons, so the preview compares what each page is made of
with the last time instead of rendering everything; these tests hold that comparison to what
the pages show."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from kite.preview import Preview


def pages(site: Path) -> dict[str, int]:
    """Every rendered page of the site, by its path, with its inode (replaced pages get a new one)."""
    return {os.path.relpath(os.path.join(folder, "index.html"), site): os.stat(os.path.join(folder, "index.html")).st_ino
            for folder, _, names in os.walk(site) if "index.html" in names}


def lesson(hub, name: str, title: str, day: str, series: str, tags: str, body: str = "正文。\n") -> None:
    hub.lesson(name, f"""
        title: {title}
        date: {day}
        series: {series}
        tags: [{tags}]
        summary: {title}的摘要
        """, body)


@pytest.fixture
def preview(hub, tmp_path):
    lesson(hub, "a1", "引线第一讲", "2026-03-01", "引线", "家乡")
    lesson(hub, "a2", "引线第二讲", "2026-03-08", "引线", "家乡")
    lesson(hub, "b1", "塔吊安全", "2026-02-01", "安全", "工地")
    hub.episode("e1", """
        title: 乡音第一期
        date: 2026-02-02
        media: https://example.org/e1.mp3
        """)
    hub.announcement("n1", """
        title: 三月集中学习
        date: 2026-02-20
        starts: 2026-03-20T19:30:00+08:00
        """)
    shown = Preview(hub.config, tmp_path / "site", None)
    shown.update()
    assert not shown.problems
    yield shown
    shown.close()


def text(preview: Preview, page: str) -> str:
    return (preview.site_dir / page).read_text(encoding="utf-8")


def test_an_update_with_nothing_edited_renders_no_page(preview):
    before = pages(preview.site_dir)
    assert len(before) > 10
    preview.update()
    assert pages(preview.site_dir) == before


def test_an_edited_body_renders_its_lesson_and_the_lists_holding_it_and_nothing_else(hub, preview):
    before = pages(preview.site_dir)
    lesson(hub, "a1", "引线第一讲", "2026-03-01", "引线", "家乡", body="改过的正文：风筝飞得再远，线还在手里。\n")
    preview.update()
    after = pages(preview.site_dir)
    changed = {page for page in after if after[page] != before.get(page)}

    assert "lessons/a1/index.html" in changed
    assert "改过的正文" in text(preview, "lessons/a1/index.html")
    # Pages that do not show lesson a1 at all are the very files they were.
    for untouched in ("lessons/b1/index.html", "lessons/series/安全/index.html", "lessons/tags/工地/index.html",
                      "episodes/e1/index.html", "announcements/n1/index.html", "announcements/index.html",
                      "episodes/index.html", "search/index.html"):
        assert untouched in before and untouched not in changed, untouched
    assert len(changed) < len(after) // 2


def test_an_edited_title_reaches_every_page_that_shows_it(hub, preview):
    lesson(hub, "a1", "风筝的线", "2026-03-01", "引线", "家乡")
    preview.update()
    for page in ("lessons/a1/index.html", "lessons/index.html", "lessons/series/引线/index.html",
                 "lessons/tags/家乡/index.html", "index.html"):
        assert "风筝的线" in text(preview, page), page
    # The next lesson in the series links back to it by its title.
    assert "风筝的线" in text(preview, "lessons/a2/index.html")
    assert "引线第一讲" not in text(preview, "lessons/a2/index.html")


def test_a_lesson_moved_to_another_series_updates_both_series_and_its_neighbour(hub, preview):
    lesson(hub, "a1", "引线第一讲", "2026-03-01", "安全", "家乡")
    preview.update()
    assert "引线第一讲" in text(preview, "lessons/series/安全/index.html")
    assert "引线第一讲" not in text(preview, "lessons/series/引线/index.html")
    assert "引线第一讲" not in text(preview, "lessons/a2/index.html")


def _settled(*paths: Path) -> None:
    """Files saved long enough ago that the preview keeps what it read of them (not "racily clean")."""
    for path in paths:
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns - 10_000_000_000))


def test_a_media_file_replaced_in_a_sub_folder_shows_its_new_size(hub, preview):
    # Editors keep audio in a folder of its own and copy a re-recorded file over the old one: the
    # media folder's own time does not change, but the episode page says how big the file is.
    hub.media("audio/intro.txt", b"x")
    hub.media("audio/e2.mp3", b"\0" * 10 * 1024)
    page = hub.episode("e2", """
        title: 乡音第二期
        date: 2026-02-03
        media: audio/e2.mp3
        """)
    _settled(page, hub.root / "content/media", hub.root / "content/media/audio")
    preview.update()
    assert "10 KB" in text(preview, "episodes/e2/index.html")
    hub.media("audio/e2.mp3", b"\0" * 30 * 1024)
    preview.update()
    assert not preview.problems
    shown = text(preview, "episodes/e2/index.html")
    assert "30 KB" in shown and "10 KB" not in shown
    assert 'length="30720"' in text(preview, "episodes/podcast.xml")


def test_a_media_file_no_page_uses_leaves_with_the_folders_it_leaves_empty(hub, preview):
    # As in a new build, which makes only the folders its media files are in.
    def episode(name: str, media: str) -> None:
        hub.episode(name, f"""
            title: 乡音{name}
            date: 2026-02-09
            media: {media}
            """)

    hub.media("audio/2026/e2.mp3", b"\0" * 1024)
    hub.media("audio/e3.mp3", b"\0" * 2048)
    episode("e2", "audio/2026/e2.mp3")
    episode("e3", "audio/e3.mp3")
    preview.update()
    assert (preview.site_dir / "media/audio/2026/e2.mp3").is_file()
    episode("e2", "https://example.org/e2.mp3")
    preview.update()
    assert not (preview.site_dir / "media/audio/2026").exists()
    assert (preview.site_dir / "media/audio/e3.mp3").is_file()  # a folder still in use stays
    episode("e3", "https://example.org/e3.mp3")
    preview.update()
    assert not (preview.site_dir / "media/audio").exists()
    assert [path.name for path in (preview.site_dir / "media").iterdir()] == ["cover.png"]  # the podcast's, still used


def test_a_missing_media_file_added_to_a_sub_folder_clears_the_problem(hub, preview):
    hub.media("docs/other.txt", b"x")
    page = hub.lesson("c1", "title: 第三课\ndate: 2026-03-10", body="![图](content/media/docs/later.png)\n")
    _settled(page, hub.root / "content/media", hub.root / "content/media/docs")
    preview.update()
    assert any("content/media/docs/later.png" in problem for problem in preview.problems)
    hub.media("docs/later.png", b"\x89PNG picture")
    preview.update()
    assert not preview.problems
    assert "media/docs/later.png" in text(preview, "lessons/c1/index.html")


def test_a_link_to_a_lessons_file_follows_that_lesson_appearing_and_disappearing(hub, preview):
    # MkDocs turns a link to another page's Markdown file into that page's address, and warns, only
    # as the page exists: the linking page, itself unchanged, must follow the other one.
    page = hub.lesson("c1", "title: 第三课\ndate: 2026-03-10", body="见[下一课](c2.md)。\n")
    _settled(page)
    preview.update()
    assert 'href="c2.md"' in text(preview, "lessons/c1/index.html")
    assert preview.site.render_warnings == ["lessons/c1.md:5: body: 链接 c2.md 指向的页面或文件不存在"]

    _settled(hub.lesson("c2", "title: 第四课\ndate: 2026-03-11"))
    preview.update()
    assert 'href="../c2/"' in text(preview, "lessons/c1/index.html")
    assert preview.site.render_warnings == []

    (hub.root / "lessons/c2.md").unlink()
    preview.update()
    assert 'href="c2.md"' in text(preview, "lessons/c1/index.html")
    assert preview.site.render_warnings == ["lessons/c1.md:5: body: 链接 c2.md 指向的页面或文件不存在"]


def test_a_deleted_activity_takes_its_calendar_file_with_its_page(hub, preview):
    assert (preview.site_dir / "announcements/n1/event.ics").is_file()
    (hub.root / "content/announcements/n1.md").unlink()
    preview.update()
    assert not (preview.site_dir / "announcements/n1/index.html").exists()
    assert not (preview.site_dir / "announcements/n1/event.ics").exists()
    assert "三月集中学习" not in text(preview, "announcements/index.html")


@pytest.fixture
def long_lists(hub, tmp_path, monkeypatch):
    """A preview of 65 lessons (three pages of the lessons list, the series and the tag: the newest 25,
    then two runs of 20) that renders 3 pages at once before leaving the lists' later pages for the
    next update."""
    from kite import publisher

    for number in range(65):
        day = date(2026, 1, 1) + timedelta(days=number)
        lesson(hub, f"l{number:02}", f"第{number}讲", day.isoformat(), "引线", "家乡")
    shown = Preview(hub.config, tmp_path / "site", None)
    shown.update()
    monkeypatch.setattr(publisher, "AT_ONCE", 3)
    yield shown
    shown.close()


def add_oldest(hub, shown: Preview) -> None:
    """A lesson older than all: every later page of each list moves by one."""
    lesson(hub, "oldest", "补录的一讲", "2025-06-01", "引线", "家乡")
    shown.update()


def test_an_edit_that_changes_many_pages_shows_the_lesson_first_and_the_lists_later_pages_next(hub, tmp_path, long_lists):
    # A lesson dated before the others, added to a hub of 10,000, moves every later page of every list
    # it is in by one: the preview took 4 s before the editor saw it. Here, with a smaller hub, an
    # update may render 3 pages at once.
    shown = long_lists
    before = pages(shown.site_dir)
    add_oldest(hub, shown)
    assert shown.more and shown.site.pending == 6  # the lessons', the series' and the tag's two later pages
    assert "补录的一讲" in text(shown, "lessons/oldest/index.html")
    for first in ("lessons/index.html", "lessons/series/引线/index.html", "lessons/tags/家乡/index.html"):
        assert pages(shown.site_dir)[first] != before[first], first  # the chips count one more
    # The lists' later pages wait for the next update, as they were.
    later = ("lessons/page/1/index.html", "lessons/page/2/index.html", "lessons/series/引线/page/1/index.html")
    assert all(pages(shown.site_dir)[page] == before[page] for page in later)
    # That one renders them 3 at a time, and stops after a share when another edit is waiting.
    shown.update(stop=lambda: True)
    assert shown.more and shown.site.pending == 3
    now = pages(shown.site_dir)  # the newest later pages first: the next an editor opens
    seconds = ("lessons/page/2/index.html", "lessons/series/引线/page/2/index.html", "lessons/tags/家乡/page/2/index.html")
    assert all(now[page] != before[page] for page in seconds)
    assert all(now[page.replace("/2/", "/1/")] == before[page.replace("/2/", "/1/")] for page in seconds)
    assert not shown.site.searched_changed  # lists only: the search index need not follow
    shown.update()
    assert not shown.more and shown.site.pending == 0
    fresh = Preview(hub.config, tmp_path / "fresh", None)
    fresh.update()
    try:
        assert pages(shown.site_dir).keys() == pages(fresh.site_dir).keys()
        for page in pages(fresh.site_dir):
            assert text(shown, page) == text(fresh, page), page
    finally:
        fresh.close()


def test_a_new_lesson_changes_the_lists_first_pages_alone(hub, long_lists):
    # The later pages count from the oldest lesson, so the newest goes on the first pages, and a
    # member's saved or cached page 2 keeps its lessons.
    shown = long_lists
    before = pages(shown.site_dir)
    lesson(hub, "newest", "最新的一讲", "2026-06-01", "引线", "家乡")
    shown.update()
    now = pages(shown.site_dir)
    changed = {page for page in now if now[page] != before.get(page)}
    assert not shown.more and "lessons/index.html" in changed and "lessons/series/引线/index.html" in changed
    assert not [page for page in changed if "/page/" in page]
    for first in ("lessons/index.html", "lessons/series/引线/index.html", "lessons/tags/家乡/index.html", "index.html"):
        assert "最新的一讲" in text(shown, first), first


def test_a_list_growing_by_a_run_leaves_its_older_pages_alone(hub, long_lists):
    # 65 lessons: the newest 25, then runs 2 and 1. Fifteen more make a third run, off the first page:
    # run 2 now links to it as the page before, and run 1 shows as it did, so it is not written again.
    shown = long_lists
    oldest = shown.site_dir / "lessons/page/1/index.html"
    before, second = os.stat(oldest), text(shown, "lessons/page/2/index.html")
    for number in range(15):
        lesson(hub, f"n{number:02}", f"新的第{number}讲", f"2026-04-{number + 1:02}", "引线", "家乡")
    shown.update()
    while shown.more:
        shown.update()
    # The first page held lessons 40 to 64: 40 to 59 are the third run now.
    assert "第45讲" not in text(shown, "lessons/index.html") and "第45讲" in text(shown, "lessons/page/3/index.html")
    assert 'href="../3/" rel="prev"' in text(shown, "lessons/page/2/index.html") != second
    after = os.stat(oldest)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_an_edit_made_while_pages_wait_comes_before_them(hub, long_lists):
    shown = long_lists
    add_oldest(hub, shown)
    waiting = shown.site.pending
    lesson(hub, "l00", "改过标题的第0讲", "2026-01-01", "引线", "家乡")
    shown.update()
    assert "改过标题的第0讲" in text(shown, "lessons/l00/index.html")
    assert shown.more and shown.site.pending >= waiting  # still waiting, the edit first


def test_a_page_removed_or_rendered_is_one_the_search_index_follows(hub, preview):
    (hub.root / "content/announcements/n1.md").unlink()  # its page goes, and no other page it was in is searched
    preview.update()
    assert preview.site.searched_changed
    preview.update()
    assert not preview.site.searched_changed
    lesson(hub, "b1", "塔吊安全（修订）", "2026-02-01", "安全", "工地")
    preview.update()
    assert preview.site.searched_changed


def test_a_fix_made_while_pages_wait_shows_at_once_and_they_follow(hub, long_lists):
    # The editor breaks a lesson while the lists' later pages wait, then fixes it: the update for the
    # fix takes the problem off every page without first rendering what waits.
    shown = long_lists
    add_oldest(hub, shown)
    waiting = shown.site.pending
    path = hub.root / "lessons/l00.md"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("title: ", 'title: "', 1), encoding="utf-8")
    shown.update()
    assert shown.problems and not shown.more
    path.write_text(good, encoding="utf-8")
    shown.update()
    assert not shown.problems
    assert shown.site.pending == waiting and shown.more  # none of them rendered for the fix
    shown.update()
    assert not shown.more and shown.site.pending == 0
