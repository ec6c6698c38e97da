"""The page after a form check-in: the site's look, labelled fields, and only what the endpoint signed."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from starlette.testclient import TestClient

from helpers import PHONE
from kite.attendance.confirmation import Confirmation, Confirmations
from kite.attendance.sessions import Roster
from kite.storage import open_store
from kite.attendance.web import create_app
from kite.loader import load_hub

KEY = "confirmation-test-key"
LESSON = {"session": "lessons/签到课", "branch": "鼓韵堂党支部", "name": "王建军"}


@pytest.fixture
def client(hub, tmp_path):
    hub.lesson("签到课", "title: 可以签到的党课 <b>甲</b>\ndate: 2026-03-01\nattendance: true")
    now = datetime.now(timezone.utc).astimezone(load_hub(hub.config).config.zone)
    hub.announcement("夜学", f"title: 正在进行的夜学\ndate: 2026-01-01\nstarts: {now:%Y-%m-%d %H:%M}\nattendance: true")
    roster = Roster.from_hub(load_hub(hub.config))
    store = open_store(tmp_path / "attendance.sqlite3")
    with TestClient(create_app(store, lambda: roster, secret_key=KEY), base_url="http://testserver") as client:
        yield client
    store.close()


def post_form(client, fields):
    return client.post("/checkin", data=fields, follow_redirects=False)


def confirmation_page(client, fields):
    answer = post_form(client, fields)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("checkin/done?t=")  # relative: right behind a proxy path too
    return client.get("/" + location)


def facts(html: str) -> dict[str, str]:
    return dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", html))


def test_a_new_check_in_is_confirmed_with_labelled_fields_in_the_sites_look(client):
    page = confirmation_page(client, {**LESSON, "name": "  王建军 "})
    assert page.status_code == 200
    html = page.text
    assert "<h1>签到成功</h1>" in html and "已经签到" not in html and "已签到" not in html
    fields = facts(html)
    assert fields["党课"] == "可以签到的党课 &lt;b&gt;甲&lt;/b&gt;"
    assert fields["姓名"] == "王建军"  # as stored, not as typed
    assert fields["支部"] == "鼓韵堂党支部"
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日（星期.）\d\d:\d\d（北京时间）", fields["时间"])
    assert '<header class="k-header"><a href="https://example.org/hub/">' in html and "测试云课堂" in html
    assert 'name="viewport"' in html and "<script" not in html
    assert re.search(r'href="https://example.org/hub/lessons/%E7%AD%BE%E5%88%B0%E8%AF%BE/">返回党课页面', html)
    assert page.headers["cache-control"] == "no-store"


def test_a_repeat_says_already_checked_in_and_never_success(client):
    confirmation_page(client, LESSON)
    html = confirmation_page(client, LESSON).text
    assert "<h1>已经签到</h1>" in html and "签到成功" not in html
    assert facts(html)["姓名"] == "王建军"


def test_an_activity_is_labelled_as_one(client):
    html = confirmation_page(client, {**LESSON, "session": "announcements/夜学"}).text
    assert facts(html)["活动"] == "正在进行的夜学"
    assert "返回活动页面" in html


def test_a_link_made_up_from_query_parameters_shows_nothing(client):
    forged = client.get("/checkin/done?state=recorded&session=" + quote("lessons/签到课") + "&name=" + quote("冒名顶替"))
    assert forged.status_code == 400
    assert "签到成功" not in forged.text and "冒名顶替" not in forged.text
    assert "<h1>确认链接无效</h1>" in forged.text and "测试云课堂" in forged.text


def test_an_altered_token_shows_nothing(client):
    location = post_form(client, LESSON).headers["location"]
    token = parse_qs(urlsplit(location).query)["t"][0]
    payload, signature = token.rsplit(".", 1)
    padded = payload + "=" * (-len(payload) % 4)
    changed = base64.urlsafe_b64decode(padded).replace("王建军".encode(), "冒名顶替".encode())
    assert changed != base64.urlsafe_b64decode(padded)
    altered = base64.urlsafe_b64encode(changed).decode().rstrip("=") + "." + signature
    page = client.get("/checkin/done", params={"t": altered})
    assert page.status_code == 400
    assert "冒名顶替" not in page.text and "签到成功" not in page.text


def test_a_token_signed_with_another_key_shows_nothing(client):
    other = Confirmations("someone-elses-key").link(Confirmation("recorded", "lessons/签到课", "鼓韵堂党支部", "冒名顶替",
                                                                  datetime.now(timezone.utc)))
    page = client.get("/" + other)
    assert page.status_code == 400 and "冒名顶替" not in page.text


def test_an_old_link_has_expired(client):
    old = Confirmations(KEY).link(Confirmation("recorded", "lessons/签到课", "鼓韵堂党支部", "王建军",
                                               datetime.now(timezone.utc) - timedelta(days=8)))
    page = client.get("/" + old)
    assert page.status_code == 410
    assert "<h1>确认链接已过期</h1>" in page.text and "王建军" not in page.text
    recent = Confirmations(KEY).link(Confirmation("recorded", "lessons/签到课", "鼓韵堂党支部", "王建军",
                                                  datetime.now(timezone.utc) - timedelta(days=6)))
    assert client.get("/" + recent).status_code == 200


def test_a_refused_form_post_gets_a_readable_page_in_the_sites_look(client):
    page = post_form(client, {**LESSON, "branch": "不存在党支部"})
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>签到没有成功</h1>" in page.text and "请从列表中选择所在支部" in page.text
    assert "测试云课堂" in page.text and "请返回上一页修改后再提交" in page.text


def test_the_confirmation_page_reads_well_on_a_phone_without_javascript(browser, hub, tmp_path, start_endpoint):
    import httpx

    hub.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true")
    endpoint = start_endpoint(hub.config, tmp_path / "attendance.sqlite3")
    answer = httpx.post(endpoint + "/checkin", data={**LESSON, "name": "名字很长的一位同志" * 4})
    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(endpoint + "/" + answer.headers["location"])
    assert page.locator("h1").inner_text() == "签到成功"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    sizes = page.eval_on_selector_all("main p, main dt, main dd, main a",
                                      "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert sizes and min(sizes) >= 16
    assert "PingFang SC" in page.evaluate("getComputedStyle(document.body).fontFamily")
    assert page.evaluate("getComputedStyle(document.querySelector('.k-header')).backgroundColor") == "rgb(183, 28, 28)"
    assert all(url.startswith(endpoint) for url in requested), requested
    context.close()
