"""Builds into one site folder take turns (kite.site_lock): a second build waits for the first,
reads the content after it, and publishes last; a killed build blocks nothing and its staging
folder is removed by the next build; a running preview's folder is refused.  Real processes."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from helpers import REPO, free_port, wait_for
from kite.build import build
from test_preview import Preview
from test_reuse import identities


@pytest.fixture
def lessons(hub):
    for number in range(4):
        hub.lesson(f"第{number}课", f"title: 第{number}课\ndate: 2026-01-{number + 1:02}", "工地上的党课。\n" * 20)
    return hub


@pytest.fixture
def gate(tmp_path):
    """A Pagefind that waits at the door: it says it started, then runs the real one only once the
    test opens the gate.  A build using it holds its lock in the middle of its work for as long as
    the test wants."""
    folder = tmp_path / "gate"
    folder.mkdir()
    real = subprocess.run([sys.executable, "-c", "from pagefind_bin_extended import get_executable;"
                           "print(get_executable())"], capture_output=True, text=True, check=True).stdout.strip()
    script = folder / "pagefind"
    script.write_text(f'#!/bin/sh\ntouch "{folder}/started"\n'
                      f'while [ ! -e "{folder}/open" ]; do sleep 0.05; done\nexec "{real}" "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    return folder


class Build:
    """``build.py build`` running in a process of its own, its output in a file."""

    def __init__(self, hub, site: Path, out: Path, pagefind: Path | None = None):
        self.out = out
        env = {key: value for key, value in os.environ.items() if key != "PAGEFIND_BINARY_PATH"}
        if pagefind is not None:
            env["PAGEFIND_BINARY_PATH"] = str(pagefind)
        with open(out, "w") as sink:
            self.process = subprocess.Popen([sys.executable, str(REPO / "build.py"), "build", "-f", str(hub.config),
                                             "-d", str(site)], stdout=sink, stderr=subprocess.STDOUT, env=env,
                                            cwd=REPO, start_new_session=True)

    def output(self) -> str:
        return self.out.read_text(encoding="utf-8")

    def wait(self) -> int:
        return self.process.wait(120)


def test_a_second_build_waits_for_the_first_then_publishes_the_content_as_it_is_then(lessons, tmp_path, gate):
    site, link = tmp_path / "site", tmp_path / "www"
    build(lessons.config, site)
    link.symlink_to(site)  # the first build names the folder through a symlink, the second by its path
    # A page to index again: an index made from unchanged pages is linked, with no Pagefind to wait at.
    lessons.lesson("第0课", "title: 第0课\ndate: 2026-01-01", "改过的正文。\n" * 20)
    first = Build(lessons, link, tmp_path / "first.out", pagefind=gate / "pagefind")
    wait_for(lambda: (gate / "started").exists(), timeout=60, what="the first build to reach its search index")
    published = identities(site)

    second = Build(lessons, site, tmp_path / "second.out")
    wait_for(lambda: "等它完成后再开始本次构建" in second.output(), timeout=60, what="the second build to wait")
    assert f"正在生成 {site}" in second.output()
    # An editor saves while the second build waits: that is what must be published in the end.
    lessons.lesson("第2课", "title: 第2课（等待时修订）\ndate: 2026-01-03", "改过的正文。\n" * 20)
    assert second.process.poll() is None
    assert identities(site) == published  # nothing swapped in while the first build holds the folder

    (gate / "open").touch()
    assert first.wait() == 0, first.output()
    assert second.wait() == 0, second.output()
    # The wait is said as a stage of its own, and the content was read again after it.
    stages = [line.split("：")[0] for line in second.output().splitlines() if line.endswith("秒）")]
    assert stages[:4] == ["读取内容", "等待另一个构建", "读取内容", "生成页面"], second.output()
    assert "第2课（等待时修订）" in (site / "lessons/第2课/index.html").read_text(encoding="utf-8")
    assert link.is_symlink() and link.resolve() == site
    assert (site / ".kite-site").is_file() and (site / "pagefind").is_dir()
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".site.kite-pages", "first.out", "gate", "hub", "second.out", "site", "www"]


def test_a_killed_build_blocks_nothing_and_the_next_build_removes_what_it_left(lessons, tmp_path, gate):
    site = tmp_path / "site"
    build(lessons.config, site)
    # Another site's staging folder beside this one, and a folder of the editor's that looks alike:
    # neither is this site's to remove.
    others = [tmp_path / ".site2.new-abcd1234", tmp_path / ".site.new-mine", tmp_path / "site.new-abcd1234",
              tmp_path / ".site2.index-abcd1234"]
    for folder in others:
        folder.mkdir()
        (folder / "keep").write_text("别人的", encoding="utf-8")

    lessons.lesson("第0课", "title: 第0课\ndate: 2026-01-01", "改过的正文。\n" * 20)  # a page to index again
    killed = Build(lessons, site, tmp_path / "killed.out", pagefind=gate / "pagefind")
    wait_for(lambda: (gate / "started").exists(), timeout=60, what="the build to reach its search index")
    left = [path for path in tmp_path.iterdir() if path.name.startswith(".site.new-") and path not in others]
    assert len(left) == 1 and any(left[0].rglob("index.html"))  # a staging folder of hard links
    scratch = [path for path in tmp_path.iterdir() if path.name.startswith(".site.index-")]
    assert len(scratch) == 1 and (scratch[0] / "marked").is_dir()  # the search index's work
    left += scratch
    os.killpg(killed.process.pid, signal.SIGKILL)
    killed.wait()

    lessons.lesson("第1课", "title: 第1课（修订）\ndate: 2026-01-02", "改过的正文。\n" * 20)
    after = Build(lessons, site, tmp_path / "after.out")
    assert after.wait() == 0, after.output()
    assert "等它完成" not in after.output()  # the dead build's lock died with it
    assert "第1课（修订）" in (site / "lessons/第1课/index.html").read_text(encoding="utf-8")
    assert not [path for path in left if path.exists()]
    assert all((folder / "keep").is_file() for folder in others)
    assert not [path for path in tmp_path.iterdir() if path.name.startswith((".site.old-", ".site.kite-lock"))]


def test_a_build_into_a_running_previews_folder_is_refused(lessons, tmp_path):
    temp = tmp_path / "temp"
    temp.mkdir()
    preview = Preview(lessons, free_port(), env={**os.environ, "TMPDIR": str(temp)})
    try:
        folder = next(temp.glob("kite-preview-*")) / "site"
        served = identities(folder)
        refused = Build(lessons, folder, tmp_path / "refused.out")
        assert refused.wait() == 1
        assert f"输出目录 {folder} 是正在运行的预览（进程 {preview.process.pid}）的文件夹" in refused.output()
        assert identities(folder) == served
        assert "第0课" in preview.page("lessons/" + "%E7%AC%AC0%E8%AF%BE/")  # still served
    finally:
        preview.stop()


def test_a_worker_forked_by_a_build_killed_since_does_not_keep_its_lock(tmp_path):
    # The render and compression workers are forked: one still running when its build is killed
    # must not hold the folder for ever.
    site = tmp_path / "site"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import os, time\nfrom pathlib import Path\nfrom kite.site_lock import site_lock\n"
        f"with site_lock(Path({str(site)!r})):\n"
        "    worker = os.fork()\n"
        "    if worker == 0:\n"
        "        os.write(1, b'forked\\n')\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    os.write(1, f'{worker}\\n'.encode())\n"
        "    time.sleep(60)\n")], stdout=subprocess.PIPE, text=True, cwd=REPO)
    # Both lines, in either order (each one write, whole): the worker's says it has run since the fork
    # (a busy machine may not have scheduled it yet when its parent is killed: it would still hold the lock).
    lines = {holder.stdout.readline().strip(), holder.stdout.readline().strip()}
    assert "forked" in lines
    worker = int((lines - {"forked"}).pop())
    try:
        holder.kill()
        holder.wait()
        os.kill(worker, 0)  # still running
        descriptor = os.open(tmp_path / ".site.kite-lock", os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError if the worker kept it
        finally:
            os.close(descriptor)
    finally:
        os.kill(worker, signal.SIGKILL)


HOLD = """
import sys
import tempfile
from pathlib import Path
from kite.site_lock import site_lock
with site_lock(Path(sys.argv[1]), say=lambda text: print("waiting", flush=True)):
    print("holding", flush=True)
    sys.stdin.readline()
"""


def test_a_build_that_waited_holds_the_lock_the_next_one_sees(tmp_path):
    # The holder removes the lock file as it lets go; the build that waited on it must then lock the
    # file that a build starting now finds, or the two would run at once.
    site = tmp_path / "site"

    def holder() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", HOLD, str(site)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, cwd=REPO)

    first = holder()
    assert first.stdout.readline() == "holding\n"
    second = holder()
    assert second.stdout.readline() == "waiting\n"
    first.communicate("\n", timeout=30)
    assert second.stdout.readline() == "holding\n"
    third = holder()
    try:
        assert third.stdout.readline() == "waiting\n"
        second.communicate("\n", timeout=30)
        assert third.stdout.readline() == "holding\n"
        third.communicate("\n", timeout=30)
    finally:
        for process in (second, third):
            process.kill()
    assert sorted(path.name for path in tmp_path.iterdir()) == []


@pytest.mark.parametrize("squatter", ["folder", "symlink"])
def test_a_lock_file_that_is_a_folder_or_a_symlink_is_said_in_chinese_and_the_site_is_kept(lessons, tmp_path, squatter):
    site = tmp_path / "site"
    assert Build(lessons, site, tmp_path / "first.out").wait() == 0
    published = identities(site)
    lock = tmp_path / ".site.kite-lock"
    if squatter == "folder":
        lock.mkdir()
    else:
        lock.symlink_to(lessons.config)  # a file someone points the lock at must not be written into
    before = lessons.config.read_bytes()
    refused = Build(lessons, site, tmp_path / "refused.out")
    assert refused.wait() == 1
    said = refused.output()
    assert f"site_config.yml:1: build: 读写文件失败：{lock}：" in said
    assert "不是普通文件" in said and "Traceback" not in said
    assert "Is a directory" not in said and "symbolic links" not in said
    assert identities(site) == published
    assert lessons.config.read_bytes() == before and os.path.islink(lock) == (squatter == "symlink")


def test_a_site_folder_whose_parent_cannot_be_written_is_said_as_no_permission(tmp_path):
    # A user who may not write beside the site folder cannot make its lock file: that is what the
    # editor must read, not that the lock file does not exist.
    from kite.errors import unexpected_problem
    from kite.site_lock import site_lock

    shared = Path(tempfile.mkdtemp(prefix="kite-lock-"))  # outside pytest's private folder: another user must reach it
    try:
        shared.chmod(0o755)
        parent = shared / "www"
        parent.mkdir(mode=0o555)
        reader, writer = os.pipe()
        child = os.fork()
        if child == 0:  # as another user, in a process of its own
            try:
                os.close(reader)
                os.setgid(65534)
                os.setuid(65534)
                try:
                    with site_lock(parent / "site"):
                        said = "locked"
                except OSError as error:
                    said = str(unexpected_problem(error, Path("site_config.yml")))
                os.write(writer, said.encode("utf-8"))
            finally:
                os._exit(0)
        os.close(writer)
        with os.fdopen(reader, encoding="utf-8") as answer:
            said = answer.read()
        os.waitpid(child, 0)
        assert said == f"site_config.yml:1: build: 读写文件失败：{parent / '.site.kite-lock'}：没有权限（Permission denied）"
        assert list(parent.iterdir()) == []
    finally:
        shutil.rmtree(shared)


def test_a_site_a_killed_build_left_half_swapped_is_put_back_not_removed(lessons, tmp_path):
    # Where the system cannot swap two folders in one step, a build renames the published site to
    # .site.old-…, then its own into place: killed between the two, it leaves no site, and the
    # published one under the old name.  The next build must put it back, even one that then fails.
    site = tmp_path / "site"
    assert Build(lessons, site, tmp_path / "first.out").wait() == 0
    published = identities(site)
    site.rename(tmp_path / ".site.old-k1ll3d00")
    new = tmp_path / ".site.new-k1ll3d00"
    new.mkdir()
    (new / "index.html").write_text("half written", encoding="utf-8")

    # A build that fails once it holds the lock: a template that fails on a page.
    lessons.write("templates/lesson.html", "{% extends 'main.html' %}{% block content %}{{ lesson.no_such_name.deeper }}{% endblock %}")
    failed = Build(lessons, site, tmp_path / "failed.out")
    assert failed.wait() == 1
    assert "templates/lesson.html:1: template: 模板出错" in failed.output()
    assert identities(site) == published
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".site")) == [".site.kite-pages"]


def test_ctrl_c_while_waiting_for_another_build_ends_the_wait_and_leaves_the_site(lessons, tmp_path):
    site = tmp_path / "site"
    assert Build(lessons, site, tmp_path / "first.out").wait() == 0
    published = identities(site)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(site)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=REPO)
    try:
        assert holder.stdout.readline() == "holding\n"
        waiting = Build(lessons, site, tmp_path / "waiting.out")
        wait_for(lambda: "等它完成后再开始本次构建" in waiting.output(), timeout=60, what="the build to wait")
        waiting.process.send_signal(signal.SIGINT)
        assert waiting.wait() == 130
        assert "Traceback" not in waiting.output()
        assert identities(site) == published
        assert holder.poll() is None  # the other build goes on
    finally:
        holder.kill()
        holder.wait()
