"""Files a rebuild after editing one lesson leaves as they were (same inode: nginx answers 304), this
tree beside another commit.

Each version builds the benchmark hub (bench/generate_hub.py, fixed seed) into a folder of its
own, then one lesson gets a new paragraph (as bench/build_bench.py edits it) and each version
builds again over its site.  Prints, for each version, how many of the site's files keep their
(device, inode), and where the others are, by folder: a file that is new or changed has to be
new, any other is one a member's phone downloads again for nothing.

    .venv/bin/python bench/kept_files.py [--against main] [--lessons 1566 ...]
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from side_by_side import comparison, compared, tree_env  # noqa: E402


def identities(site: Path) -> dict[str, tuple[int, int, bytes]]:
    found = {}
    for folder, _, names in os.walk(site):
        for name in names:
            path = os.path.join(folder, name)
            status = os.stat(path)
            with open(path, "rb") as file:
                found[os.path.relpath(path, site)] = (status.st_dev, status.st_ino, file.read())
    return found


def build(tree: Path, hub: Path, site: Path) -> None:
    subprocess.run([sys.executable, str(tree / "build.py"), "build", "-f", str(hub / "site_config.yml"), "-d", str(site)],
                   env=tree_env(tree), cwd=tree, check=True, stdout=subprocess.DEVNULL)


def where(path: str) -> str:
    parts = path.split("/")
    return parts[0] if len(parts) == 1 else "/".join(parts[:2]) if parts[0] in ("pagefind", "assets") else parts[0]


def main() -> int:
    arguments = comparison(__doc__.splitlines()[0], "main").parse_args()
    with compared(arguments, "kite-kept-files-") as (work, trees, hub):
        for index, tree in enumerate(trees.values()):
            build(tree, hub, work / f"site-{index}")
        before = {label: identities(work / f"site-{index}") for index, label in enumerate(trees)}
        lesson = min((hub / "lessons").rglob("*.md"))
        with open(lesson, "a", encoding="utf-8") as text:
            text.write("\n补充了工地上的新做法，请大家对照落实。\n")
        print(f"生成的站点：{arguments.lessons} 篇党课、{arguments.episodes} 期节目、{arguments.announcements} 条活动通知；"
              f"修改了 {lesson.relative_to(hub)}")
        for index, (label, tree) in enumerate(trees.items()):
            build(tree, hub, work / f"site-{index}")
            after = identities(work / f"site-{index}")
            old = before[label]
            kept = [path for path, (dev, ino, _) in after.items() if old.get(path, (None, None))[:2] == (dev, ino)]
            same_bytes = [path for path, (_, _, data) in after.items()
                          if path not in kept and path in old and old[path][2] == data]
            print(f"{label}：{len(after)} 个文件，{len(kept)} 个保持索引节点；"
                  f"内容没变却换了新文件的 {len(same_bytes)} 个，新的或变了的 {len(after) - len(kept) - len(same_bytes)} 个")
            for place, count in Counter(map(where, same_bytes)).most_common(12):
                print(f"    没变却是新文件：{place}  {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
