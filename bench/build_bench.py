"""Build benchmark at the seed's real scale, Kite beside plain MkDocs + Material.

Generates the hub (bench/generate_hub.py: 1,566 lessons, 300 episodes, 600
announcements), then prints for Kite: full build time (median of --runs), pages per
second, peak memory, site size, a lesson page's HTML size, the bytes a phone fetches
for its first search (headless Chromium against nginx with gzip), and the seconds
from saving a lesson to the preview serving the change; and for plain MkDocs +
Material with jieba search (bench/plain_mkdocs.py): build time, memory, site size,
lesson HTML size and the gzipped search index a phone must fetch first.

    .venv/bin/python bench/build_bench.py [--runs 3] [--skip-plain] [--lessons 1566 ...]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from kite.ports import free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_hub import generate  # noqa: E402
from lighthouse import start_nginx, stop_nginx  # noqa: E402
from measure import folder_size, gzipped_size, run_measured  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SEARCH_WORD = "工资"


def kite_build(hub: Path, site: Path) -> tuple[float, int]:
    started = time.monotonic()
    peak = run_measured([sys.executable, str(REPO / "build.py"), "build", "-f", str(hub / "site_config.yml"), "-d", str(site)])
    return time.monotonic() - started, peak


def page_sizes(site: Path, section: str) -> list[int]:
    return sorted(path.stat().st_size for path in (site / section).glob("*/index.html"))


def first_search_bytes(site: Path, work: Path) -> tuple[int, int, int]:
    """(bytes for the search page itself, bytes the query fetched, results shown), gzip on."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    nginx = start_nginx(work / "nginx", site, port)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True)
            finished: list = []
            page.on("requestfinished", lambda request: finished.append(request))
            page.goto(f"http://127.0.0.1:{port}/search/", wait_until="networkidle")
            page_bytes = sum(_transferred(r) for r in finished)
            finished.clear()
            page.fill("#kite-q", SEARCH_WORD)
            page.locator("#kite-search-results li").first.wait_for(timeout=30_000)
            page.wait_for_load_state("networkidle")
            query_bytes = sum(_transferred(r) for r in finished)
            shown = page.locator("#kite-search-results li").count()
            browser.close()
    finally:
        stop_nginx(nginx)
    return page_bytes, query_bytes, shown


def _transferred(request) -> int:
    sizes = request.sizes()
    return sizes["responseBodySize"] + sizes["responseHeadersSize"]


def preview_latency(hub: Path, trials: int = 3) -> list[float]:
    """Seconds from saving a lesson to the preview serving the new title."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(REPO / "build.py"), "serve", "-f", str(hub / "site_config.yml"),
                                "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lesson = next((hub / "lessons").rglob("*.md"))
    url = f"http://127.0.0.1:{port}/lessons/{quote(lesson.stem)}/"
    try:
        deadline = time.monotonic() + 180
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
            text = lesson.read_text(encoding="utf-8")
            lesson.write_text(re.sub(r'^title: .*$', f'title: "{marker}"', text, count=1, flags=re.M), encoding="utf-8")
            saved = time.monotonic()
            while marker not in httpx.get(url).text:
                time.sleep(0.02)
                if time.monotonic() - saved > 60:
                    raise SystemExit("预览没有更新")
            results.append(time.monotonic() - saved)
            time.sleep(1)
        return results
    finally:
        process.terminate()
        process.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="full Kite builds to time (median)")
    parser.add_argument("--skip-plain", action="store_true", help="leave out plain MkDocs (it takes minutes)")
    parser.add_argument("--lessons", type=int, default=1566)
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--announcements", type=int, default=600)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kite-bench-") as folder:
        work = Path(folder)
        hub = work / "hub"
        generate(hub, arguments.lessons, arguments.episodes, arguments.announcements)
        print(f"生成的站点：{arguments.lessons} 篇党课、{arguments.episodes} 期节目、{arguments.announcements} 条活动通知")

        site = work / "kite-site"
        timings = [kite_build(hub, site) for _ in range(arguments.runs)]
        seconds = statistics.median(t for t, _ in timings)
        peak = max(p for _, p in timings)
        pages = sum(1 for _ in site.rglob("index.html"))
        lessons = page_sizes(site, "lessons")
        page_bytes, query_bytes, shown = first_search_bytes(site, work)
        latency = preview_latency(hub)

        print()
        print("Kite")
        print(f"  完整构建：{seconds:.1f} 秒（{arguments.runs} 次的中位数：{', '.join(f'{t:.1f}' for t, _ in timings)}）")
        print(f"  每秒页面：{pages / seconds:.0f}（{pages} 个页面）")
        print(f"  内存峰值：{peak / 2**20:.0f} MB（进程树合计，含并行进程与 Pagefind）")
        print(f"  站点大小：{folder_size(site) / 2**20:.1f} MB")
        print(f"  一篇党课的 HTML：中位数 {statistics.median(lessons) / 1024:.1f} KB，最大 {lessons[-1] / 1024:.1f} KB")
        print(f"  首次搜索（gzip）：打开搜索页 {page_bytes / 1024:.0f} KB + 搜索“{SEARCH_WORD}” {query_bytes / 1024:.0f} KB"
              f" = {(page_bytes + query_bytes) / 1024:.0f} KB（显示 {shown} 条结果）")
        print(f"  保存到预览更新：中位数 {statistics.median(latency):.2f} 秒（{', '.join(f'{t:.2f}' for t in latency)}）")

        if not arguments.skip_plain:
            from plain_mkdocs import build as plain_build

            plain = plain_build(hub, work / "plain")
            plain_site = plain["site"]
            plain_lessons = page_sizes(plain_site, "lessons") or sorted(p.stat().st_size for p in (plain_site / "lessons").rglob("index.html"))
            index = plain_site / "search/search_index.json"
            print()
            print("MkDocs + Material（同样的 Markdown，jieba 中文搜索）")
            print(f"  完整构建：{plain['seconds']:.1f} 秒（Kite 用时为其 {seconds / plain['seconds']:.0%}）")
            print(f"  内存峰值：{plain['peak_bytes'] / 2**20:.0f} MB")
            print(f"  站点大小：{folder_size(plain_site) / 2**20:.1f} MB")
            print(f"  一篇党课的 HTML：中位数 {statistics.median(plain_lessons) / 1024:.1f} KB")
            print(f"  首次搜索前要下载的索引（gzip）：{gzipped_size(index) / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
