"""The baseline: the same Markdown built by plain MkDocs + Material, with jieba search.

Each generated lesson, episode and announcement becomes a page in a docs folder
(front matter left for MkDocs to read), with Material's default navigation of every
page and its built-in search with Chinese segmentation (jieba) — what a hub gets
without Kite.

    .venv/bin/python bench/plain_mkdocs.py HUB_DIR OUT_DIR
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

MKDOCS_YML = """\
site_name: 风筝 · 海安云课堂（MkDocs 对照）
site_url: http://127.0.0.1:8000/
theme:
  name: material
  language: zh
plugins:
  - search:
      separator: '[\\s\\u200b\\-]'
markdown_extensions:
  - tables
  - toc
  - admonition
  - attr_list
"""


def prepare(hub: Path, work: Path) -> Path:
    """A MkDocs project holding the hub's Markdown."""
    if work.exists():
        shutil.rmtree(work)
    docs = work / "docs"
    for source, target in (("lessons", "lessons"), ("content/episodes", "episodes"), ("content/announcements", "announcements")):
        for path in sorted((hub / source).rglob("*.md")):
            destination = docs / target / path.relative_to(hub / source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    (docs / "index.md").write_text("# 风筝 · 海安云课堂\n\n党课、乡音e课堂和活动通知。\n", encoding="utf-8")
    (work / "mkdocs.yml").write_text(MKDOCS_YML, encoding="utf-8")
    return work


def build(hub: Path, work: Path) -> dict[str, float]:
    """Build with the mkdocs command in a child process; returns wall and CPU seconds and peak memory."""
    from measure import measure  # bench/measure.py

    project = prepare(hub, work)
    run = measure([sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(project / "mkdocs.yml"),
                   "-d", str(project / "site")])
    return {"seconds": run.wall, "cpu": run.cpu, "peak_bytes": run.largest_process, "site": project / "site"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hub", type=Path)
    parser.add_argument("out", type=Path)
    arguments = parser.parse_args()
    result = build(arguments.hub, arguments.out)
    print(f"MkDocs + Material：{result['seconds']:.1f} 秒（CPU {result['cpu']:.1f} 秒），最大单进程内存 {result['peak_bytes'] / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
