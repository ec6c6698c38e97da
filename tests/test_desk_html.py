"""Every kind of desk page is valid HTML, by the same Nu Html Checker the site's pages pass."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from desk_client import desk_app_fixture
from test_html_valid import answer_errors

desk = pytest.fixture(desk_app_fixture)


def test_every_kind_of_desk_page_is_valid_html(desk, tmp_path):
    admin = desk.client("admin")
    roster = "姓名,支部\n王建军,鼓韵堂党支部\n李秀英,鼓韵堂党支部\n".encode()
    done = admin.post("/desk/roster", files={"file": ("名册.csv", roster, "text/csv")})
    refused = admin.post("/desk/roster", files={"file": ("名册.csv", "姓名,支部\n,鼓韵堂党支部\n".encode(), "text/csv")})
    desk.store.record_checkin("lessons/签到课", "鼓韵堂党支部", "王建军", datetime(2026, 3, 3, 20, tzinfo=ZoneInfo("Asia/Shanghai")))
    desk.store.record_checkin("lessons/签到课", "鼓韵堂党支部", "王建君", datetime(2026, 3, 4, 20, tzinfo=ZoneInfo("Asia/Shanghai")))
    pages = {
        "login": desk.client().get("/desk/login"),
        "login-failed": desk.client().login("admin", "wrong-password"),
        "overview": admin.get("/desk/"),
        "branch": admin.get("/desk/branches/鼓韵堂党支部?year=2026"),
        "branch-empty": admin.get("/desk/branches/浦东项目部党支部"),
        "roster": admin.get("/desk/roster"),
        "roster-imported": done,
        "roster-refused": refused,
        "audit": admin.get("/desk/audit"),
        "not-found": admin.get("/desk/branches/没有这个支部"),
        "refused": admin.http.post("/desk/logout", data={"csrf": "wrong"}),
    }
    assert "王建君" in pages["branch"].text and "不能为空" in pages["roster-refused"].text  # the pages show what they should
    assert answer_errors(pages, tmp_path) == []
