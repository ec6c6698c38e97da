"""The host view of a live activity in a real Chromium, on a 360 px phone and a wide screen, with
JavaScript off (the <meta http-equiv="refresh"> reloads it when the code changes) and on (live.js
swaps in the next code and count without a reload); and the poster printed to one A4 page.

The endpoint runs with its real clock and ``code_seconds: 10``, so a code changes within the test.
The same runs take the guides' screenshots: ``KITE_DESK_SCREENSHOTS=docs/images`` writes them there.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from playwright.sync_api import expect

from desk_client import PASSWORD, add_accounts, write_hub
from helpers import PHONE
from kite.storage import open_store
from kite.storage.desk import DeskStore
from test_desk_browser import assert_fits_a_phone, screenshot, shots

BEIJING = ZoneInfo("Asia/Shanghai")
SLUG = "红雁夜学"
LIVE = f"/desk/live/announcements/{SLUG}"
WIDE = {"viewport": {"width": 1280, "height": 720}, "device_scale_factor": 1}


@pytest.fixture
def live_server(hub, tmp_path, start_endpoint):
    write_hub(hub, "http://127.0.0.1:8001")
    hub.write("site_config.yml", hub.config.read_text(encoding="utf-8").replace(
        "  endpoint: http://127.0.0.1:8001\n", "  endpoint: http://127.0.0.1:8001\n  code_seconds: 10\n"))
    starts = datetime.now(BEIJING).replace(second=0, microsecond=0) - timedelta(minutes=12)
    hub.announcement(SLUG, f"title: 红雁e站夜学\ndate: {starts:%Y-%m-%d}\nstarts: {starts:%Y-%m-%d %H:%M}\n"
                           f"ends: {starts + timedelta(hours=2):%Y-%m-%d %H:%M}\nlocation: 红雁e站线上活动室\nattendance: code")
    db = tmp_path / "attendance.sqlite3"
    store = open_store(db)
    add_accounts(DeskStore(store))
    for minutes, branch, name in [(-3, "鼓韵堂党支部", "王建军"), (1, "鼓韵堂党支部", "李秀英"), (4, "栖息栈党支部", "陈国华"),
                                  (11, "鼓韵堂党支部", "张海涛"), (2, "浦东项目部党支部", "周立新")]:
        store.record_checkin(f"announcements/{SLUG}", branch, name, starts + timedelta(minutes=minutes))
    store.close()
    return start_endpoint(hub.config, db)


def log_in(page, base: str, login: str) -> None:
    page.goto(base + "/desk/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    assert page.url == base + "/desk/"


def current_code(page, base: str) -> str:
    return page.context.request.get(base + LIVE + "/code.json").json()["code"]


def shown(page) -> str:
    return page.locator(".l-code").inner_text()


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_the_host_view_keeps_itself_current_on_a_phone_and_a_wide_screen(browser, live_server, tmp_path, javascript):
    folder = (shots() if javascript else None) or tmp_path / "shots"
    # The phone's run adds one check-in (赵六), the wide screen's another (钱七); 12 minutes after the start, both 迟到.
    for size, viewport, total, name in (("phone", {**PHONE, "device_scale_factor": 1}, 4, "赵六"), ("wide", WIDE, 5, "钱七")):
        context = browser.new_context(**viewport, java_script_enabled=javascript)
        page = context.new_page()
        loads = []
        page.on("load", lambda: loads.append(1))
        try:
            log_in(page, live_server, "ningbo")
            live_link = page.locator("a:has-text('主持签到')")
            live_link.click()
            assert page.url.endswith("/desk/live/announcements/%E7%BA%A2%E9%9B%81%E5%A4%9C%E5%AD%A6")
            assert re.fullmatch(r"\d{4}", shown(page))
            assert shown(page) in (current_code(page, live_server), page.locator(".l-code").get_attribute("data-code"))
            # The count is the 驻宁 committee's two branches only: 浦东 is not in this account's scope.
            assert page.locator(".l-total strong").inner_text() == str(total)
            assert "浦东" not in page.locator("main").inner_text()
            rows = page.locator("table.l-counts tbody tr")
            assert [rows.nth(n).inner_text().split("\t") for n in range(rows.count())] == [
                ["鼓韵堂党支部", "2", "1", "3"], ["栖息栈党支部", "1", str(total - 4), str(total - 3)]]  # a check-in now is 迟到
            qr = page.locator("svg.kite-qr").bounding_box()
            code_box = page.locator(".l-code").bounding_box()
            if size == "phone":
                assert_fits_a_phone(page)
                assert qr["width"] >= 300
                screenshot(page, "desk-live", folder)
            else:
                assert page.evaluate("document.documentElement.scrollWidth") <= 1280
                assert code_box["height"] >= 150  # readable from the back of a room
                assert qr["x"] > code_box["x"] + code_box["width"] / 2  # side by side on a wide screen
                screenshot(page, "desk-live-wide", folder)

            refresh = page.locator("meta[http-equiv=refresh]")
            left = int(page.locator(".l-sec").get_attribute("data-left"))
            before = shown(page)
            if javascript:
                assert refresh.count() == 0  # <noscript>: no reload while the script keeps it current
                page.evaluate("window.notReloaded = true")
            else:
                assert refresh.get_attribute("content") == page.locator("#live").get_attribute("data-refresh")
                assert int(refresh.get_attribute("content")) == min(left, 15)
            # A member checks in meanwhile: the count follows without anyone touching the screen.
            answer = context.request.post(live_server + "/checkin", headers={"Accept": "application/json"}, data={
                "session": f"announcements/{SLUG}", "branch": "栖息栈党支部", "name": name,
                "code": current_code(page, live_server)})
            assert answer.status == 201
            # (Playwright's expect polls from its own world: the page's CSP forbids eval in its own.)
            expect(page.locator(".l-total strong")).to_have_text(str(total + 1), timeout=25_000)
            expect(page.locator(".l-code")).not_to_have_text(before, timeout=25_000)
            assert shown(page) == current_code(page, live_server)
            if javascript:
                assert page.evaluate("window.notReloaded") is True and len(loads) == 3  # login, overview, live
            else:
                assert len(loads) >= 4  # reloaded by the refresh tag
        finally:
            context.close()
    if javascript:
        for name, width in (("desk-live", 360), ("desk-live-wide", 1280)):
            picture = folder / f"{name}.png"
            assert Image.open(picture).size[0] == width
            assert picture.stat().st_size < 200_000, name


def test_the_poster_prints_on_one_a4_page_with_a_large_qr_code(browser, live_server, tmp_path):
    context = browser.new_context(viewport={"width": 794, "height": 1123}, device_scale_factor=1)
    page = context.new_page()
    try:
        log_in(page, live_server, "guyun")
        page.click("a:has-text('打印海报')")
        assert page.locator("h1").inner_text() == "红雁e站夜学"
        page.emulate_media(media="print")
        assert not page.locator(".k-header").is_visible() and not page.locator(".d-nav").is_visible()
        assert page.locator("svg.kite-qr").bounding_box()["width"] >= 450  # 120 mm at 96 px per inch
        folder = shots() or tmp_path / "shots"
        screenshot(page, "desk-poster", folder)
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
        (width, height), = {(round(float(w)), round(float(h))) for w, h in re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)}
        assert (width, height) == (595, 842)  # A4 in points
    finally:
        context.close()
