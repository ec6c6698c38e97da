"""The desk in a real Chromium at 360 px, with JavaScript on and off: logging in, the overview,
the 三个一 table, attaching a 未匹配 record, logging out.

The same runs take the guide's screenshots: set ``KITE_DESK_SCREENSHOTS=docs/images`` to write
them there (small palette PNGs); otherwise they go to a temporary folder and are only checked.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from desk_client import PASSWORD, add_accounts, write_hub
from helpers import PHONE, REPO
from kite.storage import open_store
from kite.storage.desk import DeskStore

BEIJING = ZoneInfo("Asia/Shanghai")
ROSTER = ["王建军", "李秀英", "张海涛", "陈国华", "周立新", "阿依古丽·买买提"]
SHOT_WIDTH = 360


@pytest.fixture
def desk_server(hub, tmp_path, start_endpoint):
    write_hub(hub, "http://127.0.0.1:8001")
    hub.announcement("评议会", "title: 年度民主评议会\ndate: 2026-01-05\nstarts: 2026-01-10 19:30\nattendance: true\nreview: true")
    db = tmp_path / "attendance.sqlite3"
    store = open_store(db)
    desk = DeskStore(store)
    add_accounts(desk)
    from kite.desk.roster_file import RosterFile
    from kite.desk.scope import Scope

    now = datetime.now(BEIJING)
    desk.replace_roster(Scope("all", ("鼓韵堂党支部",), everything=True), RosterFile({"鼓韵堂党支部": tuple(ROSTER)}),
                        now, actor="admin", filename="名册.xlsx")
    # A year so far: most study most months; two fell behind; one typed their name wrong once.
    for month in range(1, now.month + 1):
        at = datetime(now.year, month, 3, 20, 0, tzinfo=BEIJING)
        for number, name in enumerate(ROSTER):
            if (name == "张海涛" and month > 3) or (name == "周立新" and month % 3 == 0):
                continue
            store.record_checkin(f"lessons/第{month}课", "鼓韵堂党支部", name, at + timedelta(minutes=number))
    store.record_checkin("announcements/评议会", "鼓韵堂党支部", "李秀英", datetime(now.year, 1, 10, 19, 32, tzinfo=BEIJING))
    store.record_checkin("lessons/签到课", "鼓韵堂党支部", "王建君", datetime(now.year, now.month, 1, 21, 0, tzinfo=BEIJING))
    store.close()
    return start_endpoint(hub.config, db)


def shots() -> Path | None:
    folder = os.environ.get("KITE_DESK_SCREENSHOTS")
    return (REPO / folder) if folder else None


def screenshot(page, name: str, folder: Path) -> Path:
    """A viewport-sized picture at 1x, reduced to a palette: a few dozen KB for the guide."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    image = Image.open(path).convert("RGB").quantize(colors=48)
    image.save(path, optimize=True)
    return path


def assert_fits_a_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= SHOT_WIDTH
    sizes = page.evaluate("""[...document.querySelectorAll('main p, main li, main label, main td, main th, main input:not([type=checkbox]), main select, main button')]
        .filter(e => e.offsetParent !== null).map(e => parseFloat(getComputedStyle(e).fontSize))""")
    assert sizes and min(sizes) >= 16, sizes


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_a_secretary_logs_in_reads_the_table_attaches_a_record_and_logs_out(browser, desk_server, tmp_path, javascript):
    context = browser.new_context(**{**PHONE, "device_scale_factor": 1}, java_script_enabled=javascript)
    page = context.new_page()
    folder = (shots() if javascript else None) or tmp_path / "shots"
    try:
        page.goto(desk_server + "/desk/")
        assert page.url == desk_server + "/desk/login"
        page.fill("#login", "guyun")
        page.fill("#password", PASSWORD)
        assert_fits_a_phone(page)
        screenshot(page, "desk-login", folder)
        page.fill("#password", "not-the-password")
        page.click("button[type=submit]")
        assert page.locator(".d-error").inner_text() == "登录名或密码不对。"
        assert page.input_value("#login") == "guyun"
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        assert page.url == desk_server + "/desk/"
        assert page.locator("h1").inner_text() == "工作台"
        assert_fits_a_phone(page)
        screenshot(page, "desk-overview", folder)

        page.click("h2 a:has-text('鼓韵堂党支部')")
        assert "/desk/branches/" in page.url
        assert_fits_a_phone(page)
        rows = page.locator("table.d-table tbody tr")
        assert rows.count() == len(ROSTER)
        assert [rows.nth(n).locator("th").inner_text() for n in range(rows.count())] == ROSTER
        zhang = rows.nth(2)
        assert zhang.locator("td.d-miss").count() >= 1  # behind, and it shows
        assert "张海涛（缺" in page.locator(".d-behind").inner_text()
        # The table scrolls in its own box; the page does not.
        box = page.locator(".d-scroll")
        assert box.evaluate("e => e.scrollWidth > e.clientWidth")
        screenshot(page, "desk-branch", folder)
        page.locator("#unmatched").scroll_into_view_if_needed()
        screenshot(page, "desk-unmatched", folder)

        page.check(".d-records input[type=checkbox]")
        page.select_option("#member", label="王建军")
        page.click("#unmatched ~ form button[type=submit]")
        assert page.locator("#unmatched").inner_text() == "未匹配（0 条）"

        page.click("nav a:has-text('名册')")
        page.click("summary")  # <details> opens without a script
        assert "王建军、李秀英" in page.locator("details").first.inner_text()
        screenshot(page, "desk-roster", folder)
        page.click("button:has-text('退出')")
        assert page.url == desk_server + "/desk/login"
        page.goto(desk_server + "/desk/")
        assert page.url == desk_server + "/desk/login"
    finally:
        context.close()
    for name in ("desk-login", "desk-overview", "desk-branch", "desk-unmatched", "desk-roster"):
        picture = folder / f"{name}.png"
        assert picture.stat().st_size < 120_000, name
        assert Image.open(picture).size[0] == SHOT_WIDTH
