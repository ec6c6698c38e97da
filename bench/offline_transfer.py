"""What a new visitor's first page load transfers, before and after the service worker starts.

Builds the sample hub (or takes a built site with --site, e.g. one built from an older
commit, to compare), serves it with nginx (gzip_static on, as in the deployment guide) and
opens each page in a fresh headless Chromium context at phone size.  nginx's access log
counts every byte sent, the worker's own requests included.  Per page it prints the bytes
sent up to the page's load event, and those sent after it (the worker, its precache of the
shell, assets/offline.js) until the network is quiet.

    .venv/bin/python bench/offline_transfer.py [--site DIR] [--runs 3]

Needs nginx (NGINX, default /usr/sbin/nginx) and Chromium (/usr/bin/chromium).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lighthouse import PAGES, free_port, page_url, start_nginx, stop_nginx  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# nginx's combined log format: ... "GET /path HTTP/1.1" status body_bytes ...
LOG_LINE = re.compile(r'"(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) (?P<bytes>\d+)')


def log_entries(log: Path) -> list[tuple[str, int]]:
    if not log.exists():
        return []
    found = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if match := LOG_LINE.search(line):
            found.append((match["path"], int(match["bytes"])))
    return found


# What the page itself asked for before its load event (the worker's requests are not in it).
BEFORE_LOAD = """() => {
  const load = performance.getEntriesByType('navigation')[0].loadEventStart;
  return performance.getEntries()
    .filter((entry) => (entry.entryType === 'navigation' || entry.entryType === 'resource') && entry.startTime < load)
    .map((entry) => new URL(entry.name).pathname);
}"""


def first_visit(browser, url: str, log: Path) -> tuple[list, list]:
    """(requests up to the load event, requests after it), each as (path, body bytes)."""
    start = len(log_entries(log))
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    page.goto(url, wait_until="load")
    early = page.evaluate(BEFORE_LOAD)
    page.wait_for_load_state("networkidle")
    if page.evaluate("'serviceWorker' in navigator && !!document.querySelector('link[rel=manifest]')"):
        # The worker registers after load and precaches before it activates.
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.wait_for_function("!!navigator.serviceWorker.controller", timeout=30_000)
    time.sleep(1.0)
    page.wait_for_load_state("networkidle")
    before, after = [], []
    for path, size in log_entries(log)[start:]:
        if path in early:
            early.remove(path)
            before.append((path, size))
        else:
            after.append((path, size))
    context.close()
    return before, after


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, help="a built site to measure (default: build the sample hub)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="kite-transfer-") as work:
        work = Path(work)
        site = args.site
        if site is None:
            site = work / "site"
            subprocess.run([sys.executable, str(REPO / "build.py"), "build", "-d", str(site)], cwd=REPO, check=True,
                           stdout=subprocess.DEVNULL)
        port = free_port()
        nginx = start_nginx(work / "nginx", site.resolve(), port)
        log = work / "nginx" / "access.log"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
                print(f"{'page':<14}{'to load (B)':>12}{'after load (B)':>16}  requests after load")
                for name, path in PAGES:
                    before, after = [], []
                    detail = []
                    for _ in range(args.runs):
                        loaded, later = first_visit(browser, page_url(f"http://127.0.0.1:{port}", path), log)
                        before.append(sum(size for _, size in loaded))
                        after.append(sum(size for _, size in later))
                        detail = later
                    names = ", ".join(f"{p.rsplit('/', 1)[-1] or p} {s}" for p, s in detail)
                    print(f"{name:<14}{statistics.median(before):>12.0f}{statistics.median(after):>16.0f}  {names}")
                browser.close()
        finally:
            stop_nginx(nginx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
