"""Roster files nobody has seen yet, as Excel, WPS and Notepad on Chinese Windows really save them.

The reader is given the bytes a secretary uploads (or `roster import` reads): every encoding
Excel offers, byte-order marks where a spreadsheet hides them, headers typed by hand, names that
are the same person written twice, and ten thousand rows.  ROW numbers are checked against what the
spreadsheet shows; `tests/test_hostile_desk.py` sends some of these over HTTP to a real `attend`.
"""

from __future__ import annotations

import codecs
import io
import random

import openpyxl
import pytest

from kite.config import SiteConfig
from kite.desk.roster_file import RosterFile, read_roster
from kite.desk.scope import resolve_scope
from kite.errors import ContentErrors

GUYUN, QIXI, PUDONG = "鼓韵堂党支部", "栖息栈党支部", "浦东项目部党支部"
CONFIG = SiteConfig.model_validate({
    "site_name": "测试",
    "site_url": "https://example.org/",
    "branches": [{"name": "驻宁流动党员联合党委", "branches": [GUYUN, QIXI]},
                 {"name": "驻沪流动党员联合党委", "branches": [PUDONG]}],
})
ALL = resolve_scope("all", CONFIG)
GB18030_BOM = "\ufeff".encode("gb18030")  # 84 31 95 33
ROSTER = "姓名,支部\n张三,鼓韵堂党支部\n李四,栖息栈党支部\n"
EXPECTED = RosterFile({GUYUN: ("张三",), QIXI: ("李四",)})


def read(data: bytes, filename: str = "名册.csv") -> RosterFile:
    return read_roster(data, filename, CONFIG, ALL)


def problems(data: bytes, filename: str = "名册.csv") -> list[str]:
    with pytest.raises(ContentErrors) as caught:
        read(data, filename)
    return [str(problem) for problem in caught.value.problems]


def workbook(cells: dict[str, str]) -> bytes:
    book = openpyxl.Workbook()
    for where, value in cells.items():
        book.active[where] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- encodings ------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    ROSTER.encode("gb18030"),
    GB18030_BOM + ROSTER.encode("gb18030"),  # Notepad's "ANSI" never writes it; some converters do
    codecs.BOM_UTF8 + ROSTER.encode("utf-8"),
    ROSTER.encode("utf-8"),
], ids=["gb18030", "gb18030-bom", "utf8-bom", "utf8"])
def test_every_encoding_with_and_without_its_byte_order_mark(data):
    assert read(data) == EXPECTED


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_excels_unicode_text_is_utf16_with_tabs(encoding):
    text = ROSTER.replace(",", "\t").replace("\n", "\r\n")
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    assert read(bom + text.encode(encoding), "名册.txt") == EXPECTED


def test_utf16_with_a_mark_but_broken_content_says_so():
    data = codecs.BOM_UTF16_LE + "姓名\t支部\r\n".encode("utf-16-le") + b"\x00\xd8"  # a lone surrogate at the end
    (problem,) = problems(data, "名册.txt")
    assert problem.startswith("名册.txt:1: 文件: 文件开头标明是 UTF-16")


def test_a_byte_order_mark_inside_the_first_header_cell_of_a_workbook():
    # Pasted from a UTF-8 file into Excel, the mark stays in A1, invisible.
    data = workbook({"A1": "\ufeff姓名", "B1": "支部", "A2": "张三", "B2": GUYUN})
    assert read(data, "名册.xlsx") == RosterFile({GUYUN: ("张三",)})


def test_a_byte_order_mark_twice_at_the_start_of_a_csv():
    assert read(("\ufeff" + ROSTER).encode("utf-8-sig")) == EXPECTED


# -- headers --------------------------------------------------------------------------------

@pytest.mark.parametrize("header", [" 姓名 , 支部 ", "姓　名,支　部", "\t姓名\t,支部", "姓 名,\u3000支部\u3000"])
def test_headers_with_spaces_typed_to_align_them(header):
    assert read(f"{header}\n张三,{GUYUN}\n".encode()) == RosterFile({GUYUN: ("张三",)})


def test_the_name_column_twice_is_one_problem_on_the_header_row():
    assert problems(f"序号,姓名,支部,姓 名\n1,张三,{GUYUN},张三\n".encode()) == [
        "名册.csv:1: 姓名: 表头里有 2 个“姓名”列，只能有一个"]


# -- rows -----------------------------------------------------------------------------------

def test_empty_trailing_rows_of_any_kind_are_no_members():
    data = (ROSTER + ",\n,,,\n\n \u3000, \n\t,\n" + ",\n" * 50).encode()
    assert read(data) == EXPECTED


@pytest.mark.parametrize("blank", [" ", "\u3000\u3000", "\u00a0", " \t "])
def test_a_name_that_is_only_spaces_is_an_empty_name(blank):
    assert problems(f"姓名,支部\n张三,{GUYUN}\n{blank},{GUYUN}\n".encode()) == ["名册.csv:3: 姓名: 不能为空"]


def test_names_equal_after_nfkc_and_whitespace_removal_are_twice_in_one_branch():
    rows = ["张三", "张 三", "张\u3000三", "Ｌｉ Ｍｉｎｇ", "LiMing", "Li\u00a0Ming"]
    data = ("姓名,支部\n" + "".join(f"{name},{GUYUN}\n" for name in rows) + f"张三,{QIXI}\n").encode()
    found = problems(data)
    # Row 2 is 张三 and row 5 is Ｌｉ Ｍｉｎｇ, the first of each; 张三 in another branch is someone else.
    assert found == [f"名册.csv:{row}: 姓名: 与第 {first} 行重名：同一支部里姓名不能重复（空格、全角半角不算区别）；"
                     "重名的两人请加以区分" for row, first in ((3, 2), (4, 2), (6, 5), (7, 5))]


def test_row_numbers_are_the_spreadsheets_with_a_title_row_gaps_and_a_quoted_line_break():
    data = ('2026年名册,,\n姓名,支部,备注\n张三,鼓韵堂党支部,"第一行\n第二行"\n\n\n'
            "李四,没有这个支部,\n,鼓韵堂党支部,\n").encode("gb18030")
    # The quoted cell spans two lines but is one row (3); two blank rows follow (4, 5).
    found = problems(data)
    assert [line.split(" ", 1)[0] for line in found] == ["名册.csv:6:", "名册.csv:7:"]
    assert found[0].startswith("名册.csv:6: 支部: 没有这个支部：“没有这个支部”")
    assert found[1] == "名册.csv:7: 姓名: 不能为空"


def test_workbook_rows_keep_their_numbers_below_empty_rows():
    data = workbook({"A2": "姓名", "B2": "支部", "A4": "张三", "B4": GUYUN, "A9": "李四", "B9": "鼓韵堂", "B12": GUYUN})
    assert [line.split(": ", 2)[:2] for line in problems(data, "名册.xlsx")] == [
        ["名册.xlsx:9", "支部"], ["名册.xlsx:12", "姓名"]]


def test_ten_thousand_members_in_every_branch_are_read_in_order():
    rng = random.Random(16)
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "建国华明军伟芳娟勇杰涛强磊洋艳静敏丽"
    names = set()
    while len(names) < 10_000:
        names.add(rng.choice(surnames) + "".join(rng.choice(given) for _ in range(rng.randint(1, 3))) + str(rng.randint(0, 99)))
    rows = [(name, (GUYUN, QIXI, PUDONG)[n % 3]) for n, name in enumerate(sorted(names))]
    data = ("姓名,支部\n" + "".join(f"{name},{branch}\n" for name, branch in rows)).encode("gb18030")
    roster = read(data)
    assert roster.count == 10_000
    assert roster.members[PUDONG] == tuple(name for name, branch in rows if branch == PUDONG)
    # One name twice near the end is found, with both spreadsheet rows.
    doubled = data + f"{rows[0][0]},{GUYUN}\n".encode("gb18030")
    assert problems(doubled) == [f"名册.csv:10002: 姓名: 与第 2 行重名：同一支部里姓名不能重复（空格、全角半角不算区别）；"
                                 "重名的两人请加以区分"]
