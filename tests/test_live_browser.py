"""An ``attendance: code`` activity's page in a real Chromium at phone size: the code from ?code=
with JavaScript on, typed by hand with it off, and a wrong code shown on its field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from helpers import CONFIG, PHONE
from kite.attendance.livecode import live_codes
from kite.attendance.secret import SECRET_VARIABLE, shared_secret
from kite.build import build
from kite.storage import open_store

BEIJING = ZoneInfo("Asia/Shanghai")
SESSION = "announcements/红雁夜学"


class LiveSite:
    def __init__(self, page_url: str, endpoint: str, db):
        self.page_url, self.endpoint, self.db = page_url, endpoint, db

    def code(self) -> str:
        """The code the host's screen shows now (the endpoint keeps the secret in this database)."""
        store = open_store(self.db)
        try:
            return live_codes(shared_secret(store), store).current(SESSION, 120, datetime.now(timezone.utc)).code
        finally:
            store.close()

    def names(self) -> list[str]:
        store = open_store(self.db)
        try:
            return [c.name for c in store.checkins(SESSION)]
        finally:
            store.close()


@pytest.fixture
def live_site(hub, tmp_path, serve_dir, start_endpoint, monkeypatch) -> LiveSite:
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    starts = datetime.now(BEIJING) + timedelta(minutes=5)
    hub.announcement("红雁夜学", f"title: 红雁e站夜学\ndate: 2026-12-01\nstarts: {starts:%Y-%m-%d %H:%M}\n"
                                 "location: 红雁e站线上活动室\nattendance: code")
    site = tmp_path / "site"
    site_url = serve_dir(site)
    db = tmp_path / "attendance.sqlite3"
    endpoint = start_endpoint(hub.config, db, extra_origins=(site_url.rstrip("/"),))
    hub.write("site_config.yml", CONFIG.replace("https://example.org/checkin", endpoint))
    build(hub.config, site)
    return LiveSite(site_url + "announcements/" + quote("红雁夜学") + "/", endpoint, db)


def fill(page, name: str) -> None:
    page.fill("#checkin-name", name)
    page.select_option("#checkin-branch", "鼓韵堂党支部")


def wait_for_answer(page) -> str:
    page.wait_for_function("/成功|已经|不对|太多|签到码/.test(document.querySelector('.kite-form__status').textContent)"
                           " && !document.querySelector('.kite-form__status').textContent.includes('正在')")
    return page.locator(".kite-form__status").inner_text()


def test_the_code_from_the_qr_link_is_filled_in_and_checks_in(phone, live_site):
    code = live_site.code()
    phone.goto(live_site.page_url + "?code=" + code)
    field = phone.locator("#checkin-code")
    assert field.input_value() == code
    fill(phone, "陈国华")
    phone.click("form[data-kite-checkin] button[type=submit]")
    assert wait_for_answer(phone) == "签到成功"
    assert live_site.names() == ["陈国华"]


def test_a_wrong_code_is_shown_on_the_code_field(phone, live_site):
    code = live_site.code()
    wrong = f"{(int(code) + 5000) % 10000:04}"
    phone.goto(live_site.page_url + "?code=" + wrong)
    fill(phone, "陈国华")
    phone.click("form[data-kite-checkin] button[type=submit]")
    assert "签到码不对" in wait_for_answer(phone)
    assert phone.locator("#checkin-code").get_attribute("aria-invalid") == "true"
    assert phone.evaluate("document.activeElement.id") == "checkin-code"
    # The member corrects it from the screen and sends again.
    phone.fill("#checkin-code", code)
    assert phone.locator(".kite-form__status").inner_text() == ""
    phone.click("form[data-kite-checkin] button[type=submit]")
    assert wait_for_answer(phone) == "签到成功"
    assert live_site.names() == ["陈国华"]


def test_with_javascript_off_the_member_types_the_code(browser, live_site):
    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    page.goto(live_site.page_url + "?code=1234")
    assert page.locator("#checkin-code").input_value() == ""  # nothing fills it in without JavaScript
    fill(page, "李秀英")
    page.fill("#checkin-code", live_site.code())
    page.click("form[data-kite-checkin] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "签到成功"
    assert "红雁e站夜学" in page.content()
    assert live_site.names() == ["李秀英"]
    context.close()


def test_with_javascript_off_a_wrong_code_gets_a_readable_page(browser, live_site):
    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    page.goto(live_site.page_url)
    fill(page, "李秀英")
    page.fill("#checkin-code", f"{(int(live_site.code()) + 5000) % 10000:04}")
    page.click("form[data-kite-checkin] button[type=submit]")
    page.wait_for_load_state()
    assert "签到码不对" in page.content()
    assert live_site.names() == []
    context.close()


def test_the_page_says_it_uses_a_live_code_and_the_field_fits_a_phone(phone, live_site):
    phone.goto(live_site.page_url)
    assert "现场签到码" in phone.locator(".kite-checkin__live").inner_text()
    assert "每 2 分钟换一次" in phone.locator(".kite-checkin__live").inner_text()
    field = phone.locator("#checkin-code")
    attributes = {name: field.get_attribute(name) for name in ("name", "inputmode", "pattern", "autocomplete", "required")}
    assert attributes == {"name": "code", "inputmode": "numeric", "pattern": "[0-9]{4}",
                          "autocomplete": "one-time-code", "required": ""}
    assert "主持人屏幕" in phone.locator("label[for=checkin-code]").inner_text()
    assert phone.evaluate("parseFloat(getComputedStyle(document.querySelector('#checkin-code')).fontSize)") >= 28
    box = field.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    # The browser itself refuses three digits before anything is sent.
    fill(phone, "陈国华")
    phone.fill("#checkin-code", "123")
    assert phone.evaluate("document.querySelector('#checkin-code').validity.valid") is False
