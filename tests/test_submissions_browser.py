"""The report and suggestion forms in a real Chromium at phone size: JavaScript on, off, and offline,
and a suggestion's lookup page with the secretary's reply."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe

from helpers import CONFIG, PHONE
from kite.build import build
from kite.desk.scope import Scope
from kite.storage import Submissions, open_store

EVERYTHING = Scope("all", (), everything=True)
REPORT_TEXT = "这一季在工地参加了三次党课。\n带头落实安全生产责任，帮工友讨回了工资。"
SUGGESTION_TEXT = "希望工地宿舍能装上热水器，冬天洗澡太冷。"
SHOWN_REF = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}")


class FormSite:
    def __init__(self, url: str, endpoint: str, db):
        self.url, self.endpoint, self.db = url, endpoint, db

    def stored(self):
        store = open_store(self.db)
        try:
            submissions = Submissions(store)
            return submissions.reports(EVERYTHING), submissions.suggestions(EVERYTHING)
        finally:
            store.close()

    def answer(self, status: str, reply: str) -> None:
        """What a secretary does in the desk (its pages come with the desk)."""
        store = open_store(self.db)
        try:
            submissions = Submissions(store)
            (suggestion,) = submissions.suggestions(EVERYTHING)
            assert submissions.answer(EVERYTHING, suggestion.id, status=status, reply=reply, by="qixi",
                                      at=datetime.now(timezone.utc))
        finally:
            store.close()


@pytest.fixture
def form_site(hub, tmp_path, serve_dir, start_endpoint) -> FormSite:
    """A built hub served on loopback, its forms posting to a live endpoint."""
    site = tmp_path / "site"
    site_url = serve_dir(site)
    db = tmp_path / "attendance.sqlite3"
    endpoint = start_endpoint(hub.config, db, extra_origins=(site_url.rstrip("/"),))
    hub.write("site_config.yml", CONFIG.replace("https://example.org/checkin", endpoint))
    build(hub.config, site)
    return FormSite(site_url, endpoint, db)


@pytest.fixture
def no_script(browser):
    context = browser.new_context(java_script_enabled=False, **PHONE)
    yield context.new_page()
    context.close()


def this_quarter_label() -> str:
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    return f"{local.year}年第{'一二三四'[(local.month - 1) // 3]}季度"


def wait_for_answer(page, form: str) -> str:
    page.wait_for_function(f"(s => s.textContent && !s.textContent.startsWith('正在'))"
                           f"(document.querySelector('{form} .kite-form__status'))")
    return page.locator(f"{form} .kite-form__status").inner_text()


def fill_report(page, text: str = REPORT_TEXT) -> None:
    page.fill("#report-name", "王建军")
    page.select_option("#report-branch", "鼓韵堂党支部")
    page.fill("#report-text", text)


def fill_suggestion(page, text: str = SUGGESTION_TEXT) -> None:
    page.select_option("#suggest-branch", "栖息栈党支部")
    page.check("input[name=category][value=民生实事]")
    page.fill("#suggest-text", text)
    page.fill("#suggest-name", "李秀英")
    page.fill("#suggest-contact", "13912345678")


# ---- JavaScript on: answered in place.

def test_a_report_in_place_with_the_characters_left(phone, form_site):
    phone.goto(form_site.url + "report/")
    counter = phone.locator("#report-text-count")
    phone.fill("#report-text", "党课")
    assert counter.inner_text() == "已写 2 字，至少要写 10 字"
    # Counted as the endpoint counts: each person and joiner of the emoji, the line break once.
    phone.fill("#report-text", "👨‍👩‍👧\r\n" + "党" * 4998)
    assert counter.inner_text() == "已写 5004 字，超出 4 字，请删减"
    assert "kite-form__count--over" in counter.get_attribute("class")
    phone.fill("#report-text", "")
    # Ten characters for the browser, but blanks to the endpoint: refused there, and the text stays.
    fill_report(phone, "   短短的汇报   ")
    phone.click(".kite-submit button[type=submit]")
    answer = wait_for_answer(phone, ".kite-submit")
    assert answer == "汇报内容太短：至少 10 个字，现在 5 个字"
    results = Axe().run(phone)  # with the refusal and the field marked
    assert results.violations_count == 0, results.generate_report()
    assert phone.locator("#report-text").get_attribute("aria-invalid") == "true"
    assert phone.evaluate("document.activeElement.id") == "report-text"
    assert phone.input_value("#report-text") == "   短短的汇报   "
    assert form_site.stored()[0] == []

    phone.fill("#report-text", REPORT_TEXT)
    assert phone.locator(".kite-submit .kite-form__status").inner_text() == ""  # the old refusal went
    phone.click(".kite-submit button[type=submit]")
    assert wait_for_answer(phone, ".kite-submit") == f"汇报已收到，记入{this_quarter_label()}"
    assert phone.url == form_site.url + "report/"
    assert phone.input_value("#report-text") == ""
    (report,), _ = form_site.stored()
    assert (report.name, report.branch, report.text) == ("王建军", "鼓韵堂党支部", REPORT_TEXT)

    phone.fill("#report-text", REPORT_TEXT)
    phone.click(".kite-submit button[type=submit]")
    assert "之前已经收到了" in wait_for_answer(phone, ".kite-submit")
    assert len(form_site.stored()[0]) == 1


def test_a_suggestion_in_place_gives_its_reference_and_the_reply_reaches_the_member(phone, form_site):
    phone.goto(form_site.url + "suggest/")
    fill_suggestion(phone, "太冷了")  # under the form's minlength of 5
    phone.click(".kite-submit button[type=submit]")
    assert phone.evaluate("document.querySelector('#suggest-text').validity.tooShort")  # the browser said so
    phone.fill("#suggest-text", SUGGESTION_TEXT)
    phone.click(".kite-submit button[type=submit]")
    answer = wait_for_answer(phone, ".kite-submit")
    ref = SHOWN_REF.search(answer)[0]
    assert answer.startswith(f"建议已收到。查询号：{ref}，请记下")
    assert phone.input_value("#lookup-ref") == ref
    assert phone.input_value("#suggest-text") == ""
    _, (stored,) = form_site.stored()
    assert (stored.name, stored.contact, stored.category) == ("李秀英", "13912345678", "民生实事")

    phone.get_by_role("link", name="查看办理情况").click()
    phone.wait_for_load_state()
    assert phone.locator("h1").inner_text() == "意见建议办理情况"
    assert "已收到" in phone.locator(".k-facts").inner_text()
    assert "李秀英" not in phone.content() and "13912345678" not in phone.content()

    form_site.answer("answered", "热水器下周安装。\n请大家注意用电安全。")
    phone.reload()
    facts = phone.locator(".k-facts").inner_text()
    assert "已答复" in facts and "答复时间" in facts
    assert phone.locator(".k-reply").inner_text() == "热水器下周安装。\n请大家注意用电安全。"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    results = Axe().run(phone)  # the endpoint's page, in the site's look, is as accessible as the site
    assert results.violations_count == 0, results.generate_report()


def test_a_refused_category_is_marked_and_the_text_kept(phone, form_site):
    phone.goto(form_site.url + "suggest/")
    fill_suggestion(phone)
    # A bidi override the member cannot see (pasted): the endpoint refuses the text.
    phone.fill("#suggest-text", "希望工地宿舍\u202e能装上热水器")
    phone.click(".kite-submit button[type=submit]")
    assert "不可见的控制字符" in wait_for_answer(phone, ".kite-submit")
    assert phone.input_value("#suggest-text") == "希望工地宿舍\u202e能装上热水器"
    assert phone.input_value("#suggest-contact") == "13912345678"
    assert form_site.stored()[1] == []


# ---- JavaScript off: plain posts, pages from the endpoint, the back button keeps the text.

def test_a_report_without_javascript(no_script, form_site):
    page = no_script
    page.goto(form_site.url + "report/")
    assert page.locator("#report-text-count").inner_text() == "10 到 5000 字"
    fill_report(page, "  " + "短" * 6 + "  ")
    page.click(".kite-submit button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "汇报没有提交成功"
    assert "汇报内容太短：至少 10 个字，现在 6 个字" in page.content()
    page.go_back()
    page.wait_for_load_state()
    assert page.input_value("#report-text") == "  " + "短" * 6 + "  "  # the browser kept what was typed
    page.fill("#report-text", REPORT_TEXT)
    page.click(".kite-submit button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "汇报已收到"
    facts = page.locator(".k-facts").inner_text()
    assert this_quarter_label() in facts and "王建军" in facts and "鼓韵堂党支部" in facts
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert len(form_site.stored()[0]) == 1


def test_a_suggestion_without_javascript_and_its_lookup(no_script, form_site):
    page = no_script
    page.goto(form_site.url + "suggest/")
    fill_suggestion(page)
    page.click(".kite-submit button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "建议已收到"
    ref = page.locator(".k-ref").inner_text()
    assert SHOWN_REF.fullmatch(ref)
    assert "李秀英" not in page.content()

    form_site.answer("in_progress", "")
    page.goto(form_site.url + "suggest/")
    page.fill("#lookup-ref", ref.replace("-", "").lower())  # as read out over the phone
    page.click(".kite-lookup button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "意见建议办理情况"
    assert "办理中" in page.locator(".k-facts").inner_text()
    assert page.url.endswith("/suggestion/" + ref)
    page.fill("#lookup-ref", "K7Q2-M9XD-4R")
    page.click(".k-lookup button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "没有找到这条建议"


# ---- Offline: nothing is sent, the form says so, and what was typed stays.

# Each member's form: its page, how to fill it in, and the words its answers use.
EACH_FORM = pytest.mark.parametrize("path, fill, what, button", [
    ("report/", fill_report, "汇报", "提交汇报"),
    ("suggest/", fill_suggestion, "建议", "提交建议"),
])


def filled_form(browser, form_site, path: str, fill, script: str):
    """A phone with the form at ``path`` filled in once ``script`` (of assets/offline.js) is in;
    returns the context, the page and the text typed."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(form_site.url + path)
    page.wait_for_function(f"typeof window.{script} === 'function'")
    fill(page)
    return context, page, page.input_value("textarea")


@EACH_FORM
def test_offline_nothing_is_sent_and_the_form_says_so(browser, form_site, path, fill, what, button):
    context, page, typed = filled_form(browser, form_site, path, fill, "kiteNotSent")
    context.set_offline(True)
    page.click(".kite-submit button[type=submit]")
    answer = wait_for_answer(page, ".kite-submit")
    assert answer == f"没有网络，{what}没有发出。填好的内容还在，连上网络后再点一次“{button}”。"
    assert page.input_value("textarea") == typed
    assert form_site.stored() == ([], [])
    context.set_offline(False)
    page.click(".kite-submit button[type=submit]")
    assert "已收到" in wait_for_answer(page, ".kite-submit")
    assert sum(map(len, form_site.stored())) == 1
    context.close()


@EACH_FORM
def test_a_dead_line_the_phone_thinks_is_up_says_nothing_was_sent(browser, form_site, path, fill, what, button):
    # Signal bars but no data: navigator.onLine stays true while nothing reaches the endpoint.  The
    # form must say so in place, not leave for the browser's own error page.
    context, page, typed = filled_form(browser, form_site, path, fill, "kiteSendFailed")
    page.route(form_site.endpoint + "/**", lambda route: route.abort("internetdisconnected"))
    page.click(".kite-submit button[type=submit]")
    answer = wait_for_answer(page, ".kite-submit")
    assert answer == f"网络不通，{what}没有发出。填好的内容还在，等信号好了再点一次“{button}”。"
    assert page.url == form_site.url + path
    assert page.input_value("textarea") == typed
    page.unroute(form_site.endpoint + "/**")
    page.click(".kite-submit button[type=submit]")
    assert "已收到" in wait_for_answer(page, ".kite-submit")
    assert sum(map(len, form_site.stored())) == 1
    context.close()


def test_a_browser_that_refuses_the_scripts_request_on_a_working_line_posts_plainly(browser, form_site):
    # An old kernel (or a proxy that drops the CORS headers) refuses the script's request although
    # the line works: then the form is posted plainly, and the endpoint's page answers.
    def refuse_the_script(route):
        if "application/json" in route.request.headers.get("accept", ""):
            return route.abort("accessdenied")
        return route.continue_()

    context, page, _ = filled_form(browser, form_site, "report/", fill_report, "kiteSendFailed")
    page.route(form_site.endpoint + "/**", refuse_the_script)
    with page.expect_navigation(url=re.compile(re.escape(form_site.endpoint) + "/report/done")):
        page.click(".kite-submit button[type=submit]")
    assert page.locator("h1").inner_text() == "汇报已收到"
    assert len(form_site.stored()[0]) == 1
    context.close()


def test_the_pages_fit_a_phone_and_carry_the_fields(phone, form_site):
    for path in ("report/", "suggest/"):
        phone.goto(form_site.url + path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360
        assert phone.eval_on_selector_all("select[name=branch] optgroup", "gs => gs.map(g => g.label)") == ["驻宁流动党员联合党委"]
        trap = phone.locator("input[name=website]").bounding_box()
        assert trap is None or trap["x"] + trap["width"] <= 0  # the honeypot is off screen
        size = phone.eval_on_selector("textarea", "t => parseFloat(getComputedStyle(t).fontSize)")
        assert size >= 16
    categories = phone.eval_on_selector_all("input[name=category]", "rs => rs.map(r => r.value)")
    assert categories == ["项目招引", "民生实事", "组织建设", "其他"]
    for choice in phone.locator(".kite-choice").all():
        assert choice.bounding_box()["height"] >= 40  # a finger's width
