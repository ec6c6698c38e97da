"""The preview under an editor's edits: seconds from a save to the preview serving its result.

Generates the benchmark hub (bench/generate_hub.py: 1,566 lessons, 300 episodes, 600
announcements), runs `build.py serve` on it, and times, ``--runs`` times each, from the save
to the first answer that shows it:

- a lesson's title edited in place, and saved atomically (temporary file renamed over it);
- a YAML error saved into a lesson (until the banner names it), then the fix (until it is gone);
- a new lesson, and its deletion; a new series;
- a recording dropped into content/media/ for an episode that named it before it was there;
- the config's site_description edited (every page is rendered again);
- a hub template edited (every page again).

Prints the median and the largest of each.  The brief's goal is "within a couple of seconds".

    .venv/bin/python bench/preview_edits.py [--runs 3] [--lessons 1566]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_hub import generate  # noqa: E402

from kite.ports import free_port  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def timed(save: Callable[[], None], shown: Callable[[], bool], limit: float = 300) -> float:
    started = time.monotonic()
    save()
    while not shown():
        if time.monotonic() - started > limit:
            raise SystemExit("预览没有跟上这次保存")
        time.sleep(0.02)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lessons", type=int, default=1566)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        hub = Path(work) / "hub"
        generate(hub, arguments.lessons, 300, 600)
        config = hub / "site_config.yml"
        port = free_port()
        process = subprocess.Popen([sys.executable, str(REPO / "build.py"), "serve", "-f", str(config), "--port", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}/"

        def page(path: str) -> str:
            try:
                return httpx.get(base + path, timeout=60).text
            except httpx.TransportError:
                return ""

        def status(path: str) -> int:
            try:
                return httpx.get(base + path, timeout=60).status_code
            except httpx.TransportError:
                return 0

        try:
            started = time.monotonic()
            while status("") != 200:
                if time.monotonic() - started > 900:
                    raise SystemExit("预览没有启动")
                time.sleep(0.2)
            print(f"第一次生成：{time.monotonic() - started:.1f} 秒（{arguments.lessons} 篇党课）")
            time.sleep(5)  # the first search index
            lesson = next((hub / "lessons").rglob("*.md"))
            url = f"lessons/{quote(lesson.stem)}/"
            original = lesson.read_text(encoding="utf-8")
            audio = (REPO / "content/media/xiangyin-01.mp3").read_bytes()[:40_000]
            figures: dict[str, list[float]] = {}

            def record(name: str, seconds: float) -> None:
                figures.setdefault(name, []).append(seconds)
                time.sleep(1.5)  # past the background index's pause, so saves do not pile up

            def retitle(text: str, title: str) -> str:
                return text.replace(text.split("\n")[1], f'title: "{title}"', 1)

            for run in range(arguments.runs):
                marker = f"就地保存{run}-{time.time_ns()}"
                record("党课标题（就地保存）", timed(lambda: lesson.write_text(retitle(original, marker), encoding="utf-8"),
                                                lambda: marker in page(url)))
                marker = f"原子保存{run}-{time.time_ns()}"

                def atomic() -> None:
                    temporary = lesson.with_name(f".{lesson.name}.tmp")
                    temporary.write_text(retitle(original, marker), encoding="utf-8")
                    os.replace(temporary, lesson)

                record("党课标题（原子保存）", timed(atomic, lambda: marker in page(url)))
                record("YAML 错误显示出来", timed(lambda: lesson.write_text(original.replace("title: ", 'title: "', 1), encoding="utf-8"),
                                              lambda: 'role="alert"' in page(url)))
                record("改好后错误消失", timed(lambda: lesson.write_text(original, encoding="utf-8"),
                                          lambda: 'role="alert"' not in page(url)))
                new = hub / f"lessons/bench-new-{run}.md"
                record("新增党课", timed(lambda: new.write_text(f"---\ntitle: 新课{run}\ndate: 2026-03-01\nseries: 新系列{run}\n---\n正文\n",
                                                            encoding="utf-8"),
                                      lambda: status(f"lessons/bench-new-{run}/") == 200))
                record("新系列的页面", timed(lambda: None, lambda: status("lessons/series/" + quote(f"新系列{run}") + "/") == 200))
                record("删除党课", timed(new.unlink, lambda: status(f"lessons/bench-new-{run}/") == 404))
                # A recording dropped into content/media/: the episode that waited for it shows, and
                # nothing else has to be read again (kite/loader.py, _media_state).
                recording = hub / f"content/media/bench-new-{run}.mp3"
                episode = hub / f"content/episodes/bench-new-{run}.md"
                episode.write_text(f"---\ntitle: 新节目{run}\ndate: 2026-03-01\nmedia: {recording.name}\n---\n文字稿\n", encoding="utf-8")
                timed(lambda: None, lambda: 'role="alert"' in page(""))
                time.sleep(1.5)
                record("放进节目缺的录音", timed(lambda: recording.write_bytes(audio),
                                             lambda: status(f"episodes/bench-new-{run}/") == 200 and 'role="alert"' not in page("")))
                episode.unlink()
                recording.unlink()
                time.sleep(1.5)
                text = config.read_text(encoding="utf-8")
                marker = f"站点说明{run}-{time.time_ns()}"
                described = "\n".join(line if not line.startswith("site_description:") else f"site_description: {marker}"
                                      for line in text.split("\n"))
                record("改 site_config.yml（全部重新生成）", timed(lambda: config.write_text(described, encoding="utf-8"),
                                                             lambda: marker in page("")))
                config.write_text(text, encoding="utf-8")
                time.sleep(1)
                footer = hub / "templates/partials/kite/footer_extra.html"
                footer.parent.mkdir(parents=True, exist_ok=True)
                marker = f"页脚{run}-{time.time_ns()}"
                record("改模板（全部重新生成）", timed(lambda: footer.write_text(f"<p>{marker}</p>", encoding="utf-8"),
                                                 lambda: marker in page(url)))
        finally:
            process.terminate()
            process.wait(30)
    print(f"{'改动':<28}中位数    最长（秒，{arguments.runs} 次）")
    for name, values in figures.items():
        print(f"{name:<28}{statistics.median(values):>6.2f}  {max(values):>6.2f}")


if __name__ == "__main__":
    main()
