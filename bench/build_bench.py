"""Build benchmark: issue 16's build, growth, first-search and lesson-page figures, each beside its target.

Generates the benchmark hub (bench/generate_hub.py: 1,566 lessons, 300 episodes, 600
announcements: 2,466 items) and, with ``--growth N``, the big hub (N lessons, the same
episodes and announcements), then prints:

- builds of each hub, taking turns so that a busy machine slows both alike, of two kinds:
  a *first build* into an empty folder (as plain MkDocs is measured), and a *rebuild* after
  one lesson was edited, over the site the build before left (an editor's usual build: Kite
  links what is unchanged from the published site, see kite/reuse.py); then, as figures beside
  the target, a rebuild after a lesson newer than all was added, and one after it was deleted.
  Each round's first build goes into a new folder, and the earlier rounds' sites are removed only at the end:
  on ext4 without a journal (this machine's disk), a file made within minutes of thousands
  being deleted costs up to about a millisecond of kernel time (the allocator steps over each
  recently deleted inode), so removing the last site just before would time the removal's
  after-effect, not the build (README §性能 has figures for both).  For the same reason every
  round's first build comes before the first rebuild (each rebuild's swap removes the old site's
  folders), and one more first build right after the rebuilds shows the difference (not a target).
  Wall time and CPU
  time (user + system of the build and every process it started), medians of ``--runs``,
  and the largest resident set of any one process (GNU time's figure).  A target counts as
  met only if both kinds meet it;
- growth: the big hub's median time over the benchmark hub's, from this same run;
- for each hub: pages, site size, a lesson page's HTML (median, largest), the bytes a phone
  fetches for its first search (headless Chromium against nginx with gzip, as
  bench/lighthouse.py serves the site: the search page and everything it loads, then one
  query and everything it fetches), and the seconds from saving a lesson to the preview
  serving it;
- plain MkDocs + Material on the benchmark hub's Markdown (bench/plain_mkdocs.py), and
  Kite's share of its time.

    .venv/bin/python bench/build_bench.py [--runs 3] [--growth 10000] [--skip-plain] [--skip-preview]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from kite.ports import free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_hub import generate  # noqa: E402
from lighthouse import start_nginx, stop_nginx  # noqa: E402
from measure import Run, folder_size, gzipped_size, measure  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SEARCH_WORD = "工资"
MB = 2**20

# Issue 16's targets.
PLAIN_SHARE = 1 / 20
GROWTH = 4.5
LARGEST_PROCESS = 1024 * MB
FIRST_SEARCH = 150 * 1024
LESSON_HTML = 40 * 1024
PREVIEW_SECONDS = 1.0

# The builds of each round, in order: the Hub's list of runs, as each round names it, as the summary does.
KINDS = (("builds", "首次", "首次构建（空文件夹）"), ("rebuilds", "重建", "改一篇后重建"),
         ("added", "新增后重建", "新增一篇最新的党课后重建"), ("deleted", "删除后重建", "再删掉它后重建"))

# What one query fetches from Pagefind's bundle, by kind of file.
SEARCH_FILES = {
    "脚本（pagefind.js 与 worker）": ("/pagefind.js", "/pagefind-worker.js"),
    "WebAssembly": ("/wasm.",),
    "入口（各部分的 entry 与 kite-shards.json）": ("pagefind-entry.json", "kite-shards.json"),
    "页面清单（pf_meta）": (".pf_meta",),
    "词索引块（pf_index）": (".pf_index",),
    "结果片段（pf_fragment，每条结果一个）": (".pf_fragment",),
}


@dataclass
class Hub:
    label: str
    folder: Path
    items: int
    builds: list[Run] = field(default_factory=list)  # first builds, into an empty folder
    rebuilds: list[Run] = field(default_factory=list)  # after one lesson was edited, over the last site
    added: list[Run] = field(default_factory=list)  # then after a lesson newer than all was added
    deleted: list[Run] = field(default_factory=list)  # then after it was deleted again
    round: int = 0  # each round's first build goes into a new folder (see the module's docstring)

    @property
    def site(self) -> Path:
        return self.folder.parent / f"{self.folder.name}-site-{self.round}"

    def median(self, attribute: str, kind: str = "builds") -> float:
        return statistics.median(getattr(run, attribute) for run in getattr(self, kind))

    def edit_a_lesson(self, number: int) -> None:
        """What an editor does before a rebuild: one lesson gets a new paragraph."""
        lesson = min((self.folder / "lessons").rglob("*.md"))
        with open(lesson, "a", encoding="utf-8") as text:
            text.write(f"\n第 {number} 次修订：补充了工地上的新做法，请大家对照落实。\n")

    @property
    def new_lesson(self) -> Path:
        return self.folder / "lessons/bench-newest.md"

    def add_a_lesson(self) -> None:
        """An editor's most common edit: the newest lesson, in a series and tags others have."""
        self.new_lesson.write_text("---\ntitle: 新增的一讲：冬季施工安全\ndate: 2026-06-01\nseries: 风筝精神\n"
                                   "tags: [冬季, 安全生产]\n---\n\n天冷路滑，上工前先检查脚手架。\n", encoding="utf-8")


def kite_build(hub: Hub) -> Run:
    return measure([sys.executable, str(REPO / "build.py"), "build", "-f", str(hub.folder / "site_config.yml"), "-d", str(hub.site)])


def page_sizes(site: Path, section: str) -> list[int]:
    return sorted(path.stat().st_size for path in (site / section).glob("*/index.html"))


# What the search page loads before the query, by kind of file.
PAGE_FILES = {
    "HTML": ("/search/",),
    "Material 的样式": ("/stylesheets/",),
    "Kite 的样式与图标": ("/assets/kite.",),
    "搜索脚本（search.js）": ("/assets/search.",),
}


@dataclass
class FirstSearch:
    page: int  # bytes for the search page and what it loads
    query: int  # bytes the query fetched
    shown: int  # results shown
    requests: list[tuple[str, int]]  # (url, bytes) of the query's requests
    page_requests: list[tuple[str, int]] = field(default_factory=list)  # (url, bytes) before the query
    served: int = 0  # response bodies as nginx logged them, every request the browser made


def itemize(requests: list[tuple[str, int]], kinds: dict[str, tuple[str, ...]]) -> list[tuple[str, int, int]]:
    """(kind, requests, bytes) for each kind, then anything else as 其他."""
    rows, rest = [], list(requests)
    for name, markers in kinds.items():
        found = [(url, size) for url, size in rest if any(marker in url.split("?")[0] for marker in markers)]
        rest = [request for request in rest if request not in found]
        rows.append((name, len(found), sum(size for _, size in found)))
    if rest:
        rows.append(("其他", len(rest), sum(size for _, size in rest)))
    return rows


def first_search(site: Path, work: Path) -> FirstSearch:
    """Bytes on the wire (headers and gzip'd bodies), as Chromium counts them, against nginx."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    nginx = start_nginx(work / "nginx", site, port)
    log = work / "nginx" / "access.log"
    logged = log.stat().st_size if log.exists() else 0
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True)
            finished: list = []
            page.on("requestfinished", lambda request: finished.append(request))
            page.goto(f"http://127.0.0.1:{port}/search/", wait_until="networkidle")
            page_requests = [(request.url.split(f":{port}", 1)[1], _transferred(request)) for request in finished]
            finished.clear()
            page.fill("#kite-q", SEARCH_WORD)
            page.locator("#kite-search-results li").first.wait_for(timeout=60_000)
            page.wait_for_load_state("networkidle")
            requests = [(request.url.split(f":{port}", 1)[1], _transferred(request)) for request in finished]
            shown = page.locator("#kite-search-results li").count()
            browser.close()
    finally:
        stop_nginx(nginx)
    return FirstSearch(sum(size for _, size in page_requests), sum(size for _, size in requests), shown, requests,
                       page_requests, _served(log, logged))


def _served(log: Path, start: int) -> int:
    """Response body bytes in nginx's access log from ``start`` on, the browser's requests only.

    A cross-check: Chromium's per-request sizes leave out what a service worker fetches (its
    precache) and the body of a Web Worker's script, and a phone downloads those too."""
    with log.open("rb") as file:
        file.seek(start)
        lines = file.read().decode("utf-8", "replace").splitlines()
    sizes = [re.search(r'" \d{3} (\d+) ', line) for line in lines if "Python-urllib" not in line]
    return sum(int(size.group(1)) for size in sizes if size)


def _transferred(request) -> int:
    sizes = request.sizes()
    return sizes["responseBodySize"] + sizes["responseHeadersSize"]


def preview_latency(hub: Path, trials: int = 3) -> tuple[list[float], float]:
    """Seconds from saving a lesson to the preview serving the new title, for each trial; and
    seconds from stopping the preview to its exit."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(REPO / "build.py"), "serve", "-f", str(hub / "site_config.yml"),
                                "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lesson = next((hub / "lessons").rglob("*.md"))
    original = lesson.read_text(encoding="utf-8")
    url = f"http://127.0.0.1:{port}/lessons/{quote(lesson.stem)}/"
    try:
        deadline = time.monotonic() + 900  # the big hub's first full render, on a busy machine
        while True:
            try:
                if httpx.get(url).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("预览没有启动")
            time.sleep(0.2)
        time.sleep(2)  # let the first background search index finish
        results = []
        for trial in range(trials):
            marker = f"改过的标题{trial}-{time.time_ns()}"
            lesson.write_text(re.sub(r'^title: .*$', f'title: "{marker}"', original, count=1, flags=re.M), encoding="utf-8")
            saved = time.monotonic()
            while marker not in httpx.get(url).text:
                time.sleep(0.02)
                if time.monotonic() - saved > 120:
                    raise SystemExit("预览没有更新")
            results.append(time.monotonic() - saved)
            time.sleep(1)
    finally:
        lesson.write_text(original, encoding="utf-8")
        stopping = time.monotonic()
        process.terminate()  # as Ctrl+C: the editor's terminal waits for this
        process.wait(120)
    return results, time.monotonic() - stopping


def verdict(ok: bool) -> str:
    return "达到" if ok else "未达到"


def describe_memory(run: Run) -> str:
    worker = run.largest("child")
    return (f"最大单进程 {run.largest_process / MB:.0f} MB（主进程 {run.largest('main') / MB:.0f} MB"
            + (f"，子进程中最大 {worker / MB:.0f} MB：{run.largest_child()}" if worker else "") + "）")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="full builds of each hub to time (median)")
    parser.add_argument("--growth", type=int, default=0, metavar="LESSONS",
                        help="also build a hub of this many lessons (issue 16: 10000) and compare")
    parser.add_argument("--skip-plain", action="store_true", help="leave out plain MkDocs (it takes minutes)")
    parser.add_argument("--skip-preview", action="store_true", help="leave out the preview's save-to-screen time")
    parser.add_argument("--lessons", type=int, default=1566)
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--announcements", type=int, default=600)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kite-bench-") as folder:
        work = Path(folder)
        extra = arguments.episodes + arguments.announcements
        hubs = [Hub("基准站点", work / "hub", arguments.lessons + extra)]
        if arguments.growth:
            hubs.append(Hub("大站点", work / "big", arguments.growth + extra))
        for hub, lessons in zip(hubs, (arguments.lessons, arguments.growth)):
            generate(hub.folder, lessons, arguments.episodes, arguments.announcements)
            print(f"{hub.label}：{lessons:,} 篇党课、{arguments.episodes} 期节目、{arguments.announcements} 条活动通知（{hub.items:,} 条内容）")
        print(f"机器：{os.cpu_count()} 核，开始时 load average {os.getloadavg()[0]:.1f}", flush=True)

        print("\nKite 构建（轮流进行；“首次”是空文件夹，每轮一个，先做完各轮的首次构建；“重建”是改了一篇党课后在那一轮的站点上重建，"
              "“新增后重建”“删除后重建”是接着加上一篇最新的党课、再删掉它）")
        # First builds before any rebuild: a rebuild's swap removes the old site's folders and changed
        # files, and a first build right after it would time that removal's after-effect (see above).
        for stage in (KINDS[:1], KINDS[1:]):
            for number in range(arguments.runs):
                for hub in hubs:
                    hub.round = number + 1
                    for kind, label, _ in stage:
                        if kind == "rebuilds":
                            hub.edit_a_lesson(number + 1)
                        elif kind == "added":
                            hub.add_a_lesson()
                        elif kind == "deleted":
                            hub.new_lesson.unlink()
                        run = kite_build(hub)
                        getattr(hub, kind).append(run)
                        print(f"  第 {number + 1} 轮 {hub.label}{label}：墙钟 {run.wall:.1f} 秒，CPU {run.cpu:.1f} 秒（内核 {run.system:.1f} 秒），"
                              f"{describe_memory(run)}，load average {os.getloadavg()[0]:.1f}", flush=True)
        # The same first build once more, now that the rebuilds have just removed thousands of files:
        # what an editor who deletes a site and builds again at once would see on this disk.
        base = hubs[0]
        base.round = arguments.runs + 1
        after_removals = kite_build(base)
        base.round = arguments.runs
        print(f"  {base.label}刚删过大量文件后的首次构建（不计入目标）：墙钟 {after_removals.wall:.1f} 秒，"
              f"CPU {after_removals.cpu:.1f} 秒（内核 {after_removals.system:.1f} 秒）", flush=True)

        for hub in hubs:
            pages = sum(1 for _ in hub.site.rglob("index.html"))
            lessons = page_sizes(hub.site, "lessons")
            largest = max(run.largest_process for run in hub.builds + hub.rebuilds + hub.added + hub.deleted)
            searched = first_search(hub.site, work)
            print(f"\n{hub.label}（{pages:,} 个页面）")
            for kind, _, label in KINDS:
                runs = getattr(hub, kind)
                print(f"  {label}：墙钟中位数 {hub.median('wall', kind):.1f} 秒（{', '.join(f'{r.wall:.1f}' for r in runs)}），"
                      f"CPU 中位数 {hub.median('cpu', kind):.1f} 秒（{', '.join(f'{r.cpu:.1f}' for r in runs)}）")
            print(f"  每秒页面（首次构建）：{pages / hub.median('wall'):.0f}")
            print(f"  最大单进程内存：{largest / MB:.0f} MB（目标 1 GB 以内：{verdict(largest <= LARGEST_PROCESS)}）")
            print(f"  站点大小：{folder_size(hub.site) / MB:.1f} MB")
            print(f"  一篇党课的 HTML：中位数 {statistics.median(lessons) / 1024:.1f} KB，最大 {lessons[-1] / 1024:.1f} KB"
                  f"（目标 40 KB 以内：{verdict(lessons[-1] <= LESSON_HTML)}）")
            total = searched.page + searched.query
            print(f"  首次搜索（gzip）：打开搜索页 {searched.page / 1024:.1f} KB + 搜索“{SEARCH_WORD}” {searched.query / 1024:.1f} KB"
                  f" = {total / 1024:.1f} KB，显示 {searched.shown} 条结果（目标 150 KB 以内：{verdict(total <= FIRST_SEARCH)}）")
            print(f"    另据 nginx 的访问日志，浏览器这期间收到的响应正文共 {searched.served / 1024:.1f} KB"
                  "（不含响应头；含上面没有计入的 service worker 预缓存和 Web Worker 脚本）")
            for name, count, size in itemize(searched.page_requests, PAGE_FILES):
                print(f"    搜索页 {name}：{count} 个请求，{size / 1024:.1f} KB")
            for name, count, size in itemize(searched.requests, SEARCH_FILES):
                print(f"    {name}：{count} 个请求，{size / 1024:.1f} KB")
            if not arguments.skip_preview:
                latency, stopped = preview_latency(hub.folder)
                print(f"  保存到预览更新：中位数 {statistics.median(latency):.2f} 秒（{', '.join(f'{t:.2f}' for t in latency)}）"
                      f"（目标 1 秒以内：{verdict(statistics.median(latency) <= PREVIEW_SECONDS)}）", flush=True)
                print(f"  停止预览（如 Ctrl+C）到它退出：{stopped:.2f} 秒", flush=True)

        base = hubs[0]
        if arguments.growth:
            big = hubs[1]
            print(f"\n增长：{big.items:,} 条内容对 {base.items:,} 条（{big.items / base.items:.2f} 倍）")
            ratios = []
            for kind, label in (("builds", "首次构建"), ("rebuilds", "改一篇后重建")):
                wall = big.median("wall", kind) / base.median("wall", kind)
                cpu = big.median("cpu", kind) / base.median("cpu", kind)
                ratios.append(wall)
                print(f"  {label}：墙钟 {wall:.2f} 倍，CPU {cpu:.2f} 倍")
            print(f"  目标 4.5 倍以内（两种都算，看墙钟）：{verdict(max(ratios) <= GROWTH)}")

        if not arguments.skip_plain:
            from plain_mkdocs import build as plain_build

            plain = plain_build(base.folder, work / "plain")
            plain_site = plain["site"]
            plain_lessons = sorted(p.stat().st_size for p in (plain_site / "lessons").rglob("index.html"))
            index = plain_site / "search/search_index.json"
            shares = [base.median("wall", kind) / plain["seconds"] for kind in ("builds", "rebuilds")]
            print(f"\nMkDocs + Material（{base.label}同样的 Markdown，jieba 中文搜索）")
            print(f"  完整构建：墙钟 {plain['seconds']:.1f} 秒，CPU {plain['cpu']:.1f} 秒；"
                  f"Kite 首次构建的墙钟中位数为其 {shares[0]:.1%}、改一篇后重建为其 {shares[1]:.1%}"
                  f"（目标 1/20 即 5% 以内，两种都算：{verdict(max(shares) <= PLAIN_SHARE)}），"
                  f"CPU 中位数为其 {base.median('cpu') / plain['cpu']:.1%} 与 {base.median('cpu', 'rebuilds') / plain['cpu']:.1%}")
            print("  新增、删除一篇后重建（不算在目标里）的墙钟中位数为其 "
                  f"{base.median('wall', 'added') / plain['seconds']:.1%} 与 {base.median('wall', 'deleted') / plain['seconds']:.1%}")
            print(f"  最大单进程内存：{plain['peak_bytes'] / MB:.0f} MB")
            print(f"  站点大小：{folder_size(plain_site) / MB:.1f} MB")
            print(f"  一篇党课的 HTML：中位数 {statistics.median(plain_lessons) / 1024:.1f} KB")
            print(f"  首次搜索前要下载的索引（gzip）：{gzipped_size(index) / 1024:.0f} KB")
        print(f"\n结束时 load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
