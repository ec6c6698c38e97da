"""What the differential tests of the incremental paths share: a small hub of about twenty
items of every kind, the edits they apply to it, and the comparison of two sites.

The oracle is always a fresh build of the same content into an empty folder: whatever a
rebuild or the preview reuses, what members get must be byte for byte what that build makes.
"""

from __future__ import annotations

import gzip
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import brotli

from kite.rendered import record_file

from helpers import CONFIG, REPO, HubFolder

NOW = datetime(2026, 4, 10, 4, 0, tzinfo=timezone.utc)
TEMPLATE = "templates/partials/kite/footer_extra.html"
PNG = (REPO / "content/media/cover.png").read_bytes()


def lesson(hub: HubFolder, name: str, title: str, day: str, series: str = "风筝精神", tags: str = "家乡",
           body: str = "正文。\n", extra: str = "") -> Path:
    front = f"title: {title}\ndate: {day}\nseries: {series}\ntags: [{tags}]\nsummary: {title}的摘要\n{extra}"
    return hub.write(f"lessons/{name}.md", f"---\n{front.strip()}\n---\n{body}")


def make_hub(root: Path, *, now: datetime = NOW) -> HubFolder:
    """About twenty items: lessons in two series, episodes with local and remote audio, activities
    past and upcoming around ``now`` (one ending soon after it), a picture, a draft, a template."""
    hub = HubFolder(root)
    hub.write("site_config.yml", CONFIG + "timezone: Asia/Shanghai\n")
    hub.media("cover.png", PNG)
    hub.media("pics/kite.png", PNG)
    hub.media("e1.mp3", b"ID3" + b"\0" * 4096)
    for number in range(1, 9):
        lesson(hub, f"a{number}", f"引线第{number}讲", f"2026-03-{number:02d}", "引线" if number % 2 else "安全",
               "家乡, 工地" if number % 3 else "工地", body=f"第{number}讲正文。见[下一讲](a{number + 1}.md)。\n")
    lesson(hub, "pic", "图里的风筝", "2026-02-01", tags="图片", body="![风筝](content/media/pics/kite.png)\n")
    lesson(hub, "草稿", "还没写完的课", "2026-04-01", extra="draft: true")
    hub.episode("e1", "title: 乡音第一期\ndate: 2026-02-02\nmedia: e1.mp3\nduration: '03:20'")
    hub.episode("e2", "title: 乡音第二期\ndate: 2026-02-09\nmedia: https://example.org/e2.mp3")
    hub.episode("e3", "title: 乡音第三期\ndate: 2026-02-16\nmedia: https://example.org/e3.mp3")
    hub.announcement("past", "title: 一月集中学习\ndate: 2026-01-05\nstarts: 2026-01-20T19:30:00+08:00\nlocation: 南京")
    hub.announcement("soon", f"title: 马上开始的学习\ndate: 2026-04-01\nstarts: {_iso(now - timedelta(hours=1))}\n"
                              f"ends: {_iso(now + timedelta(hours=2))}\nattendance: true")
    hub.announcement("later", "title: 五月集中学习\ndate: 2026-04-02\nstarts: 2026-05-20T19:30:00+08:00\n"
                              "ends: 2026-05-20T21:00:00+08:00\nreview: true\nattendance: code")
    hub.announcement("june", "title: 六月集中学习\ndate: 2026-04-03\nstarts: 2026-06-20T19:30:00+08:00")
    hub.write(TEMPLATE, "<p>海安市委组织部 主办</p>\n")
    return hub


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


# -- the edits: each changes the hub on disk, and returns the ``now`` to build with -------------

Edit = Callable[[HubFolder], datetime]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def _lesson_file(hub: HubFolder, name: str = "a3") -> Path:
    return hub.root / f"lessons/{name}.md"


def body(hub):
    _replace(_lesson_file(hub), "第3讲正文。", "改过的正文：风筝飞得再远，线还在手里。")
    return NOW


def title(hub):
    _replace(_lesson_file(hub), "title: 引线第3讲", "title: 风筝的线")
    return NOW


def date(hub):
    _replace(_lesson_file(hub), "date: 2026-03-03", "date: 2026-03-30")
    return NOW


def series(hub):
    _replace(_lesson_file(hub), "series: 引线", "series: 新开的系列")
    return NOW


def tags(hub):
    _replace(_lesson_file(hub, "a4"), "tags: [家乡, 工地]", "tags: [工地, 新标签]")
    return NOW


def tag_removed(hub):
    """The only lesson with this tag drops it: the tag's page goes."""
    _replace(_lesson_file(hub, "pic"), "tags: [图片]", "tags: [家乡]")
    return NOW


def media_unused(hub):
    """No page uses these files any more: they leave the site."""
    _replace(_lesson_file(hub, "pic"), "![风筝](content/media/pics/kite.png)", "图片先撤下。")
    _replace(hub.root / "content/episodes/e1.md", "media: e1.mp3", "media: https://example.org/e1.mp3")
    return NOW


def attendance_on(hub):
    _replace(_lesson_file(hub, "a5"), "summary: 引线第5讲的摘要", "summary: 引线第5讲的摘要\nattendance: true")
    return NOW


def activity_moved(hub):
    _replace(hub.root / "content/announcements/later.md", "2026-05-20T", "2026-05-22T")
    return NOW


def episode_edited(hub):
    path = hub.root / "content/episodes/e1.md"
    _replace(path, "title: 乡音第一期", "title: 乡音第一期（修订）")
    _replace(path, "duration: '03:20'", "duration: '04:05'")
    return NOW


def burst(hub):
    """Several files saved at once (an editor's "save all", a git pull)."""
    _replace(_lesson_file(hub, "a6"), "title: 引线第6讲", "title: 一起改的第六讲")
    (hub.root / "lessons/a7.md").unlink()
    lesson(hub, "b1", "一起加的一讲", "2026-03-15", series="引线", body="见[第五讲](a5.md)。\n")
    return NOW


def rename(hub):
    _lesson_file(hub).rename(_lesson_file(hub, "a3-renamed"))
    return NOW


def delete(hub):
    (hub.root / "content/episodes/e2.md").unlink()
    return NOW


def delete_activity(hub):
    (hub.root / "content/announcements/june.md").unlink()
    return NOW


def newest(hub):
    lesson(hub, "newest", "最新的一讲", "2026-04-09", series="安全", tags="新标签", body="最新的正文。\n")
    return NOW


def same_day(hub):
    """A new lesson on the day of another, named to sort before it: the order of equals is the fresh build's."""
    lesson(hub, "0-same-day", "同一天的另一讲", "2026-03-05", series="引线")
    hub.announcement("0-same-time", "title: 同时开始的学习\ndate: 2026-01-05\nstarts: 2026-01-20T19:30:00+08:00")
    return NOW


def site_title(hub):
    _replace(hub.config, "site_name: 测试云课堂", "site_name: 改名的云课堂")
    return NOW


def site_url_path(hub):
    _replace(hub.config, "site_url: https://example.org/hub/", "site_url: https://example.org/other/")
    return NOW


def zone(hub):
    _replace(hub.config, "timezone: Asia/Shanghai", "timezone: Asia/Dubai")
    return NOW


def branch_name(hub):
    _replace(hub.config, "栖息栈党支部", "新成立党支部")
    return NOW


def template_added(hub):
    hub.write("templates/partials/kite/header.html",
              (REPO / "kite/theme/partials/kite/header.html").read_text(encoding="utf-8") + "<!-- 本地页头 -->\n")
    return NOW


def template_changed(hub):
    hub.write(TEMPLATE, "<p>海安市委组织部 主办 · 改过的页脚</p>\n")
    return NOW


def template_removed(hub):
    (hub.root / TEMPLATE).unlink()
    return NOW


def media_replaced(hub):
    hub.media("e1.mp3", b"ID3" + b"\1" * 9000)
    hub.media("pics/kite.png", PNG + b"\0" * 100)
    return NOW


def time_passes(hub):
    return NOW + timedelta(hours=3)  # "soon" has ended: upcoming becomes past


def published(hub):
    _replace(_lesson_file(hub, "草稿"), "draft: true", "draft: false")
    return NOW


def nothing(hub):
    return NOW


EDITS: dict[str, Edit] = {edit.__name__: edit for edit in (
    body, title, date, series, tags, tag_removed, attendance_on, activity_moved, episode_edited, burst, rename,
    delete, delete_activity, newest, same_day, site_title, site_url_path, zone, branch_name, template_added,
    template_changed, template_removed, media_replaced, media_unused, time_passes, published, nothing)}


# -- comparing sites ---------------------------------------------------------------------------

PACKED = {".gz": gzip.decompress, ".br": brotli.decompress}


def files(site: Path) -> dict[str, Path]:
    """Every file under ``site`` by its '/'-separated relative path."""
    found = {}
    for folder, _, names in os.walk(site):
        for name in names:
            path = Path(folder, name)
            found[path.relative_to(site).as_posix()] = path
    return found


def differences(site: Path, fresh: Path) -> list[str]:
    """How ``site`` differs from the ``fresh`` build: files in one only, bytes that differ, and
    compressed copies that do not unpack to their file (their own bytes may differ: a rebuild
    keeps the published copy when it unpacks to the page)."""
    ours, theirs = files(site), files(fresh)
    found = [f"only in the rebuilt site: {path}" for path in sorted(ours.keys() - theirs.keys())]
    found += [f"only in the fresh build: {path}" for path in sorted(theirs.keys() - ours.keys())]
    for path in sorted(ours.keys() & theirs.keys()):
        data = ours[path].read_bytes()
        suffix = os.path.splitext(path)[1]
        if suffix in PACKED and path[: -len(suffix)] in ours:
            try:
                unpacked = PACKED[suffix](data)
            except Exception as error:  # noqa: BLE001 (any failure to unpack is the difference)
                found.append(f"{path} does not unpack: {error}")
                continue
            if unpacked != ours[path[: -len(suffix)]].read_bytes():
                found.append(f"{path} does not unpack to its file")
        elif data != theirs[path].read_bytes():
            found.append(f"differs: {path}")
    return found


def copy_site(source: Path, target: Path) -> None:
    """A published site as a build left it (modes and times kept: a rebuild links only files of the
    mode it makes, and the files ``kite.rendered`` recorded), with its record of what was rendered."""
    shutil.copytree(source, target, symlinks=True, copy_function=shutil.copy2)
    if record_file(source).exists():
        shutil.copy2(record_file(source), record_file(target))
