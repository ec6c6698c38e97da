"""The QR codes decode, with a real decoder (zbar), to the announcement's page: with ?code= for the
host's screen, without for the poster.  The SVG that is served is what gets rendered and scanned."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

import cairosvg
import pytest
from PIL import Image
from pyzbar import pyzbar

from kite.attendance.hosting import activity_time, host_screen, poster
from kite.attendance.livecode import live_codes
from kite.attendance.qrcodes import qr_svg, url_with_code
from kite.attendance.secret import shared_secret
from kite.attendance.sessions import Roster
from kite.loader import load_hub
from kite.storage import open_store

BEIJING = ZoneInfo("Asia/Shanghai")


def scan(svg: str, width: int = 400) -> list[str]:
    """What zbar reads from ``svg`` rendered to a PNG ``width`` pixels wide."""
    png = cairosvg.svg2png(bytestring=svg.encode("utf-8"), output_width=width, output_height=width)
    image = Image.open(io.BytesIO(png)).convert("L")
    return [symbol.data.decode("utf-8") for symbol in pyzbar.decode(image) if symbol.type == "QRCODE"]


def standalone(inline: str) -> str:
    """An inline SVG as a file: the namespace is all that HTML does not need."""
    return inline.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)


@pytest.fixture
def roster(hub) -> Roster:
    hub.announcement("红雁夜学", "title: 红雁e站夜学\ndate: 2026-12-01\nstarts: 2026-12-05 19:30\n"
                                 "ends: 2026-12-05 21:00\nlocation: 红雁e站线上活动室\nattendance: code")
    hub.announcement("冬训", "title: 冬训动员会\ndate: 2026-12-01\nstarts: 2026-12-30 09:00\n"
                           "ends: 2026-12-31 17:00\nattendance: true")
    return Roster.from_hub(load_hub(hub.config))


def test_a_url_with_a_chinese_path_survives_the_round_trip():
    url = "https://example.org/hub/announcements/%E7%BA%A2%E9%9B%81%E5%A4%9C%E5%AD%A6/?code=0427"
    svg = qr_svg(url, standalone=True)
    assert svg.startswith("<?xml") and 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert scan(svg) == [url]


def test_the_inline_svg_for_pages_is_the_same_symbol():
    url = "https://example.org/hub/announcements/x/"
    inline = qr_svg(url, title="扫码 <签到>")
    assert inline.startswith("<svg ") and "<?xml" not in inline and "xmlns" not in inline
    assert "<title>扫码 &lt;签到&gt;</title>" in inline  # escaped: titles come from editors
    assert "width=" not in inline.split(">", 1)[0]  # sized by CSS
    assert scan(standalone(inline)) == [url]


def test_url_with_code_replaces_any_query():
    assert url_with_code("https://e.org/hub/a/", "0042") == "https://e.org/hub/a/?code=0042"
    assert url_with_code("https://e.org/hub/a/?code=1111#x", "0042") == "https://e.org/hub/a/?code=0042"


def test_the_host_screen_qr_carries_the_current_code(roster, tmp_path):
    store = open_store(tmp_path / "attendance.sqlite3")
    codes = live_codes(shared_secret(store), store)
    session = roster.sessions["announcements/红雁夜学"]
    at = datetime(2026, 12, 5, 19, 31, 10, tzinfo=BEIJING)
    screen = host_screen(session, codes, at)
    store.close()
    assert screen.code == codes.current(session.key, 120, at)
    assert 0 < screen.seconds_left <= 120
    assert screen.code.valid_until == at + timedelta(seconds=screen.seconds_left)  # 19:31:10 is not on a boundary here
    (decoded,) = scan(standalone(screen.qr_svg))
    assert decoded == screen.code_url
    parts = urlsplit(decoded)
    assert parse_qs(parts.query) == {"code": [screen.code.code]}
    assert unquote(parts.path) == "/hub/announcements/红雁夜学/"
    assert decoded.startswith("https://example.org/hub/")


def test_the_poster_qr_is_the_page_without_a_code(roster):
    sheet = poster(roster.sessions["announcements/红雁夜学"], BEIJING)
    assert sheet.title == "红雁e站夜学"
    assert sheet.when == "2026年12月5日（星期六）19:30 至 21:00（北京时间）"
    assert sheet.place == "红雁e站线上活动室"
    assert scan(standalone(sheet.qr_svg)) == [sheet.page_url]
    assert "?" not in sheet.page_url


def test_times_across_days_and_zones(roster):
    session = roster.sessions["announcements/冬训"]
    assert activity_time(session, BEIJING) == "2026年12月30日（星期三）09:00 至 2026年12月31日（星期四）17:00（北京时间）"
    assert activity_time(session, ZoneInfo("Asia/Dubai")).endswith("13:00（迪拜时间）")


def test_only_live_code_activities_have_a_host_screen(roster, tmp_path):
    store = open_store(tmp_path / "attendance.sqlite3")
    with pytest.raises(ValueError):
        host_screen(roster.sessions["announcements/冬训"], live_codes(shared_secret(store), store), datetime.now(BEIJING))
    store.close()


def test_a_small_print_still_scans():
    # A poster printed small or a screen seen from far: about 3 pixels per module.
    url = "https://example.org/hub/announcements/%E5%86%AC%E8%AE%AD%E5%8A%A8%E5%91%98%E4%BC%9A/"
    assert scan(qr_svg(url, standalone=True), width=120) == [url]
