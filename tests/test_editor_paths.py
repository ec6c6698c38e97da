"""What editors meet at the edges of the content rules: where a broken link is, a file where a
folder belongs, a colon in a file name, and the forms site_url and the endpoint may be written in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from helpers import REPO
from kite.build import build
from kite.errors import ContentErrors
from kite.loader import load_config, load_hub


def problems(hub) -> list[str]:
    with pytest.raises(ContentErrors) as caught:
        load_hub(hub.config)
    return [str(problem) for problem in caught.value.problems]


def drop_podcast(hub) -> None:
    """The config without its podcast section, whose cover lies in content/media/."""
    text = hub.config.read_text(encoding="utf-8")
    hub.config.write_text(text.split("podcast:")[0], encoding="utf-8")


def test_a_broken_file_link_names_its_line_in_the_file(hub, tmp_path):
    # Front matter lines count: the body starts on line 6 here.
    hub.lesson("a", "title: 甲\ndate: 2026-01-01\nspeaker: 张三", body=(
        "第一段。\n"                                       # line 6
        "\n"
        "见[另一课](no-such.md)和[讲义](files/讲义.pdf)。\n"  # line 8
        "\n"
        "再见[另一课](no-such.md)。\n"                      # line 10: the same link again
        "[参考]: missing.md\n"                              # line 11: a reference definition
        "\n"
        "用[参考]。\n"
    ))
    report = build(hub.config, tmp_path / "site")
    assert sorted(report.warnings) == sorted([
        "lessons/a.md:8: body: 链接 no-such.md 指向的页面或文件不存在",
        "lessons/a.md:8: body: 链接 files/讲义.pdf 指向的页面或文件不存在",
        "lessons/a.md:10: body: 链接 no-such.md 指向的页面或文件不存在",
        "lessons/a.md:11: body: 链接 missing.md 指向的页面或文件不存在",
    ])


def test_the_cli_prints_broken_links_as_path_line_field(hub, tmp_path):
    hub.lesson("a", "title: 甲\ndate: 2026-01-01", body="一\n二\n[x](gone.md)\n")
    done = subprocess.run([sys.executable, str(REPO / "build.py"), "build", "-f", str(hub.config), "-d", str(tmp_path / "site")],
                          capture_output=True, text=True, cwd=hub.root)
    assert done.returncode == 0, done.stderr
    # Warnings carry the prefix every warning has; what follows it is PATH:LINE: FIELD: message.
    assert "警告：lessons/a.md:7: body: 链接 gone.md 指向的页面或文件不存在" in done.stderr.splitlines()


@pytest.mark.parametrize("folder", ["lessons", "content/episodes", "content/announcements", "content/media"])
def test_a_file_where_a_content_folder_belongs_is_an_error(hub, tmp_path, folder):
    hub.lesson("a", "title: 甲\ndate: 2026-01-01")
    if folder == "content/media":
        (hub.root / folder / "cover.png").unlink()
        (hub.root / folder).rmdir()
        drop_podcast(hub)
    elif folder == "lessons":
        for path in (hub.root / "lessons").iterdir():
            path.unlink()
        (hub.root / "lessons").rmdir()
    (hub.root / folder).parent.mkdir(parents=True, exist_ok=True)
    (hub.root / folder).write_text("---\ntitle: 放错了\n---\n", encoding="utf-8")
    found = problems(hub)
    assert len(found) == 1
    assert found[0].startswith(f"{folder}:1: file: {folder} 应是一个文件夹，现在却是一个文件")
    site = tmp_path / "site"
    with pytest.raises(ContentErrors):
        build(hub.config, site)
    assert not site.exists()


def test_content_as_a_file_is_one_error(hub):
    shutil.rmtree(hub.root / "content")
    hub.write("content", "笔记\n")
    drop_podcast(hub)
    assert [line.split(": ")[0] for line in problems(hub)] == ["content:1"]


def test_a_colon_in_a_file_name_is_refused_with_the_reason(hub):
    hub.lesson("a:b", "title: 甲\ndate: 2026-01-01\nslug: ab")
    hub.lesson("2026:秋/c", "title: 乙\ndate: 2026-01-01")
    found = problems(hub)
    assert found[0].startswith("lessons/2026:秋/c.md:1: file: 文件名或文件夹名里不能有冒号")
    assert found[-1].startswith("lessons/a:b.md:1: file: 文件名或文件夹名里不能有冒号")
    assert all("Windows" in line for line in found if ": file: " in line)


@pytest.mark.parametrize("written, kept", [
    ("https://example.org/hub", "https://example.org/hub/"),
    ("https://example.org/hub/", "https://example.org/hub/"),
    ("https://example.org/hub//", "https://example.org/hub/"),
    ("https://example.org/hub/index.html", "https://example.org/hub/"),
    ("https://example.org/index.html", "https://example.org/"),
    ("https://example.org", "https://example.org/"),
    ("https://example.org/myindex.html", "https://example.org/myindex.html/"),
    # A URL is ASCII: feeds, the calendar and the sitemap carry the path percent-encoded, as
    # browsers send it; what is already encoded stays as it is.
    ("https://example.org/流动党员", "https://example.org/%E6%B5%81%E5%8A%A8%E5%85%9A%E5%91%98/"),
    ("https://example.org/%E6%B5%81%E5%8A%A8/", "https://example.org/%E6%B5%81%E5%8A%A8/"),
])
def test_site_url_is_normalised_where_the_meaning_is_plain(hub, written, kept):
    hub.configure(site_url=written)
    assert load_config(hub.config).site_url == kept


def test_feeds_under_a_chinese_site_url_link_ascii_urls_and_the_preview_keeps_its_path(hub, tmp_path):
    hub.configure(site_url="https://example.org/流动党员/")
    hub.lesson("第一课", "title: 甲\ndate: 2026-01-01")
    assert load_config(hub.config).base_path == "/流动党员/"  # where the preview serves, as the browser shows it
    site = tmp_path / "site"
    build(hub.config, site)
    rss = (site / "lessons/rss.xml").read_text(encoding="utf-8")
    assert "<link>https://example.org/%E6%B5%81%E5%8A%A8%E5%85%9A%E5%91%98/lessons/%E7%AC%AC%E4%B8%80%E8%AF%BE/</link>" in rss
    assert "流动党员" not in (site / "sitemap.xml").read_text(encoding="utf-8")


@pytest.mark.parametrize("written, message", [
    ("https://example.org/hub/?from=wechat", "网址不能带 ? 或 # 及其后的部分，请删去，写成 'https://example.org/hub/'"),
    ("https://example.org/hub/#top", "网址不能带 ? 或 # 及其后的部分"),
    ("https://example.org/hub/?", "网址不能带 ? 或 # 及其后的部分"),
    ("https://example.org//hub/", "网址的路径里有连续的 //（//hub/），请改成只用一个 /"),
    ("https://example.org/a//b/", "网址的路径里有连续的 //"),
])
def test_site_url_that_could_mean_two_things_is_refused_at_its_line(hub, written, message):
    hub.configure(site_url=written)
    found = problems(hub)
    line = hub.config.read_text(encoding="utf-8").splitlines().index(f"site_url: {written}") + 1
    assert len(found) == 1 and found[0].startswith(f"site_config.yml:{line}: site_url: {message}")


@pytest.mark.parametrize("written, kept", [
    ("https://example.org/checkin/", "https://example.org/checkin"),
    ("https://example.org/checkin//", "https://example.org/checkin"),
    ("https://example.org/", "https://example.org"),
])
def test_endpoint_trailing_slashes_are_dropped(hub, written, kept):
    text = hub.config.read_text(encoding="utf-8").replace("endpoint: https://example.org/checkin", f"endpoint: {written}")
    hub.config.write_text(text, encoding="utf-8")
    assert load_config(hub.config).attendance.endpoint == kept


@pytest.mark.parametrize("written, message", [
    ("https://example.org/checkin?x=1", "网址不能带 ? 或 # 及其后的部分，请删去，写成 'https://example.org/checkin'"),
    ("https://example.org/checkin#a", "网址不能带 ? 或 # 及其后的部分"),
    ("https://example.org//checkin", "网址的路径里有连续的 //"),
])
def test_endpoint_with_a_query_fragment_or_double_slash_is_refused_at_its_line(hub, written, message):
    text = hub.config.read_text(encoding="utf-8").replace("endpoint: https://example.org/checkin", f"endpoint: {written}")
    hub.config.write_text(text, encoding="utf-8")
    line = text.splitlines().index(f"  endpoint: {written}") + 1
    found = problems(hub)
    assert len(found) == 1 and found[0].startswith(f"site_config.yml:{line}: attendance.endpoint: {message}")


def test_two_quick_saves_of_the_same_size_are_both_seen_by_the_preview_cache(hub):
    # The file system's clock ticks every few milliseconds: two saves within one tick keep the
    # modification time, and here the size too.  The preview's cache must not keep the first.
    from kite.loader import ItemCache

    path = hub.lesson("a", "title: 第一版\ndate: 2026-01-01")
    cache = ItemCache()
    assert load_hub(hub.config, cache=cache).lessons[0].title == "第一版"
    stamp = path.stat().st_mtime_ns
    path.write_text(path.read_text(encoding="utf-8").replace("第一版", "第二版"), encoding="utf-8")
    os.utime(path, ns=(stamp, stamp))  # as if within the same tick
    assert load_hub(hub.config, cache=cache).lessons[0].title == "第二版"


def test_the_preview_cache_still_reuses_files_not_changed_lately(hub):
    from kite import loader

    path = hub.lesson("a", "title: 旧文件\ndate: 2026-01-01")
    old = time.time_ns() - 2 * loader.RACY_NS
    os.utime(path, ns=(old, old))
    cache = loader.ItemCache()
    first = load_hub(hub.config, cache=cache).lessons[0]
    assert load_hub(hub.config, cache=cache).lessons[0] is first


def _long_ago(*paths) -> None:
    """As if saved a while ago: the preview's cache trusts only files not changed lately."""
    old = time.time_ns() - 2 * __import__("kite.loader").loader.RACY_NS
    for path in paths:
        os.utime(path, ns=(old, old), follow_symlinks=False)


def test_a_new_media_file_leaves_the_preview_cache_of_the_files_not_using_it(hub):
    # At 10,000 lessons, reading every file again when a recording was added took the preview 1.4 s.
    from kite.loader import ItemCache

    _long_ago(hub.lesson("a", "title: 甲\ndate: 2026-01-01"),
              hub.episode("e", "title: 乡音\ndate: 2026-01-02\nmedia: e.mp3"), hub.media("e.mp3", b"ID3 first"))
    cache = ItemCache()
    first = load_hub(hub.config, cache=cache)
    _long_ago(hub.media("audio/new.mp3", b"ID3 another episode's"))
    again = load_hub(hub.config, cache=cache)
    assert again.lessons[0] is first.lessons[0] and again.episodes[0] is first.episodes[0]


def test_the_preview_cache_reads_a_file_again_when_a_media_file_it_uses_changes(hub, tmp_path):
    from kite.loader import ItemCache

    _long_ago(hub.lesson("a", "title: 甲\ndate: 2026-01-01", body="![图](content/media/pic.png)\n"),
              hub.episode("e", "title: 乡音\ndate: 2026-01-02\nmedia: e.mp3"),
              hub.media("e.mp3", b"ID3 first"), hub.media("pic.png", b"picture"))
    cache = ItemCache()
    first = load_hub(hub.config, cache=cache)
    assert first.episodes[0].media.size == len(b"ID3 first")
    _long_ago(hub.media("e.mp3", b"ID3 the second, longer recording"))
    again = load_hub(hub.config, cache=cache)
    assert again.episodes[0].media.size == len(b"ID3 the second, longer recording")
    assert again.lessons[0] is first.lessons[0]
    # A picture the body shows, moved out of the folder behind a link, would be published with the site.
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"picture")
    picture = hub.root / "content/media/pic.png"
    picture.unlink()
    picture.symlink_to(outside)
    _long_ago(outside, picture)
    with pytest.raises(ContentErrors) as caught:
        load_hub(hub.config, cache=cache)
    assert [str(problem) for problem in caught.value.problems] == [
        "lessons/a.md:5: body: 找不到文件 content/media/pic.png：请先把它放进 content/media/"]
    # And a recording that goes is missed at once.
    picture.unlink()
    (hub.root / "content/media/e.mp3").unlink()
    with pytest.raises(ContentErrors) as caught:
        load_hub(hub.config, cache=cache)
    assert any("找不到媒体文件 content/media/e.mp3" in str(problem) for problem in caught.value.problems)
