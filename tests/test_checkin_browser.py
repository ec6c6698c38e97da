"""The check-in form in a real Chromium at phone size, with JavaScript on and off."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import httpx
import pytest

from helpers import CONFIG, PHONE
from kite.build import build

TOKEN = "browser-test-token"


@pytest.fixture
def checkin_site(hub, tmp_path, serve_dir, start_endpoint, monkeypatch):
    """A built hub served on loopback, its form posting to a live endpoint."""
    hub.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true", body="请学习后签到。\n")
    monkeypatch.setenv("ATTENDANCE_EXPORT_TOKEN", TOKEN)
    site = tmp_path / "site"
    site_url = serve_dir(site)
    endpoint = start_endpoint(hub.config, tmp_path / "attendance.sqlite3", extra_origins=(site_url.rstrip("/"),))
    hub.write("site_config.yml", CONFIG.replace("https://example.org/checkin", endpoint))  # the forms post there
    build(hub.config, site)
    return site_url + "lessons/" + quote("签到课") + "/", endpoint


def exported_names(endpoint: str) -> list[str]:
    response = httpx.get(endpoint + "/export.csv", headers={"Authorization": f"Bearer {TOKEN}"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    return [row[5] for row in rows[1:]]


def fill(page, name: str) -> None:
    page.fill("#checkin-name", name)
    page.select_option("#checkin-branch", "栖息栈党支部")


def test_checkin_in_place_with_javascript(phone, checkin_site):
    page_url, endpoint = checkin_site
    phone.goto(page_url)
    fill(phone, "陈国华")
    phone.click("form[data-kite-checkin] button[type=submit]")
    status = phone.locator(".kite-form__status")
    phone.wait_for_function("document.querySelector('.kite-form__status').textContent.includes('签到')"
                            " && !document.querySelector('.kite-form__status').textContent.includes('正在')")
    assert status.inner_text() == "签到成功"
    assert phone.url == page_url  # the member never left the page
    phone.click("form[data-kite-checkin] button[type=submit]")
    phone.wait_for_function("document.querySelector('.kite-form__status').textContent.includes('已经签到')")
    assert "签到成功" not in status.inner_text()
    assert exported_names(endpoint) == ["陈国华"]


def test_field_errors_are_shown_in_place(phone, checkin_site):
    page_url, endpoint = checkin_site
    phone.goto(page_url)
    fill(phone, "   ")  # passes the browser's `required`, refused by the endpoint
    phone.click("form[data-kite-checkin] button[type=submit]")
    phone.wait_for_function("document.querySelector('#checkin-name').getAttribute('aria-invalid') === 'true'")
    assert "请填写姓名" in phone.locator(".kite-form__status").inner_text()
    assert exported_names(endpoint) == []


def test_checkin_with_javascript_off(browser, checkin_site):
    page_url, endpoint = checkin_site
    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    page.goto(page_url)
    fill(page, "李秀英")
    page.click("form[data-kite-checkin] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "签到成功"
    assert "可以签到的党课" in page.content()
    page.go_back()
    page.wait_for_load_state()
    fill(page, "李秀英")
    page.click("form[data-kite-checkin] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "已经签到"
    assert exported_names(endpoint) == ["李秀英"]
    context.close()


def test_form_fits_a_phone_and_has_grouped_branches(phone, checkin_site):
    page_url, _ = checkin_site
    phone.goto(page_url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    groups = phone.eval_on_selector_all("#checkin-branch optgroup", "gs => gs.map(g => g.label)")
    assert groups == ["驻宁流动党员联合党委"]
    assert phone.locator("input[name=session]").get_attribute("value") == "lessons/签到课"
    trap = phone.locator("#checkin-website").bounding_box()
    assert trap is None or trap["x"] + trap["width"] <= 0  # the honeypot is off screen


def test_an_old_answer_goes_once_the_form_changes(phone, checkin_site):
    page_url, endpoint = checkin_site
    phone.goto(page_url)
    status = phone.locator(".kite-form__status")
    for _ in range(2):
        fill(phone, "陈国华")
        phone.click("form[data-kite-checkin] button[type=submit]")
        phone.wait_for_function("/成功|已经/.test(document.querySelector('.kite-form__status').textContent)")
    assert "已经签到" in status.inner_text()
    # Cleared name, tap 签到: the browser's "required" bubble must not stand beside the old green message.
    phone.fill("#checkin-name", "")
    phone.click("form[data-kite-checkin] button[type=submit]")
    assert phone.evaluate("document.querySelector('#checkin-name').validity.valueMissing")
    assert status.inner_text() == ""
    # An error answer goes too when the field it names is corrected.
    fill(phone, "   ")
    phone.click("form[data-kite-checkin] button[type=submit]")
    phone.wait_for_function("document.querySelector('#checkin-name').getAttribute('aria-invalid') === 'true'")
    phone.locator("#checkin-name").press_sequentially("李")
    assert status.inner_text() == ""
    assert phone.locator("#checkin-name").get_attribute("aria-invalid") is None
    assert exported_names(endpoint) == ["陈国华"]
