"""Lighthouse mobile scores for the sample hub: performance, accessibility, best practices, SEO.

What it does, in order:

1. Makes sure the pinned Lighthouse (npm ``lighthouse@12.2.3``, see bench/package.json) is
   installed under bench/node_modules, running ``npm ci`` (or ``npm install`` when there is
   no package-lock.json) if ``node_modules/.bin/lighthouse`` is missing.
2. Picks a free loopback port and builds the sample hub into a temporary folder with
   ``build.py build -d <tmp>/site``.  With ``--site-url nginx`` it first copies the hub
   (site_config.yml, lessons/, content/, templates/) into the temporary folder and points the
   copy's ``site_url`` at the nginx address, so canonical links and the sitemap name the
   server Lighthouse actually audits.  The repository's own config is never edited.
3. Serves the built site with a private nginx (its own config, pid file, logs and temp
   folders; ``daemon off``; gzip and gzip_static on; charset utf-8).
4. Runs Lighthouse ``--runs`` times (default 3) on each page with the default mobile form
   factor and default (simulated) throttling, keeping every raw JSON report.
   The desk's pages (工作台: login, overview, a branch's table) are audited too: a sample
   desk (bench/desk_sample.py) runs ``build.py attend`` on a new database, nginx proxies
   ``/checkin/`` to it as in production, and Lighthouse sends the session cookie with the
   pages behind the login (``--extra-headers``).  ``--no-desk`` leaves them out.
5. Prints the median score of every category on every page (0-100) and, for each category
   whose median is under the threshold (default 95), the audits that failed in the median
   run, with the elements or resources they point at.
6. Stops nginx.  Exit status 1 when any median is under the threshold, 2 when the set-up
   (npm, build, nginx) or a Lighthouse run failed.

Usage (from the repository root):

    .venv/bin/python bench/lighthouse.py [--runs 3] [--threshold 95] [--show-below 100]
                                         [--site-url config|nginx] [--page /lessons/]
                                         [--no-desk] [--out DIR] [--keep]

Needs Node 20 with npm, Chromium (``CHROME_PATH``, default /usr/bin/chromium) and nginx
(``NGINX``, default /usr/sbin/nginx; Debian: ``apt-get install nginx chromium``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import desk_sample  # beside this script
from kite.ports import free_port  # run with the venv Python, which has Kite installed

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
LIGHTHOUSE = BENCH / "node_modules" / ".bin" / "lighthouse"
# The version bench/package.json pins; checked after installing so a stale node_modules
# (e.g. left by an older pin) is noticed instead of silently measuring with another release.
LIGHTHOUSE_VERSION = "12.2.3"

# Pages to audit: (short name used in report file names, path on the site).  Paths are
# written as a reader would type them; ``page_url`` percent-encodes them.
PAGES: list[tuple[str, str]] = [
    ("home", "/"),
    ("lesson", "/lessons/抓牢引线放风筝/"),
    ("episode", "/episodes/xiangyin-01-huangmeitian/"),
    ("lessons-list", "/lessons/"),
    *desk_sample.PAGES,
]
# Request headers per page path (the desk's session cookie), filled in once logged in.
HEADERS: dict[str, dict[str, str]] = {}

CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]

CHROME_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# What a hub needs to build: the config and the folders it reads from.  Copied for
# ``--site-url nginx`` so the copy's site_url can be changed without touching the repo.
HUB_FILES = ["site_config.yml"]
HUB_DIRS = ["lessons", "content", "templates"]

# Audits Lighthouse shows as "failed" or "needs improvement" have a score under 0.9
# (its own pass mark); informative, manual and not-applicable audits have no score.
AUDIT_PASS = 0.9
# How many elements/resources of one audit to print.
MAX_ITEMS = 8


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------


class SetupError(Exception):
    """npm, the build or nginx did not come up: no scores (exit status 2)."""


def say(message: str) -> None:
    """Progress lines go to stderr so stdout holds only the results."""
    print(message, file=sys.stderr, flush=True)




def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: Chinese characters are two columns wide."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, width: int) -> str:
    """``text.ljust(width)`` by display width, so the table lines up with Chinese paths."""
    return text + " " * max(0, width - display_width(text))


def page_url(base: str, path: str) -> str:
    """``base`` + ``path`` with the path percent-encoded (UTF-8), e.g. the lesson's Chinese slug."""
    return base.rstrip("/") + urllib.parse.quote(path, safe="/")


def python_for_build() -> str:
    """The repository's venv Python when there is one (it has Kite's dependencies)."""
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


# ---------------------------------------------------------------------------------------
# 1. Lighthouse itself
# ---------------------------------------------------------------------------------------


def ensure_lighthouse() -> None:
    """Install the pinned Lighthouse into bench/node_modules when it is not there yet."""
    if not LIGHTHOUSE.exists():
        # ``npm ci`` installs exactly what package-lock.json records; without a lock file
        # fall back to ``npm install`` (which writes one).
        command = ["npm", "ci"] if (BENCH / "package-lock.json").exists() else ["npm", "install"]
        command += ["--no-audit", "--no-fund"]
        say(f"安装 Lighthouse：{' '.join(command)}（在 {BENCH}）")
        subprocess.run(command, cwd=BENCH, check=True, stdout=sys.stderr)  # stdout = results only
    version = subprocess.run([str(LIGHTHOUSE), "--version"], capture_output=True, text=True, check=True)
    if version.stdout.strip() != LIGHTHOUSE_VERSION:
        raise SetupError(
            f"bench/node_modules has Lighthouse {version.stdout.strip()}, expected {LIGHTHOUSE_VERSION}: "
            f"run `npm ci` in bench/"
        )


# ---------------------------------------------------------------------------------------
# 2. Building the sample hub
# ---------------------------------------------------------------------------------------


def copy_hub_with_site_url(target: Path, site_url: str) -> Path:
    """Copy the hub into ``target`` and point the copy's ``site_url`` at ``site_url``.

    The line is replaced in place (not re-dumped from YAML) so comments, key order and
    every other setting stay exactly as in the repository's config.
    """
    target.mkdir(parents=True)
    for name in HUB_FILES:
        shutil.copy2(REPO / name, target / name)
    for name in HUB_DIRS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, target / name)
    config = target / "site_config.yml"
    text, count = re.subn(r"(?m)^site_url:.*$", f"site_url: {site_url}", config.read_text(encoding="utf-8"))
    if count != 1:
        raise SetupError(f"expected one top-level site_url line in {config}, found {count}")
    config.write_text(text, encoding="utf-8")
    return config


def build_site(config: Path, site_dir: Path) -> None:
    """``build.py build -f <config> -d <site_dir>``, run from the repository root."""
    command = [python_for_build(), "build.py", "build", "-f", str(config), "-d", str(site_dir)]
    say(f"构建站点：{' '.join(command)}")
    subprocess.run(command, cwd=REPO, check=True, stdout=sys.stderr)


# ---------------------------------------------------------------------------------------
# 3. A private nginx
# ---------------------------------------------------------------------------------------

NGINX_CONF = """\
# Private nginx for bench/lighthouse.py: everything (pid, logs, temp files) under {work}.
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
{user}
events {{
    worker_connections 256;
}}

http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    charset utf-8;
    # Also label the text types MkDocs/Pagefind emit besides HTML as UTF-8.
    charset_types text/css text/plain text/xml application/javascript application/json
                  application/xml application/rss+xml application/atom+xml image/svg+xml;

    access_log {work}/access.log;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;

    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;

    # Compress on the fly (text/html is always included by nginx) and serve a
    # precompressed <file>.gz when the build left one next to the file.
    gzip on;
    gzip_static on;
    gzip_vary on;
    gzip_comp_level 6;
    gzip_min_length 256;
    gzip_types text/css application/javascript application/json image/svg+xml
               application/xml text/xml;

    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {root};
        index index.html;
        error_page 404 /404.html;
        location / {{
            try_files $uri $uri/ =404;
        }}
{proxy}    }}
}}
"""


def nginx_binary() -> str:
    return os.environ.get("NGINX", "/usr/sbin/nginx")


# The endpoint under /checkin/, as docs/deployment.md sets it up (Host passed on, prefix stripped).
PROXY = """\
        location /checkin/ {{
            proxy_pass http://127.0.0.1:{attend}/;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
"""


def start_nginx(work: Path, root: Path, port: int, attend: int | None = None) -> subprocess.Popen:
    """Start nginx in the foreground (``daemon off``) and wait until it answers."""
    work.mkdir(parents=True, exist_ok=True)
    # nginx running as root drops its workers to an unprivileged user that could not read
    # our mkdtemp folders (mode 0700); keep the workers as the current user instead.
    user = ""
    if os.geteuid() == 0:
        user = "user root;"
    conf = work / "nginx.conf"
    proxy = PROXY.format(attend=attend) if attend else ""
    conf.write_text(NGINX_CONF.format(work=work, root=root, port=port, user=user, proxy=proxy), encoding="utf-8")
    command = [nginx_binary(), "-p", str(work), "-c", str(conf), "-e", str(work / "error.log"),
               "-g", "daemon off;"]
    test = subprocess.run(command[:-2] + ["-t"], capture_output=True, text=True)
    if test.returncode != 0:
        raise SetupError(f"nginx -t failed:\n{test.stderr}")
    say(f"启动 nginx：http://127.0.0.1:{port}/（配置 {conf}）")
    # Its own session: a Ctrl-C in the terminal interrupts only this script, whose
    # ``finally`` then stops nginx gracefully (a half-killed nginx could leave workers).
    stderr = (work / "stderr.log").open("wb")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    stderr.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (work / "stderr.log").read_text(errors="replace") + (work / "error.log").read_text(errors="replace")
            raise SetupError(f"nginx exited with {process.returncode}:\n{log}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
            return process
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    stop_nginx(process)
    raise SetupError("nginx did not answer within 10 s")


def stop_nginx(process: subprocess.Popen) -> None:
    """QUIT is nginx's graceful shutdown; fall back to TERM, then KILL."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGQUIT, 5), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        process.send_signal(sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def check_server(base: str) -> None:
    """Fail early when a page is missing, and warn when gzip is not in effect."""
    for _, path in PAGES:
        url = page_url(base, path)
        request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip", **HEADERS.get(path, {})})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.headers.get("Content-Encoding") != "gzip":
                    say(f"注意：{url} 没有 gzip 压缩")
        except urllib.error.HTTPError as error:
            raise SetupError(f"{url} answered {error.code}: is the page in the sample hub?")


# ---------------------------------------------------------------------------------------
# 4. Running Lighthouse
# ---------------------------------------------------------------------------------------


@dataclass
class Run:
    """One Lighthouse report, reduced to what the summary needs."""

    path: Path
    report: dict
    scores: dict[str, float | None] = field(default_factory=dict)  # category -> 0..100
    seconds: float = 0.0


def chrome_path() -> str:
    return os.environ.get("CHROME_PATH", "/usr/bin/chromium")


def run_lighthouse(url: str, output: Path, headers: dict[str, str] | None = None) -> Run:
    """One Lighthouse run; default config = mobile form factor with simulated throttling."""
    command = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={output}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={' '.join(CHROME_FLAGS)}",
        "--quiet",
    ]
    if headers:
        command.append(f"--extra-headers={json.dumps(headers)}")
    env = dict(os.environ, CHROME_PATH=chrome_path())
    started = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if result.returncode != 0 or not output.exists():
        raise RuntimeError(f"lighthouse failed ({result.returncode}) on {url}:\n{result.stderr[-3000:]}")
    report = json.loads(output.read_text(encoding="utf-8"))
    if report.get("runtimeError"):
        raise RuntimeError(f"lighthouse runtime error on {url}: {report['runtimeError']}")
    scores = {}
    for category in CATEGORIES:
        score = report["categories"].get(category, {}).get("score")
        # Lighthouse shows Math.round(score * 100); a null score means the category
        # could not be computed (e.g. a metric failed) and is kept as None.
        scores[category] = None if score is None else round(score * 100)
    return Run(output, report, scores, seconds)


# ---------------------------------------------------------------------------------------
# 5. Summaries
# ---------------------------------------------------------------------------------------


def median_score(runs: list[Run], category: str) -> float | None:
    values = [run.scores[category] for run in runs if run.scores[category] is not None]
    return statistics.median(values) if values else None


def median_run(runs: list[Run], category: str) -> Run:
    """The run whose score for ``category`` is the median (lower middle for even counts)."""
    ranked = sorted(runs, key=lambda run: -1 if run.scores[category] is None else run.scores[category])
    return ranked[(len(ranked) - 1) // 2]


def failing_audits(report: dict, category: str) -> list[dict]:
    """Scored audits of ``category`` under Lighthouse's pass mark, heaviest first."""
    failing = []
    for ref in report["categories"][category]["auditRefs"]:
        audit = report["audits"][ref["id"]]
        if audit.get("scoreDisplayMode") not in ("binary", "numeric", "metricSavings"):
            continue
        if audit.get("score") is None or audit["score"] >= AUDIT_PASS:
            continue
        failing.append(dict(audit, weight=ref.get("weight", 0)))
    failing.sort(key=lambda audit: (-audit["weight"], audit["score"]))
    return failing


def describe_node(node: dict) -> list[str]:
    """An element from an audit: its CSS selector, label, HTML and axe's explanation."""
    parts = []
    if node.get("selector"):
        parts.append(node["selector"])
    if node.get("nodeLabel"):
        parts.append(f"“{node['nodeLabel'][:60]}”")
    if node.get("snippet"):
        parts.append(node["snippet"][:160])
    if node.get("explanation"):
        # axe's explanation spans lines ("Fix any of the following:\n  ..."); keep it on one.
        parts.append("— " + " ".join(node["explanation"].split()))
    return parts


def describe_item(item: dict) -> str:
    """One line for an audit's detail item: the element (selector, snippet) or the resource."""
    parts = []
    if item.get("type") == "node":
        parts += describe_node(item)
    for key, prefix in (("node", ""), ("relatedNode", "related: ")):
        if isinstance(item.get(key), dict):
            node_parts = describe_node(item[key])
            if node_parts:
                parts.append(prefix + node_parts[0])
                parts += node_parts[1:]
    for key in ("url", "source"):
        value = item.get(key)
        if isinstance(value, str) and value:
            parts.append(value)
        elif isinstance(value, dict) and value.get("url"):
            parts.append(f"{value['url']}:{value.get('line', '')}")
    # Numbers worth seeing for resource audits (savings, sizes, cache lifetime).
    for key, unit in (("wastedMs", " ms"), ("wastedBytes", " B"), ("totalBytes", " B"),
                      ("cacheLifetimeMs", " ms"), ("description", "")):
        value = item.get(key)
        if value not in (None, ""):
            parts.append(f"{key}={round(value) if isinstance(value, float) else value}{unit}")
    if not parts:
        parts.append(json.dumps(item, ensure_ascii=False)[:200])
    return "  ".join(parts)


def audit_items(audit: dict) -> list[dict]:
    """The rows of an audit's details table, flattening nested sub-item tables."""
    details = audit.get("details") or {}
    rows = []
    for item in details.get("items") or []:
        if not isinstance(item, dict):
            continue
        rows.append(item)
        sub = item.get("subItems")
        if isinstance(sub, dict):
            rows.extend(s for s in sub.get("items", []) if isinstance(s, dict))
    return rows


def seo_without_noindex(run: Run) -> float:
    """The SEO score with ``is-crawlable`` left out: for a page that is noindex on purpose (the
    desk's), whose only way to pass that audit would be to invite search engines in."""
    refs = [ref for ref in run.report["categories"]["seo"]["auditRefs"]
            if ref["id"] != "is-crawlable" and ref.get("weight") and run.report["audits"][ref["id"]].get("score") is not None]
    total = sum(ref["weight"] for ref in refs)
    return round(100 * sum(ref["weight"] * run.report["audits"][ref["id"]]["score"] for ref in refs) / total)


def print_table(results: dict[str, list[Run]], threshold: float) -> bool:
    """The median table; returns True when every median reaches the threshold.

    A noindex page's SEO is judged without ``is-crawlable`` (shown as "45 → 100"), and said so.
    """
    width = max(display_width(path) for _, path in PAGES) + 2
    header = pad("page", width) + "".join(category.rjust(16) for category in CATEGORIES)
    print(header)
    print("-" * len(header))
    passed = True
    noindex = [path for _, path in PAGES if path in desk_sample.NOINDEX]
    for name, path in PAGES:
        cells = []
        for category in CATEGORIES:
            median = median_score(results[name], category)
            text = "n/a" if median is None else f"{median:g}"
            if category == "seo" and path in noindex and median is not None:
                median = statistics.median(seo_without_noindex(run) for run in results[name])
                text += f" → {median:g}"
            low = median is None or median < threshold
            passed &= not low
            cells.append((text + (" *" if low else "  ")).rjust(16))
        print(pad(path, width) + "".join(cells))
    print(f"(median of {len(next(iter(results.values())))} runs; * = under {threshold:g})")
    if noindex:
        print("(→: noindex on purpose, SEO without its only failing-by-design audit, is-crawlable)")
    return passed


def print_failures(results: dict[str, list[Run]], below: float) -> None:
    """For each category with a median under ``below``: its failing audits in the median run,
    and in how many runs each failed."""
    for name, path in PAGES:
        runs = results[name]
        for category in CATEGORIES:
            median = median_score(runs, category)
            if median is not None and median >= below:
                continue
            chosen = median_run(runs, category)
            print(f"\n{path}  {category}: median {median}  (audits from {chosen.path.name})")
            audits = failing_audits(chosen.report, category)
            if not audits:
                print("  (no single failing audit; the score is the weighted sum of near-passing metrics)")
            for audit in audits:
                # How many of the runs this audit failed in: one-off failures are noise.
                failed_in = sum(
                    1 for run in runs
                    if (run.report["audits"][audit["id"]].get("score") is not None
                        and run.report["audits"][audit["id"]]["score"] < AUDIT_PASS)
                )
                display = audit.get("displayValue") or ""
                print(f"  - {audit['id']}: {audit['title']}  score={audit['score']:.2f}"
                      f"  weight={audit['weight']}  {display}  [failed in {failed_in}/{len(runs)} runs]")
                items = audit_items(audit)
                for item in items[:MAX_ITEMS]:
                    print(f"      · {describe_item(item)}")
                if len(items) > MAX_ITEMS:
                    print(f"      · … {len(items) - MAX_ITEMS} more in the JSON report")


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page (default 3)")
    parser.add_argument("--threshold", type=float, default=95, help="lowest acceptable median (default 95)")
    parser.add_argument(
        "--site-url", choices=["config", "nginx"], default="config",
        help="config: build the repo's site_config.yml as it is (site_url 127.0.0.1:8000); "
             "nginx: build a temporary copy whose site_url is the nginx address (canonical links match)",
    )
    parser.add_argument("--show-below", type=float, metavar="SCORE",
                        help="list failing audits of categories whose median is under SCORE "
                             "(default: the threshold; 100 lists every imperfect category)")
    parser.add_argument("--page", action="append", metavar="PATH",
                        help="audit only these paths (repeatable; default: the four sample pages)")
    parser.add_argument("--no-desk", action="store_true", help="leave out the desk's pages (no attend, no proxy)")
    parser.add_argument("--out", type=Path, help="folder for the JSON reports (default: a new temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the built site and nginx files too")
    arguments = parser.parse_args(argv)
    if arguments.runs < 1:
        parser.error("--runs must be at least 1")

    global PAGES
    if arguments.no_desk:
        PAGES = [(name, path) for name, path in PAGES if (name, path) not in desk_sample.PAGES]
    if arguments.page:
        known = dict((path, name) for name, path in PAGES)
        PAGES = [(known.get(path) or re.sub(r"[^\w]+", "-", path).strip("-") or "home", path)
                 for path in arguments.page]

    started = time.monotonic()
    try:
        ensure_lighthouse()
    except (SetupError, subprocess.CalledProcessError) as error:
        say(f"失败：{error}")
        return 2

    work = Path(tempfile.mkdtemp(prefix="kite-lighthouse-"))
    reports = arguments.out or work / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}/"

    nginx = None
    desk = None
    try:
        # -- build ------------------------------------------------------------------
        if arguments.site_url == "nginx":
            config = copy_hub_with_site_url(work / "hub", base)
        else:
            config = REPO / "site_config.yml"
        site = work / "site"
        build_site(config, site)

        # -- serve ------------------------------------------------------------------
        attend = None
        if any(page in desk_sample.PAGES for page in PAGES):
            desk = desk_sample.SampleDesk(work, base)
            attend = desk.start()
        nginx = start_nginx(work / "nginx", site, port, attend)
        if desk is not None:
            desk.login()
            HEADERS.update({path: desk.headers_for(path) for _, path in desk_sample.PAGES})
        check_server(base)

        # -- audit ------------------------------------------------------------------
        results: dict[str, list[Run]] = {name: [] for name, _ in PAGES}
        for number in range(1, arguments.runs + 1):
            # Pages interleaved (run 1 of every page, then run 2, ...) so a slow spell on
            # the machine spreads over all pages instead of hitting one.
            for name, path in PAGES:
                url = page_url(base, path)
                run = run_lighthouse(url, reports / f"{name}-run{number}.report.json", HEADERS.get(path))
                results[name].append(run)
                say(f"  {path} 第 {number}/{arguments.runs} 次：" + "  ".join(
                    f"{c}={run.scores[c]}" for c in CATEGORIES) + f"  （{run.seconds:.1f} 秒）")

        # -- report -----------------------------------------------------------------
        print(f"Lighthouse {LIGHTHOUSE_VERSION}, mobile, {chrome_path()}, site_url={arguments.site_url}"
              f" ({config})")
        print()
        passed = print_table(results, arguments.threshold)
        show_below = arguments.threshold if arguments.show_below is None else arguments.show_below
        print_failures(results, show_below)
        all_runs = [run for runs in results.values() for run in runs]
        print(f"\nJSON reports: {reports}")
        print(f"Lighthouse time: {sum(r.seconds for r in all_runs):.0f} s for {len(all_runs)} runs "
              f"({statistics.mean(r.seconds for r in all_runs):.1f} s each); "
              f"total {time.monotonic() - started:.0f} s")
        return 0 if passed else 1
    except (SetupError, subprocess.CalledProcessError, RuntimeError) as error:
        say(f"失败：{error}")
        return 2
    finally:
        # -- clean up ---------------------------------------------------------------
        if nginx is not None:
            stop_nginx(nginx)
        if desk is not None:
            desk.stop()
        if not arguments.keep:
            # Keep only the reports (they may live inside ``work``).
            for child in work.iterdir():
                if child != reports:
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
            if not any(work.iterdir()):
                work.rmdir()


if __name__ == "__main__":
    sys.exit(main())
