"""Downloads secretaries open in Excel or WPS: exact headers, ✓ cells, integer 积分, no formulas."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from kite.desk.exports import checkins_csv, record_csv, record_xlsx
from kite.desk.records import ACTIVITY, LESSON, REVIEW, BranchTable, CheckinRecord, MemberRow
from kite.spreadsheet import safe_cell

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = "姓名,1月,2月,3月,4月,5月,6月,7月,8月,9月,10月,11月,12月,一季度,二季度,三季度,四季度,评议,积分"
TABLE = BranchTable("鼓韵堂党支部", 2026, (
    MemberRow("张三", tuple(m in (1, 3) for m in range(1, 13)), (True, False, False, False), True, 12),
    MemberRow('=HYPERLINK("http://evil.example/","点我")', (False,) * 12, (False,) * 4, False, 0),
    MemberRow("李四", (False,) * 12, (False, False, False, True), False, 2),
))


def test_record_csv_is_utf8_with_bom_crlf_and_the_exact_header():
    data = record_csv(TABLE)
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").split("\r\n") == [
        HEADER,
        "张三,✓,,✓,,,,,,,,,,✓,,,,✓,12",
        "\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"点我\"\")\",,,,,,,,,,,,,,,,,,0",
        "李四,,,,,,,,,,,,,,,,✓,,2",
        "",
    ]


def test_record_xlsx_has_the_header_ticks_and_integer_points():
    sheet = openpyxl.load_workbook(io.BytesIO(record_xlsx(TABLE))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert sheet.title == "鼓韵堂党支部"
    assert rows[0] == HEADER.split(",")
    assert rows[1] == ["张三", "✓", None, "✓", *[None] * 9, "✓", None, None, None, "✓", 12]
    assert rows[3] == ["李四", *[None] * 15, "✓", None, 2]
    points = sheet.cell(2, 19)
    assert points.data_type == "n" and type(points.value) is int


def test_record_xlsx_writes_a_formula_looking_name_as_text():
    data = record_xlsx(TABLE)
    cell = openpyxl.load_workbook(io.BytesIO(data)).active.cell(3, 1)
    assert cell.value == '=HYPERLINK("http://evil.example/","点我")'
    assert cell.data_type == "s"
    assert cell.quotePrefix
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


def test_a_sheet_title_drops_what_excel_forbids():
    table = BranchTable("驻宁[联合]党委/一支部:测试*支部?" + "长" * 30, 2026, ())
    sheet = openpyxl.load_workbook(io.BytesIO(record_xlsx(table))).active
    assert sheet.title == ("驻宁联合党委一支部测试支部" + "长" * 30)[:31]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [HEADER.split(",")]


def test_checkins_csv_has_local_times_and_on_time_or_late_for_activities():
    starts = {"announcements/主题党日": datetime(2026, 3, 1, 19, 30, tzinfo=SHANGHAI),
              "announcements/年度评议": datetime(2026, 12, 20, 9, 0, tzinfo=SHANGHAI)}
    records = [
        CheckinRecord("lessons/抓牢引线", "鼓韵堂党支部", "张三", datetime(2026, 3, 1, 3, 0, tzinfo=timezone.utc), LESSON),
        CheckinRecord("announcements/主题党日", "鼓韵堂党支部", "李四",
                      datetime(2026, 3, 1, 11, 40, tzinfo=timezone.utc), ACTIVITY),  # 19:40, the last on-time minute
        CheckinRecord("announcements/主题党日", "栖息栈党支部", "@王五",
                      datetime(2026, 3, 1, 11, 40, 1, tzinfo=timezone.utc), ACTIVITY),
        CheckinRecord("announcements/年度评议", "鼓韵堂党支部", "张三",
                      datetime(2026, 12, 20, 0, 5, tzinfo=timezone.utc), REVIEW),
        CheckinRecord("announcements/已删除", "鼓韵堂党支部", "张三", datetime(2026, 4, 1, tzinfo=timezone.utc), ACTIVITY),
    ]
    data = checkins_csv(records, starts, SHANGHAI, timedelta(minutes=10))
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").split("\r\n") == [
        "场次,支部,姓名,时间,状态",
        "lessons/抓牢引线,鼓韵堂党支部,张三,2026-03-01 11:00:00,",
        "announcements/主题党日,鼓韵堂党支部,李四,2026-03-01 19:40:00,准时",
        "announcements/主题党日,栖息栈党支部,'@王五,2026-03-01 19:40:01,迟到",
        "announcements/年度评议,鼓韵堂党支部,张三,2026-12-20 08:05:00,准时",
        "announcements/已删除,鼓韵堂党支部,张三,2026-04-01 08:00:00,",
        "",
    ]


@pytest.mark.parametrize("value, shown", [
    ("=1+1", "'=1+1"), ("+86 138", "'+86 138"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("张三", "张三"), ("张=三", "张=三"), ("", ""),
])
def test_safe_cell_neutralises_what_spreadsheets_run(value, shown):
    assert safe_cell(value) == shown


def test_a_control_character_openpyxl_refuses_is_dropped_not_raised():
    # Check-ins and rosters refuse such names, but an export must never fail on one.
    table = BranchTable("支部", 2026, (MemberRow("张\x01三", (False,) * 12, (False,) * 4, False, 0),))
    sheet = openpyxl.load_workbook(io.BytesIO(record_xlsx(table))).active
    assert sheet.cell(2, 1).value == "张三"
