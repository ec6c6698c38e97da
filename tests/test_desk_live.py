"""Hosting a live activity from the desk (contract, section 7), over HTTP with the endpoint's clock
in the test's hands, on SQLite and PostgreSQL: the host view, its code.json and the poster.

The code the host view shows is the one /checkin accepts, it changes at the step's boundary and
the one before is still accepted; the count is the account's scope only, split 准时/迟到 at
``starts`` + ``late_after``; the QR codes decode (zbar) to the page with and without ``?code=``;
anything but a published ``attendance: code`` announcement is 404.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from desk_client import DeskApp, DeskClient, write_hub
from kite.desk.guard import SCRIPTED_CSP
from test_live_qr import scan, standalone

KEY = "desk-live-test-key"
BEIJING = ZoneInfo("Asia/Shanghai")
STARTS = datetime(2026, 12, 5, 19, 30, tzinfo=BEIJING)
SLUG = "红雁夜学"
SESSION = f"announcements/{SLUG}"
LIVE = f"/desk/live/announcements/{SLUG}"
GUYUN, QIXI, PUDONG = "鼓韵堂党支部", "栖息栈党支部", "浦东项目部党支部"
PAGE_URL = f"https://example.org/hub/announcements/{quote(SLUG)}/"


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class LiveDesk(DeskApp):
    """The endpoint in-process with a clock the test sets; desk clients log in through it."""

    def __init__(self, hub, database: str, code_seconds: int = 120):
        write_hub(hub, "http://127.0.0.1:8001")
        config = hub.config.read_text(encoding="utf-8")
        hub.config.write_text(config.replace("attendance:\n", f"attendance:\n  code_seconds: {code_seconds}\n", 1),
                              encoding="utf-8")
        hub.announcement(SLUG, "title: 红雁e站夜学\ndate: 2026-12-01\nstarts: 2026-12-05 19:30\n"
                               "ends: 2026-12-05 21:00\nlocation: 红雁e站线上活动室\nattendance: code")
        hub.announcement("冬训", "title: 冬训动员会\ndate: 2026-12-01\nstarts: 2026-12-05 09:00\nattendance: true")
        hub.announcement("通知", "title: 只是通知\ndate: 2026-12-01\nstarts: 2026-12-05 09:00")
        hub.announcement("草稿", "title: 还没发布\ndate: 2026-12-01\nstarts: 2026-12-05 19:30\n"
                               "attendance: code\ndraft: true")
        # 19:31:58 in Beijing is 11:31:58 UTC: two seconds before a 120-second step ends.
        self.clock = Clock(datetime(2026, 12, 5, 19, 31, 58, tzinfo=BEIJING))
        super().__init__(hub, database, secret_key=KEY, clock=self.clock)


@pytest.fixture
def live(hub, database):
    desk = LiveDesk(hub, database)
    yield desk
    desk.close()


def code_json(client: DeskClient) -> dict:
    answer = client.get(LIVE + "/code.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert "no-store" in answer.headers["cache-control"]
    return answer.json()


def shown_code(html: str) -> str:
    return re.search(r'class="l-code" data-code="(\d{4})">(\d{4})<', html)[1]


def qr_in(html: str) -> str:
    (svg,) = re.findall(r"<svg [^>]*class=\"kite-qr\".*?</svg>", html, re.S)
    (decoded,) = scan(standalone(svg))
    return decoded


def checkin(live: LiveDesk, code: str, name: str = "王建军", branch: str = GUYUN):
    return live.client().http.post("/checkin", json={"session": SESSION, "branch": branch, "name": name, "code": code},
                                   headers={"Accept": "application/json"})


def test_the_code_rotates_at_the_boundary_and_the_one_before_still_checks_in(live):
    host = live.client("guyun")
    before = code_json(host)
    assert before["valid_until"] == "2026-12-05T11:32:00+00:00"
    assert datetime.fromisoformat(before["valid_until"]) == datetime(2026, 12, 5, 11, 32, tzinfo=timezone.utc)
    page = host.get(LIVE)
    assert page.status_code == 200
    assert shown_code(page.text) == before["code"]
    # Without JavaScript the page reloads when the code changes: in 2 seconds here.
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page.text
    assert 'data-left="2"' in page.text and "19:32:00 换新码" in page.text

    live.clock.now += timedelta(seconds=1)
    assert code_json(host) == before  # 19:31:59: still the same
    live.clock.now += timedelta(seconds=1)
    after = code_json(host)  # 19:32:00: the next one
    assert after["code"] != before["code"] and re.fullmatch(r"\d{4}", after["code"])
    assert after["valid_until"] == "2026-12-05T11:34:00+00:00"
    page = host.get(LIVE)
    assert shown_code(page.text) == after["code"]
    # Away from the boundary the count is fetched again every 15 seconds.
    assert '<meta http-equiv="refresh" content="15">' in page.text and 'data-left="120"' in page.text

    assert checkin(live, before["code"]).status_code == 201  # just changed: still accepted
    assert checkin(live, after["code"], name="李秀英").status_code == 201
    live.clock.now += timedelta(seconds=120)  # 19:34:00: `before` is two steps old now
    refused = checkin(live, before["code"], name="张海涛")
    assert refused.status_code == 403 and refused.json()["field"] == "code"
    assert checkin(live, after["code"], name="张海涛").status_code == 201
    assert checkin(live, code_json(host)["code"], name="陈国华").status_code == 201
    assert "<strong>4</strong> 人" in host.get(LIVE).text


def test_a_code_that_lasts_a_day_says_when_it_changes_instead_of_counting_every_second(hub, database):
    desk = LiveDesk(hub, database, code_seconds=86_400)
    try:
        host = desk.client("guyun")
        code = code_json(host)
        assert code["valid_until"] == "2026-12-06T00:00:00+00:00"  # whole days since the epoch, in UTC
        page = host.get(LIVE)
        assert page.status_code == 200 and shown_code(page.text) == code["code"]
        assert "08:00:00 换新码（旧码再用 1440 分钟）" in page.text
        assert len(page.content) < 40_000  # not a line for each of the 44,522 seconds left
        assert checkin(desk, code["code"]).status_code == 201
    finally:
        desk.close()


def test_the_count_is_the_accounts_scope_only_and_splits_on_time_from_late(live):
    late_from = STARTS + timedelta(minutes=10)
    for branch, name, at in [(GUYUN, "王建军", late_from - timedelta(minutes=20)), (GUYUN, "李秀英", late_from),
                             (GUYUN, "张海涛", late_from + timedelta(seconds=1)), (QIXI, "陈国华", late_from),
                             (PUDONG, "周立新", late_from + timedelta(minutes=5)), (PUDONG, "浦东外人", late_from)]:
        live.store.record_checkin(SESSION, branch, name, at)
    live.store.record_checkin("lessons/签到课", GUYUN, "阿依古丽", late_from)  # another session: not counted

    def rows(login: str) -> list[tuple[str, ...]]:
        html = live.client(login).get(LIVE).text
        assert "19:40 以前签到算准时" in html
        return re.findall(r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>', html)

    assert rows("guyun") == [(GUYUN, "2", "1", "3")]
    assert rows("ningbo") == [(GUYUN, "2", "1", "3"), (QIXI, "1", "0", "1"), ("合计", "3", "1", "4")]
    assert rows("admin") == [(GUYUN, "2", "1", "3"), (QIXI, "1", "0", "1"), (PUDONG, "1", "1", "2"), ("合计", "4", "2", "6")]
    assert rows("pudong") == [(PUDONG, "1", "1", "2")]
    guyun = live.client("guyun").get(LIVE).text
    assert not any(name in guyun for name in (PUDONG, QIXI, "周立新"))
    assert "<strong>3</strong> 人" in guyun
    # The host view and the check-in export agree on 准时 and 迟到.
    export = live.client("admin").get("/desk/checkins.csv", params={"session": SESSION}).content.decode("utf-8-sig")
    statuses = [line.rsplit(",", 1)[1] for line in export.splitlines()[1:]]
    assert sorted(statuses) == ["准时"] * 4 + ["迟到"] * 2


def test_no_check_in_yet_says_so(live):
    html = live.client("guyun").get(LIVE).text
    assert "你的账号范围里还没有人签到。" in html and "<strong>0</strong> 人" in html
    assert "还没有人签到。" in live.client("admin").get(LIVE).text


def test_the_host_views_qr_is_the_page_with_the_current_code(live):
    html = live.client("guyun").get(LIVE).text
    assert qr_in(html) == f"{PAGE_URL}?code={shown_code(html)}"
    assert f'href="{PAGE_URL}"' in html  # the desk links the announcement's own page


def test_the_poster_is_a4_with_the_time_the_place_and_a_qr_of_the_page_without_a_code(live):
    answer = live.client("guyun").get(LIVE + "/poster")
    assert answer.status_code == 200
    html = answer.text
    assert "@page{size:A4" in html and "@media print" in html
    assert "红雁e站夜学" in html and "红雁e站线上活动室" in html
    assert "2026年12月5日（星期六）19:30 至 21:00（北京时间）" in html
    assert qr_in(html) == PAGE_URL


def test_the_window_is_told_when_check_in_is_not_open(live):
    host = live.client("guyun")
    live.clock.now = STARTS - timedelta(hours=2)
    assert "签到在 2026年12月5日（星期六）19:00 开放" in host.get(LIVE).text
    live.clock.now = STARTS + timedelta(hours=3)
    assert "签到已在 2026年12月5日（星期六）21:30 结束" in host.get(LIVE).text
    live.clock.now = STARTS
    assert "开放" not in host.get(LIVE).text and "结束" not in host.get(LIVE).text


@pytest.mark.parametrize("slug", ["冬训", "通知", "草稿", "没有这个活动", "签到课"])
def test_anything_but_a_published_code_activity_is_404(live, slug):
    admin = live.client("admin")
    for suffix in ("", "/code.json", "/poster"):
        answer = admin.get(f"/desk/live/announcements/{slug}{suffix}")
        assert answer.status_code == 404, (slug, suffix)
        assert "没有这个页面" in answer.text


def test_any_logged_in_account_may_host_and_nobody_else(live):
    for login in ("admin", "ningbo", "guyun", "pudong"):
        client = live.client(login)
        for suffix in ("", "/code.json", "/poster"):
            assert client.get(LIVE + suffix).status_code == 200, (login, suffix)
    outsider = live.client()
    for suffix in ("", "/code.json", "/poster"):
        answer = outsider.get(LIVE + suffix)
        assert answer.status_code == 303 and answer.headers["location"] == "/desk/login"


def test_only_the_host_view_may_run_a_script_and_only_its_own_file(live):
    client = live.client("guyun")
    page = client.get(LIVE)
    assert page.headers["content-security-policy"] == SCRIPTED_CSP
    assert "script-src 'self'" in SCRIPTED_CSP and "unsafe-inline" not in SCRIPTED_CSP.split("script-src")[1]
    scripts = re.findall(r"<script[^>]*>", page.text)
    assert scripts == ['<script src="/desk/live.js" defer>']
    script = client.get("/desk/live.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "getElementById(\"live\")" in script.text
    for path in ("/desk/", LIVE + "/poster", "/desk/live.js"):
        assert "script-src" not in client.get(path).headers["content-security-policy"], path


def test_the_overview_links_hosting_for_activities_not_yet_closed(live):
    client = live.client("guyun")
    overview = client.get("/desk/").text
    assert f'href="/desk/live/announcements/{quote(SLUG)}"' in overview
    assert f'href="/desk/live/announcements/{quote(SLUG)}/poster"' in overview
    assert "冬训动员会" not in overview  # no code: nothing to host
    live.clock.now = STARTS + timedelta(hours=3)  # check-in closed at 21:30
    assert "/desk/live/" not in client.get("/desk/").text


def test_code_json_is_json_a_script_can_read(live):
    body = live.client("pudong").get(LIVE + "/code.json").content
    assert set(json.loads(body)) == {"code", "valid_until"}


def test_the_live_pages_are_valid_html(live, tmp_path):
    from test_html_valid import answer_errors

    live.store.record_checkin(SESSION, GUYUN, "王建军", STARTS)
    live.store.record_checkin(SESSION, QIXI, "陈国华", STARTS + timedelta(minutes=20))
    ningbo = live.client("ningbo")
    pages = {
        "host": ningbo.get(LIVE),
        "host-empty": live.client("pudong").get(LIVE),
        "poster": ningbo.get(LIVE + "/poster"),
        "overview": ningbo.get("/desk/"),
        "not-found": ningbo.get("/desk/live/announcements/冬训"),
    }
    assert "<tfoot>" in pages["host"].text and "主持签到" in pages["overview"].text  # the pages show what they should
    assert answer_errors(pages, tmp_path) == []
