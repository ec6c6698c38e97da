"""Old WeChat kernels (X5 and XWeb, Chromium 57 to 89): every script the built site and the endpoint
serve parses as ES2017 and uses no built-in newer than those kernels without a fallback
(tests/old_engines.js, with Debian's acorn), and in a Chromium whose newer built-ins are deleted
the search and the members' forms still do their job.

Classic scripts must run from Chromium 57 on.  Pagefind's own scripts are left out: they need
Chromium 80 (?. and ??, modules, WebAssembly), so the search module may use what Chromium 80 has,
but must still parse as ES2017 (with import()) to tell an older kernel that it cannot search.
The service worker (kite/worker.js) is held to the same: old kernels run service workers too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import CONFIG, PHONE, REPO
from kite.build import build

ACORN_PATH = "/usr/share/nodejs"  # Debian's node-acorn, which scripts/setup-machine installs
CLASSIC_FLOOR, MODULE_FLOOR = 57, 80  # Chromium versions: old WeChat kernels; Pagefind's needs
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)


def inline_scripts(html: str, name: str) -> list[dict]:
    found = []
    for number, (attributes, source) in enumerate(SCRIPT_TAG.findall(html), 1):
        if "src=" in attributes or "application/ld+json" in attributes:
            continue
        found.append({"name": f"{name} <script> {number}", "source": source, "module": 'type="module"' in attributes})
        found[-1]["floor"] = MODULE_FLOOR if found[-1]["module"] else CLASSIC_FLOOR
    return found


def served_scripts(site: Path) -> list[dict]:
    """Our scripts in a built site (not Pagefind's), inline ones included, and the endpoint's."""
    scripts = []
    pages = "".join(page.read_text(encoding="utf-8") for page in site.rglob("*.html"))
    modules = {Path(src).name for src in re.findall(r'<script type="module" src="([^"]+)"', pages)}
    for path in sorted(site.rglob("*")):
        relative = path.relative_to(site).as_posix()
        if relative.startswith("pagefind/"):
            continue
        if path.suffix == ".js":
            module = path.name in modules
            scripts.append({"name": relative, "source": path.read_text(encoding="utf-8"), "module": module,
                            "floor": MODULE_FLOOR if module else CLASSIC_FLOOR})
        elif path.suffix == ".html":
            scripts += inline_scripts(path.read_text(encoding="utf-8"), relative)
    templates = REPO / "kite/attendance/templates"
    for path in sorted(templates.rglob("*")):
        relative = "endpoint:" + path.relative_to(templates).as_posix()
        if path.suffix == ".js":
            scripts.append({"name": relative, "source": path.read_text(encoding="utf-8"), "module": False,
                            "floor": CLASSIC_FLOOR})
        elif path.suffix == ".html":
            scripts += inline_scripts(path.read_text(encoding="utf-8"), relative)
    return scripts


def old_engine_problems(scripts: list[dict]) -> list[str]:
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "Node.js is missing: run make install (scripts/setup-machine installs node-acorn)"
    env = dict(os.environ, NODE_PATH=ACORN_PATH)
    answer = subprocess.run([node, str(Path(__file__).with_name("old_engines.js"))], input=json.dumps(scripts),
                            capture_output=True, text=True, env=env, timeout=60)
    assert answer.returncode == 0, answer.stderr
    return [f"{p['name']}: {p['problem']}" for p in json.loads(answer.stdout)]


def test_the_checker_sees_what_old_kernels_refuse():
    scripts = [dict(script, floor=CLASSIC_FLOOR) for script in [
        {"name": "chain", "source": "var a = b?.c;", "module": False},
        {"name": "nullish", "source": "var a = b ?? c;", "module": False},
        {"name": "catch", "source": "try { f(); } catch { g(); }", "module": False},
        {"name": "spread", "source": "var a = {...b};", "module": False},
        {"name": "abort", "source": "var c = new AbortController();", "module": False},
        {"name": "children", "source": "list.replaceChildren();", "module": True},
        {"name": "plain", "source": "async function f() { await g(); return [1].map((x) => x); }", "module": False},
        {"name": "import", "source": "async function f(u) { return (await import(u)).search; }", "module": True},
    ]] + [{"name": "trim", "source": "s.trimEnd();", "module": True, "floor": MODULE_FLOOR}]
    found = old_engine_problems(scripts)
    assert {line.split(":")[0] for line in found} == {"chain", "nullish", "catch", "spread", "abort", "children"}
    assert any("replaceChildren (Chromium 86+)" in line for line in found)


def test_every_script_we_serve_runs_on_old_kernels(sample_site):
    scripts = served_scripts(sample_site)
    names = {s["name"] for s in scripts}
    # What the check covers: the site's own assets, the worker, the pages' inline scripts, the desk's.
    assert {"sw.js", "endpoint:desk/live.js"} <= names
    assert {n.split(".")[0] for n in names if n.startswith("assets/")} >= {"assets/checkin", "assets/submit", "assets/offline", "assets/search"}
    assert any(n.startswith("index.html <script>") for n in names)
    assert [s["name"] for s in scripts if s["module"]] == [n for n in names if n.startswith("assets/search.")]
    assert old_engine_problems(scripts) == []


# What an old kernel lacks, deleted before any of the page's scripts run.  Chromium 80's set is
# the oldest that Pagefind runs on; the forms must also work without what came after Chromium 57.
# Playwright's own helpers need globalThis, so it stays.
AFTER_80 = """[[Element.prototype, "replaceChildren"], [String.prototype, "replaceAll"], [Array.prototype, "at"],
 [window, "structuredClone"], [Promise, "allSettled"], [Promise, "any"]]"""
AFTER_57 = AFTER_80[:-1] + """, [window, "AbortController"], [window, "AbortSignal"], [Promise.prototype, "finally"],
 [String.prototype, "matchAll"], [Object, "fromEntries"], [Array.prototype, "flat"], [Array.prototype, "flatMap"],
 [Element.prototype, "toggleAttribute"], [window, "queueMicrotask"], [String.prototype, "trimEnd"],
 [String.prototype, "trimStart"], [window, "IntersectionObserver"], [window, "ResizeObserver"]]"""


def without(built_ins: str) -> str:
    return built_ins + ".forEach(function (pair) { delete pair[0][pair[1]]; });"


def phone_without(browser, built_ins: str):
    """A phone page whose newer built-ins are deleted before any script runs, with its errors."""
    context = browser.new_context(**PHONE)
    context.add_init_script(without(built_ins))
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.errors = errors
    yield page
    context.close()


@pytest.fixture(params=[AFTER_80], ids=["chromium80"])
def old_phone(browser, request):
    yield from phone_without(browser, request.param)


def test_search_finds_on_a_kernel_without_newer_built_ins(old_phone, sample_site, serve_dir):
    site_url = serve_dir(sample_site)
    assert old_phone.goto(site_url + "search/?q=工资").ok
    old_phone.locator("#kite-search-results li").first.wait_for()
    assert "找到" in old_phone.locator("#kite-search-status").inner_text()
    old_phone.fill("#kite-q", "风筝")  # a second search empties the list first
    old_phone.press("#kite-q", "Enter")
    old_phone.wait_for_function("/风筝.*找到/.test(document.getElementById('kite-search-status').textContent)")
    assert old_phone.errors == []


def test_a_kernel_too_old_for_pagefind_is_told_so(phone, sample_site, serve_dir, tmp_path):
    # Chromium 63 to 79 load the search module but cannot parse Pagefind's ?. and ??: a script
    # that no engine parses stands in for that here.
    site = tmp_path / "site"
    shutil.copytree(sample_site, site)
    (site / "pagefind/pagefind.js").write_text("export const options = a ?? ;\n", encoding="utf-8")
    assert phone.goto(serve_dir(site) + "search/?q=工资").ok
    phone.wait_for_function("/太旧/.test(document.getElementById('kite-search-status').textContent)")
    assert "检查网络" not in phone.locator("#kite-search-status").inner_text()


@pytest.fixture
def chromium57(browser):
    yield from phone_without(browser, AFTER_57)


def test_the_members_forms_answer_in_place_on_a_chromium_57_kernel(chromium57, hub, tmp_path, serve_dir, start_endpoint):
    hub.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true")
    site = tmp_path / "site"
    site_url = serve_dir(site)
    endpoint = start_endpoint(hub.config, tmp_path / "attendance.sqlite3", extra_origins=(site_url.rstrip("/"),))
    hub.write("site_config.yml", CONFIG.replace("https://example.org/checkin", endpoint))
    build(hub.config, site)
    page = chromium57
    assert page.evaluate("typeof AbortController + typeof Promise.prototype.finally") == "undefinedundefined"

    def answer(form: str) -> str:
        page.click(f"{form} button[type=submit]")
        page.wait_for_function(f"(s => s.textContent && !s.textContent.startsWith('正在'))"
                               f"(document.querySelector('{form} .kite-form__status'))")
        return page.locator(f"{form} .kite-form__status").inner_text()

    page.goto(site_url + "lessons/签到课/")
    page.fill("#checkin-name", "欧阳春华")
    page.select_option("#checkin-branch", "鼓韵堂党支部")
    assert answer("form[data-kite-checkin]") == "签到成功"
    page.goto(site_url + "report/")
    page.fill("#report-name", "欧阳春华")
    page.select_option("#report-branch", "鼓韵堂党支部")
    page.fill("#report-text", "这一季在工地参加了三次党课，带头落实安全生产。")
    assert answer("form[data-kite-submit]").startswith("汇报已收到")
    page.goto(site_url + "suggest/")
    page.select_option("#suggest-branch", "栖息栈党支部")
    page.check("input[name=category][value=民生实事]")
    page.fill("#suggest-text", "希望工地宿舍能装上热水器。")
    assert answer("form[data-kite-submit]").startswith("建议已收到")
    assert page.url.startswith(site_url)  # answered in place, not by the plain post
    assert page.errors == []
