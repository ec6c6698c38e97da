"""What editors write and what the built page carries for an ``attendance: code`` activity."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from lxml import html

from kite.build import build
from kite.loader import load_hub
from kite.scaffold import new_draft

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_a_new_announcement_offers_attendance_code(hub):
    path = new_draft("announcement", "红雁夜学", hub.config, now=NOW)
    text = path.read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if line.startswith("# attendance:")]
    assert "写 code" in line and "签到码" in line
    # The editor takes the offer: uncomment it with code, and the draft still passes check.
    path.write_text(text.replace(line, "attendance: code"), encoding="utf-8")
    (announcement,) = load_hub(hub.config, drafts=True).announcements
    assert announcement.attendance == "code"


def built_form(hub, tmp_path, attendance: str):
    hub.announcement("夜学", f"title: 夜学\ndate: 2026-12-01\nstarts: 2026-12-05 19:30\nattendance: {attendance}")
    build(hub.config, tmp_path / "site")
    page = html.fromstring((tmp_path / "site/announcements/夜学/index.html").read_text(encoding="utf-8"))
    (form,) = page.xpath("//form[@data-kite-checkin]")
    return page, form


def test_the_code_field_is_in_the_form_and_posts_to_the_endpoint(hub, tmp_path):
    page, form = built_form(hub, tmp_path, "code")
    assert form.get("action") == "https://example.org/checkin/checkin" and form.get("method") == "post"
    (code,) = form.xpath(".//input[@name='code']")
    assert code.get("inputmode") == "numeric" and code.get("pattern") == "[0-9]{4}"
    assert code.get("autocomplete") == "one-time-code" and code.get("required") is not None
    assert form.xpath(".//input[@name='session']")[0].get("value") == "announcements/夜学"
    assert "现场签到码" in page.xpath("//*[@class='kite-checkin__live']")[0].text_content()


def test_the_period_on_the_page_follows_code_seconds(hub, tmp_path):
    hub.write("site_config.yml", hub.config.read_text(encoding="utf-8").replace(
        "  endpoint: https://example.org/checkin\n", "  endpoint: https://example.org/checkin\n  code_seconds: 90\n"))
    page, _ = built_form(hub, tmp_path, "code")
    assert "每 90 秒换一次" in page.xpath("//*[@class='kite-checkin__live']")[0].text_content()


def test_an_ordinary_check_in_has_no_code_field(hub, tmp_path):
    page, form = built_form(hub, tmp_path, "true")
    assert form.xpath(".//input[@name='code']") == []
    assert page.xpath("//*[@class='kite-checkin__live']") == []
