"""axe-core (bundled by axe-playwright-python, injected with Playwright) finds no violations."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from axe_playwright_python.sync_playwright import Axe

PAGES = {
    "home": "",
    "a lesson with a table": "lessons/" + quote("工资支付心里有数") + "/",
    "an episode": "episodes/xiangyin-01-huangmeitian/",
    "an announcement with a check-in form": "announcements/2026-12-hongyan-yexue/",
    "the search page with results": "search/?q=" + quote("工资"),
    "the lessons list with its tags open": "lessons/",
    "a series page": "lessons/series/" + quote("党的基本知识") + "/",
    "the quarterly report form": "report/",
    "the suggestion form": "suggest/",
}


@pytest.fixture(scope="module")
def site_url(sample_site, serve_dir):
    return serve_dir(sample_site)


@pytest.mark.parametrize("path", PAGES.values(), ids=PAGES.keys())
def test_no_accessibility_violations(phone, site_url, path):
    assert phone.goto(site_url + path).ok
    phone.wait_for_load_state("networkidle")
    if "search/" in path:
        phone.locator("#kite-search-results li").first.wait_for()
    phone.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    if "hongyan" in path:
        assert phone.locator("form[data-kite-checkin]").count() == 1
    results = Axe().run(phone)
    assert results.response["testEngine"]["version"].startswith("4.")
    assert results.violations_count == 0, results.generate_report()


def test_the_chips_counts_are_legible_once_they_have_two_digits(phone, hub, tmp_path, serve_dir):
    # axe leaves one-character text unjudged, so the sample's counts (all under 10) never tested
    # the chips' <small>: Material dims it to 75 %, 3.9:1 on white.
    from kite.build import build

    for number in range(12):
        hub.lesson(f"l{number}", f"title: 第{number}课\ndate: 2026-01-{number + 1:02}\nseries: 引线\ntags: [家乡]")
    build(hub.config, tmp_path / "site")
    phone.goto(serve_dir(tmp_path / "site") + "lessons/")
    phone.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    assert phone.locator(".kite-terms small").first.inner_text() == "12"
    results = Axe().run(phone)
    assert results.violations_count == 0, results.generate_report()


def test_axe_does_report_a_violation(phone, site_url):
    # The run above must be able to fail: a scrolling region no keyboard can reach is reported.
    phone.goto(site_url)
    phone.evaluate("""() => {
        const box = document.createElement('div');
        box.style.cssText = 'width: 100px; height: 50px; overflow: auto';
        box.innerHTML = '<p style="width: 400px">' + '宽'.repeat(40) + '</p>';
        document.querySelector('article, .md-content__inner').append(box);
    }""")
    ids = [v["id"] for v in Axe().run(phone).response["violations"]]
    assert "scrollable-region-focusable" in ids
