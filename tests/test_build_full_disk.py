"""A build on a full disk says which file it could not write, in Chinese, and leaves the published
site exactly as it was.  The disk is a real tmpfs of a few MB (mounting it needs root, as CI runs)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from helpers import REPO
from kite import parallel
from kite.build import build
from kite.errors import os_error_message
from test_build import run_cli
from test_reuse import identities
from test_storage_faults import as_root, fill_up  # noqa: F401  (as_root: a fixture)


@pytest.fixture
def disk(as_root, tmp_path):  # noqa: F811
    folder = tmp_path / "disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m,mode=0755", "kite-test-disk", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


@pytest.fixture
def lessons(hub):
    for number in range(6):
        hub.lesson(f"第{number}课", f"title: 第{number}课\ndate: 2026-01-{number + 1:02}", "工地上的党课。\n" * 40)
    return hub


def published(site) -> dict[str, tuple]:
    return {path: (identity, (site / path).read_bytes()) for path, identity in identities(site).items()}


def test_a_full_disk_names_the_file_it_could_not_write_and_leaves_the_site(lessons, disk):
    site = disk / "site"
    build(lessons.config, site)
    before = published(site)
    fill_up(disk)
    lessons.lesson("第2课", "title: 第2课（修订）\ndate: 2026-01-03", "改过的正文，长一些。\n" * 400)

    result = run_cli("build", "-d", str(site), cwd=lessons.root)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    # Not "读写文件失败：：No space left on device": the file (in the build's folder beside the site), and why.
    assert re.fullmatch(rf"site_config\.yml:1: build: 读写文件失败：{re.escape(str(disk))}/\.site\.new-\w{{8}}/\S+"
                        r"：磁盘已满（No space left on device）", line), line
    assert published(site) == before
    assert sorted(os.listdir(disk)) == [".site.kite-pages", "filler", "site"]


def test_a_render_worker_on_a_full_disk_is_said_as_one_line_too(lessons, disk, monkeypatch):
    # The pages are rendered by forked workers on a big hub: a worker's failed write reaches the
    # editor as the same one line, not as a traceback from the worker.
    monkeypatch.setattr(parallel, "SERIAL_BELOW", 0)
    fill_up(disk)
    with pytest.raises(OSError) as raised:
        build(lessons.config, disk / "site", workers=2)
    assert f"失败：{disk}/.site.new-" in os_error_message(raised.value)
    assert os_error_message(raised.value).endswith("：磁盘已满（No space left on device）")
    assert os.listdir(disk) == ["filler"]


def test_a_failed_write_is_said_with_the_file_written_and_why():
    full = OSError(28, "No space left on device")
    assert os_error_message(full) == "读写文件失败（生成站点的输出目录或临时文件夹里）：磁盘已满（No space left on device）"
    full.filename = "/srv/kite/.site.new-abcd1234/index.html"
    assert os_error_message(full) == "读写文件失败：/srv/kite/.site.new-abcd1234/index.html：磁盘已满（No space left on device）"
    # shutil.copyfile names the file it copied first; the one it could not write is the second.
    copy = OSError(28, "No space left on device", "/venv/material/palette.css", None, "/srv/kite/.site.new-x/palette.css")
    assert os_error_message(copy) == "读写文件失败：/srv/kite/.site.new-x/palette.css：磁盘已满（No space left on device）"
    missing = OSError(2, "No such file or directory", "/a", None, "/b")
    assert os_error_message(missing) == "读写文件失败：/a → /b：文件或文件夹不存在（No such file or directory）"


def test_a_page_written_on_a_full_disk_is_named_and_leaves_no_half_file(disk):
    from kite import reuse

    page = disk / "lessons/index.html"
    reuse.write(b"old page", str(page))  # the preview's folder: a page being served
    fill_up(disk)
    for target in (disk / "lessons/new.html", page):
        with pytest.raises(OSError) as raised:
            reuse.write("一页党课。".encode() * 4000, str(target))
        assert raised.value.filename in (str(target), f"{target}.kite-new")
    assert page.read_bytes() == b"old page"
    assert sorted(os.listdir(disk / "lessons")) == ["index.html"]


def test_the_indexer_says_a_failed_write_in_chinese_not_as_a_traceback(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html lang=zh><body><main data-pagefind-body><p>风筝</p></main></body></html>",
                                     encoding="utf-8")
    (tmp_path / "taken").write_text("一个文件，不是文件夹", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "kite.search", str(site), "--output", str(tmp_path / "taken/pagefind")],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1
    assert result.stderr.strip() == f"搜索索引生成失败：读写文件失败：{tmp_path / 'taken'}：已有同名的文件（File exists）"


def test_a_mount_point_as_the_site_folder_is_refused_before_any_work_with_the_way_out(lessons, disk):
    # A Docker volume mounted where the site goes: the new site is made beside the folder and swapped
    # in for it, which a mount point refuses (EBUSY) -- it used to say so in English after the whole build.
    (disk / "notes.txt").write_text("运维留下的文件\n", encoding="utf-8")
    result = run_cli("build", "-d", str(disk), cwd=lessons.root)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"site_config.yml:1: site_dir: 输出目录 {disk} 是一个挂载点（例如 Docker 的卷或单独的磁盘）：Kite 在它旁边生成新站点、"
        f"再一步换上去，挂载点本身换不了。请把输出目录设为挂载点里面的一个子文件夹，例如 {disk}/site，并让网站服务器指向那里")
    assert "生成页面" not in result.stdout + result.stderr  # refused before rendering anything
    assert os.listdir(disk) == ["notes.txt"]
    assert not [name for name in os.listdir(disk.parent) if name.startswith(".disk.")]
    # The way out it names works, on the same disk.
    assert run_cli("build", "-d", str(disk / "site"), cwd=lessons.root).returncode == 0
    assert (disk / "site" / "index.html").is_file()


def test_a_busy_folder_and_a_move_across_disks_are_said_in_chinese():
    busy = OSError(16, "Device or resource busy", "/srv/site", None, "/srv/.site.old-x")
    assert os_error_message(busy) == "读写文件失败：/srv/site → /srv/.site.old-x：正被占用（例如是一个挂载点）（Device or resource busy）"
    across = OSError(18, "Invalid cross-device link", "/srv/site")
    assert os_error_message(across) == "读写文件失败：/srv/site：不能在两个磁盘之间改名（Invalid cross-device link）"
