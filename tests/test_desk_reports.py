"""Members' reports and suggestions in the desk over HTTP, on SQLite and PostgreSQL (contract,
sections 5 and 6): the lists, the filter, the answer form, the downloads, the overview's and the
三个一 table's figures, and the audit log."""

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
from kite.attendance.refs import new_ref, show_ref
from kite.desk.exports import REPORT_HEADER, SUGGESTION_HEADER
from kite.desk.scope import Scope
from kite.storage import Submissions
from kite.storage.schema import audit_log, suggestions

desk = pytest.fixture(desk_app_fixture)

BEIJING = ZoneInfo("Asia/Shanghai")
GUYUN, QIXI, PUDONG = "鼓韵堂党支部", "栖息栈党支部", "浦东项目部党支部"
EVERYTHING = Scope("all", (), everything=True)


def beijing(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BEIJING)


def csv_rows(answer) -> list[list[str]]:
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith("\ufeff".encode("utf-8"))
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))


def xlsx_rows(answer) -> list[list]:
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def cards(html: str) -> list[str]:
    """Each listed report or suggestion's text content, in page order."""
    return [" ".join(card.text_content().split()) for card in lxml.html.fromstring(html).xpath("//ol[@class='d-items']/li")]


def audit(desk) -> list[tuple[str, str, str]]:
    with desk.store.reading() as connection:
        return [tuple(row) for row in connection.execute(
            select(audit_log.c.login, audit_log.c.action, audit_log.c.detail).order_by(audit_log.c.id))]


def stored(desk, suggestion_id: int):
    return Submissions(desk.store).suggestion(EVERYTHING, suggestion_id)


@pytest.fixture
def sent(desk):
    """Reports of two quarters in two committees, and suggestions named, anonymous and with a formula."""
    assert desk.client("admin").post("/desk/roster", files={"file": ("名册.csv", (
        "姓名,支部\n王建军,鼓韵堂党支部\n李秀英,鼓韵堂党支部\n陈国华,栖息栈党支部\n周立新,浦东项目部党支部\n").encode(),
        "text/csv")}).status_code == 200
    submissions = Submissions(desk.store)
    submissions.record_report(GUYUN, "王建军", "2025Q3", "三季度参加党课三次，带头落实安全生产。", beijing(2025, 9, 20, 20, 0))
    submissions.record_report(GUYUN, "王 建军", "2025Q4", "四季度在工地宣讲了两次二十大精神。", beijing(2025, 11, 2, 9, 30))
    submissions.record_report(GUYUN, "=HYPERLINK(\"http://x\")", "2025Q4", "一份名字像公式的汇报内容。", beijing(2025, 11, 3, 9, 0))
    submissions.record_report(QIXI, "陈国华", "2025Q4", "栖息栈四季度的汇报内容。", beijing(2025, 12, 1, 8, 0))
    submissions.record_report(PUDONG, "周立新", "2025Q4", "浦东项目部的汇报，不该被别人看到。", beijing(2025, 12, 2, 8, 0))
    ids = {}
    for key, branch, name, contact, text, at in [
        ("named", GUYUN, "李秀英", "13912345678", "希望工地宿舍能装上热水器。", beijing(2025, 10, 5, 12, 0)),
        ("anonymous", GUYUN, None, None, "建议每月组织一次线上党课。", beijing(2025, 10, 6, 12, 0)),
        ("qixi", QIXI, "陈国华", "=1+1", "+希望开通返乡专车。", beijing(2025, 10, 7, 12, 0)),
        ("pudong", PUDONG, "周立新", "浦东的电话 13800000000", "浦东的建议，别人看不到。", beijing(2025, 10, 8, 12, 0)),
    ]:
        ref = submissions.record_suggestion(branch, "民生实事", text, name, contact, at, new_ref).ref
        with desk.store.reading() as connection:
            ids[key] = connection.execute(select(suggestions.c.id).where(suggestions.c.ref == ref)).scalar_one()
    desk.ids = ids
    return desk


# ---- Reports ------------------------------------------------------------------------------------

def test_reports_are_listed_newest_first_within_the_scope_and_filtered_by_quarter(sent):
    guyun = sent.client("guyun")
    answer = guyun.get("/desk/reports")
    assert answer.status_code == 200
    listed = cards(answer.text)
    assert [card.split()[0] for card in listed] == ["=HYPERLINK(\"http://x\")", "王", "王建军"]
    assert "2025年第四季度" in listed[1] and "四季度在工地宣讲了两次二十大精神。" in listed[1]
    assert "浦东" not in answer.text and "栖息栈四季度" not in answer.text
    # The filter offers the quarters that have reports in scope, newest first.
    options = lxml.html.fromstring(answer.text).xpath("//select[@name='quarter']/option/@value")
    assert options == ["", "2025Q4", "2025Q3"]
    third = cards(guyun.get("/desk/reports?quarter=2025Q3").text)
    assert len(third) == 1 and "三季度参加党课三次" in third[0]
    assert cards(guyun.get("/desk/reports?quarter=2024Q1").text) == ["这个季度还没有收到汇报。"]
    # A joint committee sees its two branches; `all` sees everything.
    assert len(cards(sent.client("ningbo").get("/desk/reports").text)) == 5 - 1
    assert len(cards(sent.client("admin").get("/desk/reports").text)) == 5


@pytest.mark.parametrize("quarter", ["2025Q5", "2025", "Q4", "２０２５Q4", "2025Q4'--", "x" * 300])
def test_a_malformed_quarter_is_a_400_that_says_how_to_write_it(sent, quarter):
    client = sent.client("guyun")
    for path in ("/desk/reports", "/desk/reports.csv", "/desk/reports.xlsx"):
        answer = client.get(path, params={"quarter": quarter})
        assert answer.status_code == 400, (path, quarter)
        assert "2026Q4" in answer.text


def test_the_reports_download_has_the_exact_header_and_neutralises_formulas(sent):
    client = sent.client("guyun")
    rows = csv_rows(client.get("/desk/reports.csv"))
    assert tuple(rows[0]) == REPORT_HEADER == ("提交时间", "支部", "姓名", "季度", "内容")
    assert rows[1:] == [
        ["2025-11-03 09:00:00", GUYUN, "'=HYPERLINK(\"http://x\")", "2025Q4", "一份名字像公式的汇报内容。"],
        ["2025-11-02 09:30:00", GUYUN, "王 建军", "2025Q4", "四季度在工地宣讲了两次二十大精神。"],
        ["2025-09-20 20:00:00", GUYUN, "王建军", "2025Q3", "三季度参加党课三次，带头落实安全生产。"],
    ]
    assert [row[3] for row in csv_rows(client.get("/desk/reports.csv?quarter=2025Q3"))[1:]] == ["2025Q3"]
    answer = client.get("/desk/reports.xlsx")
    assert answer.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert [cell.value for cell in sheet[1]] == list(REPORT_HEADER)
    assert sheet["C2"].value == "=HYPERLINK(\"http://x\")" and sheet["C2"].data_type == "s"  # text, never run
    assert sheet.max_row == 4
    assert ("guyun", "export", "每季一汇报 全部季度（CSV）") in audit(sent)
    assert ("guyun", "export", "每季一汇报 全部季度（XLSX）") in audit(sent)


def test_reports_fill_the_tables_quarters_and_points_and_the_overview(sent):
    answer = sent.client("guyun").get("/desk/branches/鼓韵堂党支部?year=2025")
    rows = {row.xpath("string(th)"): [cell.text_content() for cell in row.xpath("td")]
            for row in lxml.html.fromstring(answer.text).xpath("//table[@class='d-table']/tbody/tr")}
    # 王建军: two quarters (one report typed with a space); 李秀英: a named suggestion, no report.
    assert rows["王建军"][12:16] == ["", "", "✓", "✓"] and rows["王建军"][17] == "4"
    assert rows["李秀英"][12:16] == ["", "", "", ""] and rows["李秀英"][17] == "1"
    record = csv_rows(sent.client("guyun").get("/desk/branches/鼓韵堂党支部/record.csv?year=2025"))
    assert record[1][13:17] == ["", "", "✓", "✓"] and record[1][-1] == "4"
    assert "尚未收集" not in sent.client("admin").get("/desk/").text
    # A report that matches nobody on the roster is listed as 未匹配, not dropped.
    unmatched = lxml.html.fromstring(answer.text).xpath("//h2[@id='unmatched-reports']/following-sibling::ul[1]/li")
    assert [" ".join(li.text_content().split()) for li in unmatched] == ["=HYPERLINK(\"http://x\") · 2025Q4"]


def test_the_overview_counts_reports_this_quarter_and_open_suggestions(desk):
    assert desk.client("admin").post("/desk/roster", files={"file": ("名册.csv", (
        "姓名,支部\n王建军,鼓韵堂党支部\n李秀英,鼓韵堂党支部\n陈国华,栖息栈党支部\n").encode(), "text/csv")}).status_code == 200
    submissions = Submissions(desk.store)
    now = datetime.now(BEIJING)
    quarter = f"{now.year}Q{(now.month - 1) // 3 + 1}"
    submissions.record_report(GUYUN, "王建军", quarter, "本季度的汇报，计入总览。", now)
    submissions.record_report(GUYUN, "王建军", quarter, "同一个人本季度第二份汇报。", now)
    submissions.record_report(GUYUN, "李秀英", "2001Q1", "很久以前的汇报，不算本季度。", now)
    for text in ("一条待办的建议内容", "另一条待办的建议", "一条已答复的建议"):
        submissions.record_suggestion(GUYUN, "其他", text, None, None, now, new_ref)
    answered = submissions.suggestions(EVERYTHING)[0]
    assert submissions.answer(EVERYTHING, answered.id, status="answered", reply="已办好", by="admin", at=now)
    page = lxml.html.fromstring(desk.client("guyun").get("/desk/").text)
    figures = {card.xpath("string(h2)"): [dd.text_content() for dd in card.xpath(".//dd")]
               for card in page.xpath("//li[@class='d-card']")}
    assert figures == {GUYUN: ["2 人", "0 人", "1 人", "2 条"]}
    links = page.xpath("//main//a/@href")
    assert "/desk/reports" in links and "/desk/suggestions?status=open" in links and "/desk/suggestions" in links


# ---- Suggestions ----------------------------------------------------------------------------------

def test_suggestions_in_scope_show_name_contact_and_status_and_nothing_else(sent):
    answer = sent.client("guyun").get("/desk/suggestions")
    assert answer.status_code == 200
    listed = cards(answer.text)
    assert len(listed) == 2
    anonymous, named = listed
    assert "建议每月组织一次线上党课。" in anonymous and "未署名" in anonymous and "未留" in anonymous
    assert "李秀英" in named and "13912345678" in named and "已收到" in named
    assert "浦东" not in answer.text and "返乡专车" not in answer.text
    ref = Submissions(sent.store).suggestion(EVERYTHING, sent.ids["named"]).ref
    assert show_ref(ref) in named
    # The joint committee and `all` see their branches' suggestions, and can answer them.
    assert len(cards(sent.client("ningbo").get("/desk/suggestions").text)) == 3
    assert len(cards(sent.client("admin").get("/desk/suggestions").text)) == 4


def test_a_secretary_answers_and_the_member_sees_status_and_reply_but_never_name_or_contact(sent):
    client = sent.client("guyun")
    named = sent.ids["named"]
    answer = client.post(f"/desk/suggestions/{named}", {"status": "in_progress", "reply": "", "shown": "open"})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/desk/suggestions?status=open&saved={named}#s-{named}"
    assert stored(sent, named).status == "in_progress" and stored(sent, named).reply is None
    page = client.get(answer.headers["location"].split("#")[0])
    assert "已保存" in page.text
    reply = "已经联系项目部，\n下月起宿舍装热水器。"
    assert client.post(f"/desk/suggestions/{named}", {"status": "answered", "reply": reply}).status_code == 303
    after = stored(sent, named)
    assert (after.status, after.reply, after.replied_by) == ("answered", reply, "guyun")
    assert after.replied_at is not None
    listed = cards(client.get("/desk/suggestions").text)
    assert "已答复" in listed[1] and "guyun" in listed[1]
    # The member's lookup: status and reply, never the name, the contact or who answered.
    lookup = sent.client().get(f"/suggestion/{show_ref(after.ref)}", headers={"Accept": "application/json"})
    assert lookup.status_code == 200
    assert lookup.json()["status"] == "已答复" and lookup.json()["reply"] == reply
    for secret in ("李秀英", "13912345678", "guyun"):
        assert secret not in lookup.text
        assert secret not in sent.client().get(f"/suggestion/{show_ref(after.ref)}").text
    assert ("guyun", "answer", f"{GUYUN}：建议 {show_ref(after.ref)} 设为“已答复”，答复 {len(reply)} 字") in audit(sent)
    assert not any("李秀英" in detail or "热水器" in detail for _, _, detail in audit(sent))
    # A joint committee answers its branches' too.
    qixi = sent.ids["qixi"]
    assert sent.client("ningbo").post(f"/desk/suggestions/{qixi}", {"status": "answered", "reply": "已转交"}).status_code == 303
    assert stored(sent, qixi).replied_by == "ningbo"


@pytest.mark.parametrize("fields, field_message", [
    ({"status": "done", "reply": "好"}, "请选择状态"),
    ({"reply": "好"}, "请选择状态"),
    ({"status": "answered", "reply": "  "}, "请写上答复"),
    ({"status": "answered"}, "请写上答复"),
    ({"status": "answered", "reply": "答" * 2001}, "答复太长"),
    ({"status": "answered", "reply": "已办\u202e好"}, "控制字符"),
    ({"status": "answered", "reply": "已办\x00好"}, "控制字符"),
])
def test_a_bad_answer_is_a_400_on_the_list_keeping_what_was_typed_and_nothing_changes(sent, fields, field_message):
    client = sent.client("guyun")
    named = sent.ids["named"]
    before = stored(sent, named)
    answer = client.post(f"/desk/suggestions/{named}", fields)
    assert answer.status_code == 400
    page = lxml.html.fromstring(answer.text)
    problem = page.xpath(f"string(//li[@id='s-{named}']//*[@role='alert'])")
    assert field_message in problem and "没有保存" in problem
    if "reply" in fields and "\x00" not in fields["reply"]:
        assert page.xpath(f"string(//textarea[@id='reply-{named}'])") == fields["reply"]
    assert stored(sent, named) == before
    assert not any(action == "answer" for _, action, _ in audit(sent))



def test_a_bad_answer_to_a_suggestion_the_filter_hides_is_said_at_the_top(sent):
    answer = sent.client("guyun").post(f"/desk/suggestions/{sent.ids['named']}",
                                       {"status": "answered", "reply": "", "shown": "in_progress"})
    assert answer.status_code == 400
    page = lxml.html.fromstring(answer.text)
    assert "请写上答复" in page.xpath("string(//main/p[@role='alert'])")
    assert cards(answer.text) == ["没有这个状态的建议。"]


def test_a_suggestion_outside_the_scope_or_not_there_is_404_and_unchanged(sent):
    client = sent.client("guyun")
    for target in (sent.ids["pudong"], sent.ids["qixi"], 999999, "abc", "1.0", "-1", "9" * 30):
        answer = client.post(f"/desk/suggestions/{target}", {"status": "answered", "reply": "越权答复"})
        assert answer.status_code == 404, target
        assert "浦东" not in answer.text and "返乡" not in answer.text
    assert stored(sent, sent.ids["pudong"]).status == "received"
    assert stored(sent, sent.ids["qixi"]).reply is None
    # Out of scope and nonexistent look exactly alike.
    assert client.post(f"/desk/suggestions/{sent.ids['pudong']}", {"status": "answered"}).text == \
        client.post("/desk/suggestions/999999", {"status": "answered"}).text


def test_the_status_filter_and_its_bad_values(sent):
    client = sent.client("admin")
    assert sent.client("admin").post(f"/desk/suggestions/{sent.ids['named']}",
                                     {"status": "answered", "reply": "好的"}).status_code == 303
    assert len(cards(client.get("/desk/suggestions?status=open").text)) == 3
    assert len(cards(client.get("/desk/suggestions?status=answered").text)) == 1
    assert len(cards(client.get("/desk/suggestions?status=received").text)) == 3
    assert cards(client.get("/desk/suggestions?status=in_progress").text) == ["没有这个状态的建议。"]
    for bad in ("closed", "已答复", "open\x00"):
        assert client.get("/desk/suggestions", params={"status": bad}).status_code == 400
        assert client.get("/desk/suggestions.csv", params={"status": bad}).status_code == 400


def test_the_suggestions_download_has_the_exact_header_contact_only_in_scope_and_no_formulas(sent):
    client = sent.client("ningbo")
    sent.client("guyun").post(f"/desk/suggestions/{sent.ids['named']}", {"status": "answered", "reply": "-已经办好"})
    rows = csv_rows(client.get("/desk/suggestions.csv"))
    assert tuple(rows[0]) == SUGGESTION_HEADER == (
        "查询号", "提交时间", "支部", "类别", "内容", "姓名", "联系方式", "状态", "答复", "答复人", "答复时间")
    assert [row[2] for row in rows[1:]] == [QIXI, GUYUN, GUYUN]
    qixi, anonymous, named = rows[1:]
    assert qixi[4] == "'+希望开通返乡专车。" and qixi[6] == "'=1+1" and qixi[7] == "已收到"
    assert anonymous[5:7] == ["", ""]
    assert named[1] == "2025-10-05 12:00:00" and named[5:10] == ["李秀英", "13912345678", "已答复", "'-已经办好", "guyun"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", named[10])
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}", named[0])
    assert not any("浦东" in cell for row in rows for cell in row)
    assert [row[2] for row in csv_rows(client.get("/desk/suggestions.csv?status=open"))[1:]] == [QIXI, GUYUN]
    book = xlsx_rows(client.get("/desk/suggestions.xlsx"))
    assert book[0] == list(SUGGESTION_HEADER) and len(book) == 4
    assert book[1][6] == "=1+1"  # a text cell: shown, never run
    assert ("ningbo", "export", "意见建议 全部（CSV）") in audit(sent)
    assert ("ningbo", "export", "意见建议 待办（CSV）") in audit(sent)
    assert ("ningbo", "export", "意见建议 全部（XLSX）") in audit(sent)


def test_the_pages_and_downloads_need_a_session(sent):
    outsider = sent.client()
    for path in ("/desk/reports", "/desk/reports.csv", "/desk/reports.xlsx", "/desk/suggestions",
                 "/desk/suggestions.csv", "/desk/suggestions.xlsx"):
        answer = outsider.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/desk/login", path
    answer = outsider.http.post(f"/desk/suggestions/{sent.ids['named']}", data={"status": "answered", "reply": "x"})
    assert answer.status_code == 303
    assert stored(sent, sent.ids["named"]).status == "received"


# ---- Bad input, the database away, and the logs ----------------------------------------------------

@pytest.mark.parametrize("path", [
    "/desk/reports?quarter=%FF",
    "/desk/reports?quarter=2026Q4%00",
    "/desk/reports.xlsx?quarter=" + "Q" * 5000,
    "/desk/suggestions?status=%00",
    "/desk/suggestions.xlsx?status=" + "x" * 5000,
    "/desk/suggestions/1",  # GET: the form only posts
    "/desk/suggestions/%00",
])
def test_strange_addresses_are_4xx_never_5xx(sent, path):
    answer = sent.client("admin").get(path)
    assert 400 <= answer.status_code < 500, (path, answer.status_code)


def test_bad_answer_bodies_are_4xx_and_change_nothing(sent):
    client = sent.client("admin")
    named = sent.ids["named"]
    before = stored(sent, named)
    token = client.token()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # Over the desk's 64 KB form limit: refused before it is read in full.
    assert client.post(f"/desk/suggestions/{named}", {"status": "answered", "reply": "答" * 30000}).status_code == 413
    twice = client.http.post(f"/desk/suggestions/{named}", headers=form,
                             content=f"csrf={token}&status=answered&status=received&reply=x".encode())
    assert twice.status_code == 400 and "同一个字段提交了多次" in twice.text
    broken = client.http.post(f"/desk/suggestions/{named}", headers=form, content=f"csrf={token}&reply=%FF%FE".encode())
    assert broken.status_code == 400
    assert client.post(f"/desk/suggestions/{named}", {"status": "answered", "reply": "好", "shown": "evil"}).headers[
        "location"] == f"/desk/suggestions?saved={named}#s-{named}"  # an unknown filter is dropped, not echoed
    assert stored(sent, named).reply == "好" and before.reply is None


def test_the_database_going_away_is_503_and_the_pages_recover(hub, postgres, postgres_url):
    from desk_client import DeskApp, write_hub

    write_hub(hub, "http://127.0.0.1:8001")
    app = DeskApp(hub, postgres_url)
    try:
        Submissions(app.store).record_suggestion(GUYUN, "其他", "数据库停掉前的建议", None, None, beijing(2026, 1, 1), new_ref)
        client = app.client("admin")
        token = client.token()
        postgres.stop()
        try:
            for answer in (client.get("/desk/reports"), client.get("/desk/suggestions"), client.get("/desk/reports.csv"),
                           client.get("/desk/suggestions.xlsx"),
                           client.http.post("/desk/suggestions/1", data={"csrf": token, "status": "answered", "reply": "好"})):
                assert answer.status_code == 503, answer.request.url
                assert answer.headers["retry-after"].isdigit() and "数据库暂时无法使用" in answer.text
        finally:
            postgres.start()
        assert client.post("/desk/suggestions/1", {"status": "answered", "reply": "好"}).status_code == 303
        assert len(cards(client.get("/desk/suggestions").text)) == 1
    finally:
        app.close()


def test_logs_hold_no_names_contacts_texts_or_replies(sent, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    client = sent.client("guyun")
    assert client.get("/desk/suggestions").status_code == 200
    assert client.get("/desk/reports").status_code == 200
    assert client.post(f"/desk/suggestions/{sent.ids['named']}", {"status": "answered", "reply": "私密的答复内容"}).status_code == 303
    assert client.post(f"/desk/suggestions/{sent.ids['named']}", {"status": "answered", "reply": ""}).status_code == 400
    for path in ("/desk/reports.csv", "/desk/reports.xlsx", "/desk/suggestions.csv", "/desk/suggestions.xlsx"):
        assert client.get(path).status_code == 200
    logged = "\n".join(record.getMessage() + repr(record.args) for record in caplog.records)
    assert logged  # something was captured, so the check below checked something
    for secret in ("李秀英", "13912345678", "热水器", "私密的答复内容", "王建军", "安全生产", client.token()):
        assert secret not in logged
