"""A rebuild renders only the pages whose spec changed since the last build (``kite.rendered``).

Whether what it publishes is right is ``test_rebuild_same_as_fresh``'s question (26 edits, each
compared file by file with a fresh build); here: that it really renders less, that what it links
is checked to be what was published, and that anything it cannot trust renders every page.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from kite import rendered
from kite.build import BuildFailed, build
from kite.cli import summary

from helpers import HubFolder, logged_pagefind, pagefind_runs
from test_build import run_cli
from same_as_fresh import NOW, copy_site, differences, lesson, make_hub


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("base")
    hub = make_hub(root / "hub")
    report = build(hub.config, root / "site", now=NOW)
    assert report.rendered == report.pages  # nothing recorded yet: every page
    return root


@pytest.fixture
def published(base, tmp_path) -> Path:
    import shutil

    shutil.copytree(base / "hub", tmp_path / "hub")
    copy_site(base / "site", tmp_path / "site")
    # Built once where the copy is: an episode's spec holds its media file's path (three pages show it).
    assert build(tmp_path / "hub/site_config.yml", tmp_path / "site", now=NOW).rendered == 3
    return tmp_path


def inodes(site: Path) -> dict[str, int]:
    return {str(path.relative_to(site)): path.stat().st_ino for path in site.rglob("*") if path.is_file()}


def assert_same_as_fresh(root: Path, hub: HubFolder) -> None:
    build(hub.config, root / "fresh", now=NOW)
    found = differences(root / "site", root / "fresh")
    assert not found, "\n".join(found)


def test_nothing_changed_renders_nothing_and_keeps_every_page(published):
    hub, site = HubFolder(published / "hub"), published / "site"
    before = inodes(site)
    report = build(hub.config, site, now=NOW)
    assert report.rendered == 0 and report.pages > 20
    after = inodes(site)
    pages = [path for path in before if path.endswith(("index.html", "index.html.gz", "index.html.br"))]
    assert pages and all(after[path] == before[path] for path in pages)
    assert f"{report.pages} 个页面（{report.pages} 个和上次构建相同，直接沿用）" in summary(report)


def test_a_body_edit_renders_only_the_pages_that_list_that_lesson(published):
    # The lesson's page and the lists it is in (their specs hold the lesson, as the preview's do);
    # no episode's or activity's page.
    hub, site = HubFolder(published / "hub"), published / "site"
    before = inodes(site)
    lesson(hub, "a3", "引线第3讲", "2026-03-03", "引线", "家乡, 工地", body="第3讲正文，改过了。见[下一讲](a4.md)。\n")
    report = build(hub.config, site, now=NOW)
    after = inodes(site)
    changed = sorted(path for path in before if path.endswith("index.html") and after.get(path) != before[path])
    assert "lessons/a3/index.html" in changed and 1 <= report.rendered <= 12 < report.pages
    assert not [path for path in changed if path.startswith(("episodes/", "announcements/", "lessons/a1/"))]
    assert "改过了" in (site / "lessons/a3/index.html").read_text(encoding="utf-8")
    assert_same_as_fresh(published, hub)


def test_a_title_edit_renders_every_page_that_shows_it(published):
    hub, site = HubFolder(published / "hub"), published / "site"
    lesson(hub, "a3", "引线第3讲（修订）", "2026-03-03", "引线", "家乡, 工地", body="第3讲正文。见[下一讲](a4.md)。\n")
    report = build(hub.config, site, now=NOW)
    assert 1 < report.rendered < report.pages
    assert_same_as_fresh(published, hub)


def test_a_page_changed_on_the_server_is_rendered_again(published):
    # The record names each file's size and modification time: a page edited by hand on the server
    # (or its compressed copy) is not the page recorded, and is made afresh, not linked.
    hub, site = HubFolder(published / "hub"), published / "site"
    page = site / "lessons/a5/index.html"
    page.write_text(page.read_text(encoding="utf-8").replace("第5讲正文", "有人在服务器上改过"), encoding="utf-8")
    packed = site / "lessons/a6/index.html.gz"
    packed.write_bytes(b"not gzip")
    report = build(hub.config, site, now=NOW)
    assert report.rendered == 1  # a5; a6's page is linked, its copy compressed again
    assert "有人在服务器上改过" not in page.read_text(encoding="utf-8")
    assert_same_as_fresh(published, hub)


@pytest.mark.parametrize("spoil", ["garbage", "cut short", "others may write", "a symlink", "removed"])
def test_a_record_that_cannot_be_trusted_renders_every_page(published, spoil):
    hub, site = HubFolder(published / "hub"), published / "site"
    record = rendered.record_file(site)
    if spoil == "garbage":
        record.write_bytes(b"\x80\x05 not a pickle")
    elif spoil == "cut short":
        record.write_bytes(record.read_bytes()[:1000])
    elif spoil == "others may write":
        record.chmod(0o666)  # anyone could have put code in it: a pickle runs code as it loads
    elif spoil == "a symlink":
        moved = record.with_name("elsewhere")
        record.rename(moved)
        record.symlink_to(moved)
    else:
        record.unlink()
    report = build(hub.config, site, now=NOW)
    assert report.rendered == report.pages
    assert_same_as_fresh(published, hub)
    assert build(hub.config, site, now=NOW).rendered == 0  # recorded anew, and trusted


def test_a_template_change_renders_every_page(published):
    hub, site = HubFolder(published / "hub"), published / "site"
    hub.write("templates/partials/kite/footer_extra.html", "<p>海安市委组织部 主办（新）</p>\n")
    report = build(hub.config, site, now=NOW)
    assert report.rendered == report.pages
    assert_same_as_fresh(published, hub)


def test_a_change_in_a_template_folder_linked_into_the_hub_renders_every_page(published, tmp_path):
    # Jinja follows a symlinked folder of partials; so must the key.
    hub, site = HubFolder(published / "hub"), published / "site"
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "footer_extra.html").write_text("<p>共用的页脚</p>\n", encoding="utf-8")
    footer = hub.root / "templates/partials/kite/footer_extra.html"
    footer.unlink()
    footer.parent.rmdir()
    footer.parent.symlink_to(shared)
    (shared / "loop").symlink_to(shared)  # a link to a folder above: the walk must end
    assert build(hub.config, site, now=NOW).rendered == report_pages(site)
    (shared / "footer_extra.html").write_text("<p>共用的页脚（改过）</p>\n", encoding="utf-8")
    assert build(hub.config, site, now=NOW).rendered == report_pages(site)
    assert "共用的页脚（改过）" in (site / "index.html").read_text(encoding="utf-8")
    assert_same_as_fresh(published, hub)


def report_pages(site: Path) -> int:
    """How many pages the last build published, by its record."""
    with open(rendered.record_file(site), "rb") as saved:
        return len(pickle.load(saved)[1].pages)


def test_the_key_covers_kite_s_own_code_and_theme(published, tmp_path):
    # Kite's own templates, styles and code shape every page: a change there renders every page.
    from kite.loader import load_hub

    hub = load_hub(Path(published / "hub/site_config.yml"))
    code = tmp_path / "kite"
    (code / "theme").mkdir(parents=True)
    (code / "theme/main.html").write_text("<html>一</html>", encoding="utf-8")
    (code / "__pycache__").mkdir()
    first = rendered.rendering_key(hub, (), code)
    (code / "__pycache__/x.pyc").write_bytes(b"compiled")  # not code that renders
    assert rendered.rendering_key(hub, (), code) == first
    (code / "theme/main.html").write_text("<html>二</html>", encoding="utf-8")
    assert rendered.rendering_key(hub, (), code) != first
    assert rendered.rendering_key(hub, ("cover.png",), code) != rendered.rendering_key(hub, (), code)


def test_a_failed_rebuild_leaves_the_record_as_it_was(published, monkeypatch):
    hub, site = HubFolder(published / "hub"), published / "site"
    record = rendered.record_file(site)
    before = (record.read_bytes(), record.stat().st_ino)
    lesson(hub, "a2", "引线第2讲", "2026-03-02", "安全", "家乡, 工地", body="第2讲正文，改过了。\n")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", "/bin/false")  # fails after the pages
    with pytest.raises(BuildFailed):
        build(hub.config, site, now=NOW)
    assert (record.read_bytes(), record.stat().st_ino) == before
    monkeypatch.delenv("PAGEFIND_BINARY_PATH")
    assert 1 <= build(hub.config, site, now=NOW).rendered <= 12
    assert_same_as_fresh(published, hub)


def test_warnings_of_pages_not_rendered_are_said_again(published):
    # An editor who rebuilds without fixing a broken link must still be told about it.
    hub, site = HubFolder(published / "hub"), published / "site"
    lesson(hub, "a4", "引线第4讲", "2026-03-04", "安全", "家乡, 工地", body="见[不存在的课](no-such.md)。\n")
    first = build(hub.config, site, now=NOW)
    broken = [warning for warning in first.warnings if "no-such.md" in warning]
    assert broken and broken[0].startswith("lessons/a4.md:")
    again = build(hub.config, site, now=NOW)
    assert again.rendered == 0
    assert again.warnings == first.warnings
    result = run_cli("build", "-d", str(site), cwd=hub.root)
    assert result.returncode == 0 and broken[0] in result.stderr


def test_the_record_is_beside_the_site_and_private(published):
    site = published / "site"
    record = rendered.record_file(site)
    assert record.parent == site.parent and record.name == ".site.kite-pages"
    assert record.stat().st_mode & 0o077 == 0  # it holds every page's Markdown, drafts' never
    with open(record, "rb") as saved:
        _, kept = pickle.load(saved)
    assert not [path for path, page in kept.pages.items() if page.spec.draft]
    assert not [name for name in os.listdir(site) if "kite-pages" in name]


# -- the search index's parts ---------------------------------------------------------------------

@pytest.fixture
def parted(tmp_path, monkeypatch) -> tuple[HubFolder, Path, Path]:
    """A hub indexed in parts of four pages, built once, with every Pagefind run logged."""
    log = logged_pagefind(tmp_path, monkeypatch)
    monkeypatch.setenv("KITE_SEARCH_PART_PAGES", "4")
    hub = make_hub(tmp_path / "hub")
    build(hub.config, tmp_path / "site", now=NOW)
    return hub, tmp_path / "site", log


def test_an_edit_re_indexes_only_the_part_that_holds_the_page(parted):
    hub, site, log = parted
    made = pagefind_runs(log)
    assert len(made) >= 4  # a part each four of the 20-odd pages to index
    # a3 is in one part; the others are linked from the published site, checked file by file.
    lesson(hub, "a3", "引线第3讲", "2026-03-03", "引线", "家乡, 工地", body="第3讲正文，改过了，讲风筝的线。见[下一讲](a4.md)。\n")
    build(hub.config, site, now=NOW)
    assert len(pagefind_runs(log)) == 1
    assert_same_as_fresh(site.parent, hub)  # (the fresh build indexes every part again)
    assert len(pagefind_runs(log)) == len(made)
    build(hub.config, site, now=NOW)  # nothing changed: no part is made again
    assert pagefind_runs(log) == []


def test_a_part_changed_on_the_server_is_made_again(parted):
    hub, site, log = parted
    pagefind_runs(log)
    meta = next((site / "pagefind/merge/1").glob("*.pf_meta"))
    meta.write_bytes(meta.read_bytes() + b"\0")  # someone's hand, or a disk's error
    build(hub.config, site, now=NOW)
    assert pagefind_runs(log) == ["bundle-1"]
    assert_same_as_fresh(site.parent, hub)


def test_a_new_page_re_indexes_only_the_parts_whose_indexed_text_it_changes(parted, monkeypatch):
    # A page's part follows from its path, not its place: a new lesson, which would shift every later
    # slice of the sorted pages, re-indexes its own part and no other.  Its neighbour in
    # the series is a new file (its 下一课 link changed), but Pagefind reads only its body element,
    # which did not change: that neighbour's part is linked from the published site all the same.
    from kite.search import _body_of, marked_pages, part_shares

    hub, site, log = parted
    pagefind_runs(log)
    monkeypatch.setenv("KITE_SEARCH_PART_PAGES", "6")  # the 16 pages and 17 with the new one: 3 parts
    build(hub.config, site, now=NOW)
    made = pagefind_runs(log)
    build(hub.config, site, now=NOW)  # every part linked: what it read is carried over in the record
    assert pagefind_runs(log) == []
    before = {page: (os.stat(site / page).st_ino, _body_of((site / page).read_bytes())) for page in marked_pages(site)}
    lesson(hub, "b0", "引线第0讲", "2026-02-28", "引线", "家乡", body="新的一讲。\n")  # (b0: not a1's part)
    build(hub.config, site, now=NOW)
    again = pagefind_runs(log)
    pages = marked_pages(site)
    shares = part_shares(pages, 6)
    assert len(shares) == len(made) == len(part_shares(list(before), 6))  # as many parts as before
    now = {page: (os.stat(site / page).st_ino, _body_of((site / page).read_bytes())) for page in pages}
    files = {page for page in pages if before.get(page, (None,))[0] != now[page][0]}
    bodies = {page for page in pages if before.get(page, (None, None))[1] != now[page][1]}
    assert bodies == {"lessons/b0/index.html"} and "lessons/a1/index.html" in files  # a1 links to b0 now
    parts = {number for number, share in enumerate(shares) if files & set(share)}
    assert again == sorted(f"bundle-{number}" for number, share in enumerate(shares) if bodies & set(share))
    assert len(again) < len(parts)  # a part whose pages changed only outside their bodies was linked
    assert_same_as_fresh(site.parent, hub)


def test_a_part_reached_through_a_symlink_is_made_again_not_linked(parted, tmp_path):
    # A folder of the published index replaced by a symlink: linking from it would put files from
    # outside into the site (reuse.counterpart refuses a path through one).
    hub, site, log = parted
    pagefind_runs(log)
    moved = tmp_path / "elsewhere"
    (site / "pagefind/merge/1").rename(moved)
    (site / "pagefind/merge/1").symlink_to(moved)
    outside = {(path.stat().st_dev, path.stat().st_ino) for path in moved.rglob("*") if path.is_file()}
    build(hub.config, site, now=NOW)
    assert pagefind_runs(log) == ["bundle-1"]
    assert not (site / "pagefind/merge/1").is_symlink()
    inside = {(path.stat().st_dev, path.stat().st_ino) for path in (site / "pagefind").rglob("*") if path.is_file()}
    assert not outside & inside
    assert_same_as_fresh(site.parent, hub)


def test_the_home_screen_icons_are_drawn_again_only_for_another_logo(published, monkeypatch):
    from kite import offline, publisher

    hub, site = HubFolder(published / "hub"), published / "site"
    drawn, draw = [], offline.icon

    def counted(logo: bytes, size: int) -> bytes:
        drawn.append(size)
        return draw(logo, size)

    monkeypatch.setattr(offline, "icon", counted)
    monkeypatch.setattr(publisher, "icon", counted, raising=False)
    icons = sorted(path.name for path in (site / "assets").glob("icon-*.png"))
    build(hub.config, site, now=NOW)
    assert drawn == [] and sorted(path.name for path in (site / "assets").glob("icon-*.png")) == icons
    # A hub's own logo (templates/assets/kite.svg) is drawn, and the icons' names follow it.
    logo = (Path(offline.__file__).parent / "theme/assets/kite.svg").read_text(encoding="utf-8")
    hub.write("templates/assets/kite.svg", logo.replace('fill="', 'fill="#b71c1c" data-was="', 1))
    build(hub.config, site, now=NOW)
    assert sorted(drawn) == sorted(offline.ICON_SIZES)
    assert sorted(path.name for path in (site / "assets").glob("icon-*.png")) != icons
    assert_same_as_fresh(published, hub)
