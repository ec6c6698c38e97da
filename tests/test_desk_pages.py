"""The desk's pages and exports over HTTP, on SQLite and PostgreSQL (contract, section 5: roster,
matching, pages and exports)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import lxml.html
import openpyxl
import pytest
from sqlalchemy import select

from desk_client import desk_app_fixture
from kite.desk.exports import CHECKIN_HEADER, RECORD_HEADER
from kite.storage.schema import checkins, members

desk = pytest.fixture(desk_app_fixture)

BEIJING = ZoneInfo("Asia/Shanghai")
GUYUN, QIXI, PUDONG = "鼓韵堂党支部", "栖息栈党支部", "浦东项目部党支部"
ROSTER = "姓名,支部\n王建军,鼓韵堂党支部\n李秀英,鼓韵堂党支部\n张 三,鼓韵堂党支部\n陈国华,栖息栈党支部\n周立新,浦东项目部党支部\n"


def beijing(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BEIJING)


def upload(client, text: str | bytes, filename: str = "名册.csv"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return client.post("/desk/roster", files={"file": (filename, data, "text/csv")})


def table_rows(html: str) -> dict[str, list[str]]:
    """The 三个一 table as a browser shows it: name -> the other cells' text."""
    page = lxml.html.fromstring(html)
    return {row.xpath("string(th)"): [cell.text_content() for cell in row.xpath("td")]
            for row in page.xpath("//table[@class='d-table']/tbody/tr")}


def csv_rows(answer) -> list[list[str]]:
    assert answer.content.startswith("\ufeff".encode("utf-8"))
    text = answer.content.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.fixture
def year_of_records(desk):
    """2025 in 鼓韵堂: lessons, a yearly review, an activity, name variants and an unmatched name."""
    desk.hub.announcement("评议会", "title: 年度民主评议\ndate: 2025-12-01\nstarts: 2025-12-20 19:30\nattendance: true\nreview: true")
    desk.hub.announcement("夜学", "title: 冬夜学习会\ndate: 2025-06-01\nstarts: 2025-06-01 19:30\nattendance: true")
    desk.source.refresh()
    assert upload(desk.client("admin"), ROSTER).status_code == 200
    record = desk.store.record_checkin
    record("lessons/签到课", GUYUN, "王建军", beijing(2025, 3, 3, 20, 0))
    record("lessons/第二课", GUYUN, "王 建军", beijing(2025, 3, 20, 20, 0))  # the same man, typed with a space
    record("lessons/第二课", GUYUN, "王建军", beijing(2025, 3, 21, 20, 0))  # …and again: one session, counted once
    record("announcements/夜学", GUYUN, "李秀英", beijing(2025, 6, 1, 19, 39))  # 准时 (starts + 10 minutes)
    record("announcements/夜学", GUYUN, "张三", beijing(2025, 6, 1, 19, 41))  # 迟到
    record("announcements/评议会", GUYUN, "李秀英", beijing(2025, 12, 20, 19, 25))
    record("lessons/签到课", GUYUN, "王建君", beijing(2025, 1, 31, 23, 59))  # nobody on the roster
    record("lessons/签到课", QIXI, "陈国华", beijing(2025, 4, 1, 9, 0))
    record("lessons/签到课", GUYUN, "王建军", beijing(2026, 1, 1, 0, 0))  # next year
    return desk


def test_the_branch_table_has_a_row_per_member_in_roster_order_and_counts_as_the_contract_says(year_of_records):
    answer = year_of_records.client("guyun").get("/desk/branches/鼓韵堂党支部?year=2025")
    assert answer.status_code == 200
    rows = table_rows(answer.text)
    assert list(rows) == ["王建军", "李秀英", "张 三"]
    # 12 months, 4 quarters (no reports in this test), 评议, 积分.
    wang, li, zhang = rows.values()
    assert wang[:12] == ["缺", "缺", "✓", *["缺"] * 9] and wang[16:] == ["", "2"]
    assert li[5] == "✓" and li[11] == "✓" and li[16] == "✓" and li[17] == "4"  # two activities, one a review
    assert zhang[5] == "✓" and zhang[17] == "1"
    assert wang[12:16] == [""] * 4 and "还没有开始收集" not in answer.text
    # Members behind are named for follow-up, in the roster's order, without a ranking.
    assert "王建军（缺 11 个月）、李秀英（缺 10 个月）、张 三（缺 11 个月）" in answer.text
    # The one record that matches nobody is listed as 未匹配, with the session's title.
    page = lxml.html.fromstring(answer.text)
    (unmatched,) = page.xpath("//ul[@class='d-records']/li")
    assert "王建君" in unmatched.text_content() and "可以签到的党课" in unmatched.text_content()
    assert "未匹配（1 条）" in answer.text


def test_record_exports_have_the_exact_header_and_the_same_cells(year_of_records):
    client = year_of_records.client("ningbo")
    answer = client.get("/desk/branches/鼓韵堂党支部/record.csv?year=2025")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = csv_rows(answer)
    assert ",".join(rows[0]) == "姓名,1月,2月,3月,4月,5月,6月,7月,8月,9月,10月,11月,12月,一季度,二季度,三季度,四季度,评议,积分"
    assert rows[1] == ["王建军", "", "", "✓", *[""] * 9, "", "", "", "", "", "2"]
    assert rows[2] == ["李秀英", *[""] * 5, "✓", *[""] * 5, "✓", "", "", "", "", "✓", "4"]
    assert [row[0] for row in rows[1:]] == ["王建军", "李秀英", "张 三"]

    book = openpyxl.load_workbook(io.BytesIO(client.get("/desk/branches/鼓韵堂党支部/record.xlsx?year=2025").content))
    sheet_rows = [list(row) for row in book.active.iter_rows(values_only=True)]
    assert tuple(sheet_rows[0]) == RECORD_HEADER
    assert [cell or "" for cell in sheet_rows[2][:-1]] == rows[2][:-1] and sheet_rows[2][-1] == 4


def test_checkins_csv_has_the_contracts_columns_status_and_scope(year_of_records):
    rows = csv_rows(year_of_records.client("guyun").get("/desk/checkins.csv"))
    assert tuple(rows[0]) == CHECKIN_HEADER
    by_name = {(row[0], row[2]): row for row in rows[1:]}
    assert by_name[("announcements/夜学", "李秀英")] == ["announcements/夜学", GUYUN, "李秀英", "2025-06-01 19:39:00", "准时"]
    assert by_name[("announcements/夜学", "张三")][4] == "迟到"
    assert by_name[("announcements/评议会", "李秀英")][4] == "准时"
    assert by_name[("lessons/签到课", "王建军")][4] == ""
    assert {row[1] for row in rows[1:]} == {GUYUN}  # 栖息栈's check-in is outside this account's scope
    one = csv_rows(year_of_records.client("guyun").get("/desk/checkins.csv", params={"session": "announcements/夜学"}))
    assert [row[2] for row in one[1:]] == ["李秀英", "张三"]
    committee = csv_rows(year_of_records.client("ningbo").get("/desk/checkins.csv"))
    assert {row[1] for row in committee[1:]} == {GUYUN, QIXI}


def test_exported_names_that_look_like_formulas_are_neutralised(desk):
    desk.store.record_checkin("lessons/签到课", GUYUN, '=HYPERLINK("http://x","点我")')
    rows = csv_rows(desk.client("guyun").get("/desk/checkins.csv"))
    assert rows[1][2] == '\'=HYPERLINK("http://x","点我")'


def test_a_roster_with_problems_is_refused_whole_with_every_problem_listed(desk):
    client = desk.client("admin")
    answer = upload(client, "姓名,支部\n王建军,鼓韵堂党支部\n,鼓韵堂党支部\n李秀英,不存在的支部\n王 建军,鼓韵堂党支部\n")
    assert answer.status_code == 400
    text = lxml.html.fromstring(answer.text).text_content()
    assert "名册.csv:3: 姓名: 不能为空" in text
    assert "名册.csv:4: 支部: 没有这个支部" in text
    assert "名册.csv:5: 姓名: 与第 2 行重名" in text
    with desk.store.reading() as connection:
        assert connection.execute(select(members)).first() is None


def test_a_roster_branch_outside_the_scope_is_a_problem(desk):
    answer = upload(desk.client("guyun"), "姓名,支部\n王建军,鼓韵堂党支部\n陈国华,栖息栈党支部\n")
    assert answer.status_code == 400
    assert "名册.csv:3: 支部: “栖息栈党支部”不在你的管理范围内" in answer.text
    with desk.store.reading() as connection:
        assert connection.execute(select(members)).first() is None


def test_a_new_roster_replaces_its_branches_and_keeps_those_who_left_as_departed(year_of_records):
    desk = year_of_records
    client = desk.client("ningbo")
    answer = upload(client, "姓名,支部\n李秀英,鼓韵堂党支部\n孙 红,鼓韵堂党支部\n")
    assert answer.status_code == 200
    assert "鼓韵堂党支部：2 人（新增 1，离开名册 2）" in answer.text
    rows = table_rows(client.get("/desk/branches/鼓韵堂党支部?year=2025").text)
    assert list(rows) == ["李秀英", "孙 红"]
    assert list(table_rows(client.get("/desk/branches/栖息栈党支部?year=2025").text)) == ["陈国华"]  # untouched
    page = client.get("/desk/branches/鼓韵堂党支部?year=2025").text
    assert "未匹配（1 条）" in page  # 王建军's records stay his: departed, not unmatched
    with desk.store.reading() as connection:
        assert connection.execute(select(members.c.name).where(members.c.departed_at.is_not(None))
                                  .order_by(members.c.name)).scalars().all() == ["张 三", "王建军"]
        assert connection.execute(select(checkins).where(checkins.c.name == "王建军")).first() is not None
    # Back on a later roster: the same member again, with the past records.
    upload(client, "姓名,支部\n王建军,鼓韵堂党支部\n李秀英,鼓韵堂党支部\n")
    rows = table_rows(client.get("/desk/branches/鼓韵堂党支部?year=2025").text)
    assert list(rows) == ["王建军", "李秀英"] and rows["王建军"][2] == "✓"


def test_xlsx_and_gb18030_rosters_are_read(desk):
    book = openpyxl.Workbook()
    book.active.append(["序号", "姓名", "支部", "电话"])
    book.active.append([1, "王建军", GUYUN, "13800000000"])
    data = io.BytesIO()
    book.save(data)
    client = desk.client("guyun")
    assert client.post("/desk/roster", files={"file": ("名册.xlsx", data.getvalue(),
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}).status_code == 200
    assert upload(client, "姓名,支部\r\n李秀英,鼓韵堂党支部\r\n".encode("gb18030")).status_code == 200
    assert list(table_rows(client.get("/desk/branches/鼓韵堂党支部").text)) == ["李秀英"]


def test_unmatched_records_ticked_together_can_be_attached_to_a_member(year_of_records):
    desk = year_of_records
    desk.store.record_checkin("lessons/第三课", GUYUN, "王建君", beijing(2025, 7, 7, 20, 0))
    client = desk.client("guyun")
    page = lxml.html.fromstring(client.get("/desk/branches/鼓韵堂党支部?year=2025").text)
    (form,) = page.xpath("//form[contains(@action, '/attach')]")
    ticked = form.xpath(".//input[@type='checkbox' and @name='record']/@value")
    assert len(ticked) == 2
    options = {option.text: option.get("value") for option in form.xpath(".//select[@name='member']/option")}
    assert list(options) == ["王建军", "李秀英", "张 三"]
    answer = client.http.post(form.get("action"), data={"csrf": client.token(), "record": ticked,
                                                        "member": options["王建军"], "year": "2025"})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/desk/branches/%E9%BC%93")
    rows = table_rows(client.get("/desk/branches/鼓韵堂党支部?year=2025").text)
    # January and July are his now; 签到课 (also in March) counts once; 第三课 is new: 3 sessions.
    assert rows["王建军"][0] == "✓" and rows["王建军"][6] == "✓" and rows["王建军"][17] == "3"
    assert "未匹配（0 条）" in client.get("/desk/branches/鼓韵堂党支部?year=2025").text


def test_attaching_nothing_is_a_clear_400(year_of_records):
    answer = year_of_records.client("guyun").post("/desk/branches/鼓韵堂党支部/attach", {"member": "1", "year": "2025"})
    assert answer.status_code == 400 and "请先勾选" in answer.text


def test_attaching_on_another_branchs_page_is_404_even_with_nothing_ticked(year_of_records):
    # As for its page: a 400 for an empty form would be a different answer from a branch of one's own.
    pudong = year_of_records.client("pudong")
    for fields in ({"member": "1", "year": "2025"}, {"record": "x", "member": "y"}, {}):
        assert pudong.post("/desk/branches/鼓韵堂党支部/attach", fields).status_code == 404, fields
        assert pudong.post("/desk/branches/不存在党支部/attach", fields).status_code == 404, fields
        assert pudong.post("/desk/branches/浦东项目部党支部/attach", fields).status_code == 400, fields


def test_attaching_across_branches_or_scopes_is_404_and_changes_nothing(year_of_records):
    desk = year_of_records
    with desk.store.reading() as connection:
        unmatched = connection.execute(select(checkins.c.id).where(checkins.c.name == "王建君")).scalar_one()
        qixi_checkin = connection.execute(select(checkins.c.id).where(checkins.c.branch == QIXI)).scalar_one()
        ids = dict(connection.execute(select(members.c.name, members.c.id)).all())
    pudong = desk.client("pudong")
    assert pudong.post("/desk/branches/鼓韵堂党支部/attach", {"record": unmatched, "member": ids["王建军"]}).status_code == 404
    assert pudong.post("/desk/branches/浦东项目部党支部/attach",
                       {"record": unmatched, "member": ids["周立新"]}).status_code == 404
    ningbo = desk.client("ningbo")
    # A check-in of 鼓韵堂 to a member of 栖息栈: both in scope, but not the same branch.
    assert ningbo.post("/desk/branches/鼓韵堂党支部/attach",
                       {"record": unmatched, "member": ids["陈国华"]}).status_code == 404
    assert ningbo.post("/desk/branches/栖息栈党支部/attach", {"record": qixi_checkin, "member": "99999"}).status_code == 404
    # One check-in outside the member's branch spoils the lot: nothing is attached.
    assert ningbo.post("/desk/branches/栖息栈党支部/attach",
                       {"record": [qixi_checkin, unmatched], "member": ids["陈国华"]}).status_code == 404
    assert "未匹配（1 条）" in ningbo.get("/desk/branches/鼓韵堂党支部?year=2025").text


def test_the_overview_shows_each_branch_in_scope_with_this_months_figures(desk):
    upload(desk.client("admin"), ROSTER)
    desk.store.record_checkin("lessons/签到课", GUYUN, "李秀英")
    desk.store.record_checkin("lessons/第二课", GUYUN, "李 秀英")
    desk.store.record_checkin("lessons/签到课", QIXI, "无名氏")
    page = lxml.html.fromstring(desk.client("ningbo").get("/desk/").text)
    cards = {card.xpath("string(h2)"): [value.text_content() for value in card.xpath(".//dd")]
             for card in page.xpath("//li[@class='d-card']")}
    assert list(cards) == [GUYUN, QIXI]
    assert cards[GUYUN] == ["3 人", "1 人", "0 人", "0 条"]
    assert cards[QIXI] == ["1 人", "0 人", "0 人", "0 条"]
    everything = lxml.html.fromstring(desk.client("admin").get("/desk/").text)
    assert [h.text_content() for h in everything.xpath("//li[@class='d-card']/h2")] == [GUYUN, QIXI, PUDONG]


def test_the_roster_page_lists_only_members_in_scope(desk):
    upload(desk.client("admin"), ROSTER)
    page = desk.client("guyun").get("/desk/roster").text
    assert "王建军" in page and "陈国华" not in page and "周立新" not in page


def test_the_audit_log_shows_logins_failures_exports_imports_and_account_changes(year_of_records):
    desk = year_of_records
    desk.client().login("guyun", "wrong-password")
    guyun = desk.client("guyun")
    guyun.get("/desk/branches/鼓韵堂党支部/record.csv?year=2025")
    assert guyun.get("/desk/audit").status_code == 404
    page = lxml.html.fromstring(desk.client("admin").get("/desk/audit").text)
    entries = [item.text_content() for item in page.xpath("//ol[@class='d-log']/li")]
    def has(*words):
        return any(all(word in entry for word in words) for entry in entries)
    assert has("guyun", "登录失败") and has("guyun", "登录")
    assert has("guyun", "导出", "鼓韵堂党支部 2025 年三个一表")
    assert has("admin", "导入名册", "名册.csv")
    assert has("命令行", "新建账号", "账号 pudong")
    assert all(re.match(r"\d{4}年\d{1,2}月\d{1,2}日", entry) for entry in entries)


def test_every_desk_page_is_kept_from_search_engines_never_cached_and_loads_nothing_from_elsewhere(year_of_records):
    client = year_of_records.client("admin")
    for path in ("/desk/login", "/desk/", "/desk/branches/鼓韵堂党支部?year=2025", "/desk/roster", "/desk/audit"):
        answer = client.get(path) if path != "/desk/login" else year_of_records.client().get(path)
        assert answer.status_code == 200, path
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        page = lxml.html.fromstring(answer.text)
        # Crawlers never get past the login; the login page itself is noindex for the search engines
        # members' region uses (see desk/base.html), and nofollow for every robot.
        assert page.xpath("//meta[@name='robots']/@content") == ["nofollow, noarchive"]
        assert page.xpath("//meta[@name='baiduspider']/@content") == ["noindex, nofollow"]
        assert not page.xpath("//script | //iframe | //img | //link[@rel='stylesheet']"), path
        addresses = page.xpath("//@href | //@src | //@action")
        assert all(not a.startswith(("http:", "https:", "//")) or a.startswith("https://example.org/hub/")
                   for a in addresses), addresses


def test_a_year_that_is_not_a_year_is_a_clear_400(desk):
    client = desk.client("guyun")
    for year in ("abc", "99999999999999999999", "1900", "２０２５"):
        answer = client.get("/desk/branches/鼓韵堂党支部", params={"year": year})
        assert answer.status_code == 400 and "年份" in answer.text


def test_another_branchs_page_is_404_whatever_its_year_says(desk):
    # A 400 for a bad year on a page outside the scope would tell the branch exists: scope comes first.
    client = desk.client("guyun")
    for year in ("abc", "1999", "2026"):
        for suffix in ("", "/record.csv", "/record.xlsx"):
            answer = client.get(f"/desk/branches/浦东项目部党支部{suffix}", params={"year": year})
            assert answer.status_code == 404, (year, suffix, answer.status_code)
            assert client.get(f"/desk/branches/不存在党支部{suffix}", params={"year": year}).status_code == 404


def test_a_head_request_for_a_download_is_not_recorded_as_an_export(year_of_records):
    # Download managers ask HEAD first; nothing is sent, so the audit log must not say a file left.
    desk = year_of_records
    guyun = desk.client("guyun")
    heads = ("/desk/branches/鼓韵堂党支部/record.csv?year=2025", "/desk/branches/鼓韵堂党支部/record.xlsx?year=2025",
             "/desk/checkins.csv", "/desk/reports.csv", "/desk/reports.xlsx", "/desk/suggestions.csv",
             "/desk/suggestions.xlsx")
    for path in heads:
        answer = guyun.http.head(path)
        assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"], path
    def exports():
        page = lxml.html.fromstring(desk.client("admin").get("/desk/audit").text)
        return [item.text_content() for item in page.xpath("//ol[@class='d-log']/li") if "导出" in item.text_content()]
    assert exports() == []
    guyun.get("/desk/checkins.csv")
    assert len(exports()) == 1 and "签到记录 全部场次" in exports()[0]
