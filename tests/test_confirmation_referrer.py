"""The confirmation pages' addresses carry the member's name (the signed token in ?t=): following
their links back to the site, a phone with JavaScript off must not send that address along as
Referer, where the site's web server would write it into its access log.

Deployed as docs/deployment.md says, the endpoint lives on the site's own host (under /checkin/),
where a browser sends the whole address by default; here the site is served from the endpoint's
origin (under /hub/, by the browser's request routing) to be the same.  Old WeChat kernels
(before Chromium 85) send it to other hosts as well."""

from __future__ import annotations

import base64
import threading
from urllib.parse import quote, unquote, urlsplit

import pytest

from helpers import CONFIG, PHONE, free_port, wait_for
from kite.build import build

NAME, BRANCH = "欧阳春华", "栖息栈党支部"


@pytest.fixture
def endpoint(hub, tmp_path):
    from kite.attendance.server import make_server

    hub.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    hub.write("site_config.yml", CONFIG.replace("https://example.org/checkin", endpoint)
              .replace("https://example.org/hub/", endpoint + "/hub/"))
    build(hub.config, tmp_path / "site")
    server, _, store = make_server(hub.config, tmp_path / "attendance.sqlite3", "127.0.0.1", port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="the endpoint to start")
    yield endpoint
    server.should_exit = True
    thread.join(5)
    store.close()


@pytest.fixture
def no_script(browser, endpoint, tmp_path):
    """A phone with JavaScript off that finds the built site at ENDPOINT/hub/."""
    folder = tmp_path / "site"

    def from_folder(route):
        path = folder / unquote(urlsplit(route.request.url).path).removeprefix("/hub/")
        route.fulfill(path=path / "index.html" if path.is_dir() else path)

    context = browser.new_context(java_script_enabled=False, **PHONE)
    context.route(endpoint + "/hub/**", from_folder)
    yield context.new_page()
    context.close()


def follow_back(page, link: str) -> str:
    """Click ``link`` on the confirmation page; the Referer the site was sent ('' for none)."""
    assert "?t=" in page.url and NAME in page.content()
    with page.expect_request(lambda request: request.is_navigation_request()) as going:
        page.get_by_role("link", name=link).click()
    return going.value.all_headers().get("referer", "")


def assert_nothing_personal(referer: str) -> None:
    token = referer.partition("?t=")[2].split(".")[0]
    assert NAME not in base64.urlsafe_b64decode(token + "==").decode("utf-8", "replace")
    assert "done" not in referer


def test_a_check_in_confirmation_does_not_send_its_address_to_the_site(no_script, endpoint):
    no_script.goto(endpoint + "/hub/lessons/" + quote("签到课") + "/")
    no_script.fill("#checkin-name", NAME)
    no_script.select_option("#checkin-branch", BRANCH)
    no_script.click("form[data-kite-checkin] button[type=submit]")
    no_script.wait_for_url("**/checkin/done?t=*")
    assert_nothing_personal(follow_back(no_script, "返回党课页面"))


def test_a_report_confirmation_does_not_send_its_address_to_the_site(no_script, endpoint):
    no_script.goto(endpoint + "/hub/report/")
    no_script.fill("#report-name", NAME)
    no_script.select_option("#report-branch", BRANCH)
    no_script.fill("#report-text", "这一季在工地参加了三次党课，带头落实安全生产。")
    no_script.click("form[data-kite-submit] button[type=submit]")
    no_script.wait_for_url("**/report/done?t=*")
    assert_nothing_personal(follow_back(no_script, "返回每季一汇报"))
