"""Reports and suggestions in a real Chromium at 360 px, JavaScript on and off: a member sends a
suggestion to the running endpoint, a secretary answers it in the desk, and the member's lookup
page then shows 已答复 and the reply, never the name or contact.  On the way, axe-core checks both
pages (JavaScript on).  Also: both pages are valid HTML (Nu Html Checker).

With ``KITE_DESK_SCREENSHOTS=docs/images`` the JavaScript-on run writes the guide's pictures
``desk-reports.png`` and ``desk-suggestions.png`` (see test_desk_browser.py).
"""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe

from desk_client import PASSWORD, desk_app_fixture
from helpers import PHONE
from kite.attendance.refs import new_ref
from kite.desk.scope import Scope
from kite.storage import Submissions, open_store
from test_desk_browser import BEIJING, assert_fits_a_phone, desk_server, screenshot, shots  # noqa: F401 (a fixture)
from test_html_valid import answer_errors

desk = pytest.fixture(desk_app_fixture)

GUYUN = "鼓韵堂党支部"
NAME, CONTACT = "李秀英", "13912345678"
REPLY = "已和项目部商量好，下个月起宿舍统一装热水器。"


@pytest.fixture
def member_suggestion(desk_server, tmp_path):
    """The desk of test_desk_browser.py, with two quarterly reports and a suggestion sent over HTTP."""
    store = open_store(tmp_path / "attendance.sqlite3")
    try:
        submissions = Submissions(store)
        now = datetime.now(BEIJING)
        quarter = f"{now.year}Q{(now.month - 1) // 3 + 1}"
        submissions.record_report(GUYUN, "王建军", quarter, "本季度参加党课三次，在工地带头落实安全生产责任，\n"
                                  "还帮两位新来的工友办了流动党员登记。", now)
        submissions.record_report(GUYUN, "李秀英", quarter, "本季度在宿舍组织了两次读报，大家对家乡的新变化很关心。", now)
        submissions.record_suggestion(GUYUN, "组织建设", "建议每月组织一次线上党课，方便夜班的同志。", None, None, now, new_ref)
    finally:
        store.close()
    answer = httpx.post(desk_server + "/suggestion", json={
        "branch": GUYUN, "category": "民生实事", "text": "工地宿舍冬天没有热水，希望能装上热水器。",
        "name": NAME, "contact": CONTACT}, headers={"Accept": "application/json"})
    assert answer.status_code == 201, answer.text
    return desk_server, answer.json()["ref"]


def no_axe_violations(page, javascript: bool) -> None:
    """axe-core finds nothing on the page; it runs as a script, so only with JavaScript on."""
    if javascript:
        results = Axe().run(page)
        assert results.response["testEngine"]["version"].startswith("4.")
        assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_a_secretary_answers_a_suggestion_and_the_member_sees_the_reply(browser, member_suggestion, tmp_path,
                                                                        javascript):
    server, ref = member_suggestion
    context = browser.new_context(**{**PHONE, "device_scale_factor": 1}, java_script_enabled=javascript)
    page = context.new_page()
    folder = (shots() if javascript else None) or tmp_path / "shots"
    try:
        page.goto(server + "/desk/login")
        page.fill("#login", "guyun")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        assert page.url == server + "/desk/"
        page.click("a:has-text('查看每季一汇报')")
        assert page.url == server + "/desk/reports"
        assert page.locator("ol.d-items > li").count() == 2
        assert "还帮两位新来的工友" in page.locator("ol.d-items").inner_text()
        assert_fits_a_phone(page)
        no_axe_violations(page, javascript)
        screenshot(page, "desk-reports", folder)

        page.click("nav.d-nav a:has-text('建议')")
        assert page.url == server + "/desk/suggestions"
        assert_fits_a_phone(page)
        card = page.locator("li.d-card", has_text="热水器")
        assert NAME in card.inner_text() and CONTACT in card.inner_text() and ref in card.inner_text()
        card.locator("textarea").fill(REPLY)
        card.get_by_label("已答复").check()
        card.scroll_into_view_if_needed()
        screenshot(page, "desk-suggestions", folder)
        card.locator("button[type=submit]").click()
        assert "/desk/suggestions?saved=" in page.url
        card = page.locator("li.d-card", has_text="热水器")
        assert "已保存" in card.inner_text() and "已答复" in card.locator("h2").inner_text()
        assert "guyun" in card.inner_text()
        assert card.locator("textarea").input_value() == REPLY
        assert_fits_a_phone(page)
        # 已答复 without a reply is refused, in place, and nothing changes.
        other = page.locator("li.d-card", has_text="线上党课")
        other.get_by_label("已答复").check()
        other.locator("button[type=submit]").click()
        assert "没有保存" in page.locator("li.d-card", has_text="线上党课").locator("[role=alert]").inner_text()
        no_axe_violations(page, javascript)  # the list with a refused answer and a saved one

        # The member's own lookup page: the reply, never who sent it or how to reach them.
        member = context.new_page()
        member.goto(f"{server}/suggestion/{ref}")
        text = member.locator("main").inner_text()
        assert "已答复" in text and REPLY in text
        for secret in (NAME, CONTACT, "guyun"):
            assert secret not in member.content()
        assert member.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()


def test_the_reports_and_suggestions_pages_are_valid_html(desk, tmp_path):
    submissions = Submissions(desk.store)
    now = datetime.now(BEIJING)
    submissions.record_report(GUYUN, "王建军", "2026Q1", "一季度的汇报内容，\n有两行。", now)
    submissions.record_suggestion(GUYUN, "其他", "一条带联系方式的建议", NAME, CONTACT, now, new_ref)
    submissions.record_suggestion(GUYUN, "其他", "一条匿名的建议内容", None, None, now, new_ref)
    suggestion = submissions.suggestions(Scope("all", (), everything=True))[0]
    admin = desk.client("admin")
    pages = {
        "reports": admin.get("/desk/reports"),
        "reports-quarter": admin.get("/desk/reports?quarter=2026Q1"),
        "reports-empty": admin.get("/desk/reports?quarter=2020Q1"),
        "branch-unmatched-report": admin.get("/desk/branches/鼓韵堂党支部?year=2026"),
        "suggestions": admin.get("/desk/suggestions"),
        "suggestions-empty": admin.get("/desk/suggestions?status=in_progress"),
        "suggestion-refused": admin.post(f"/desk/suggestions/{suggestion.id}", {"status": "answered", "reply": ""}),
    }
    saved = admin.post(f"/desk/suggestions/{suggestion.id}", {"status": "answered", "reply": "好的"})
    pages["suggestion-saved"] = admin.get(saved.headers["location"].split("#")[0])
    assert pages["suggestion-refused"].status_code == 400 and "已保存" in pages["suggestion-saved"].text
    assert "未匹配的汇报（1 份）" in pages["branch-unmatched-report"].text
    assert answer_errors(pages, tmp_path) == []
