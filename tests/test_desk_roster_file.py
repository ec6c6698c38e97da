"""Roster files as secretaries save them: CSV in three encodings, XLSX, and everything that goes wrong."""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from kite.config import SiteConfig
from kite.desk.roster_file import MAX_FILE_BYTES, MAX_MEMBER_ROWS, RosterFile, read_roster, read_roster_path
from kite.desk.scope import resolve_scope
from kite.errors import ContentErrors

CONFIG = SiteConfig.model_validate({
    "site_name": "测试",
    "site_url": "https://example.org/",
    "branches": [
        {"name": "驻宁流动党员联合党委", "branches": ["鼓韵堂党支部", "栖息栈党支部"]},
        {"name": "驻沪流动党员联合党委", "branches": ["浦东项目部党支部"]},
    ],
})
ALL = resolve_scope("all", CONFIG)
NANJING = resolve_scope("驻宁流动党员联合党委", CONFIG)

ROSTER = "序号,姓名,支部,电话\n1,张三,鼓韵堂党支部,138\n2,李四,栖息栈党支部,\n3,王五,鼓韵堂党支部,139\n"
EXPECTED = {"鼓韵堂党支部": ("张三", "王五"), "栖息栈党支部": ("李四",)}


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def problems(path: Path, scope=ALL) -> list[str]:
    with pytest.raises(ContentErrors) as caught:
        read_roster_path(path, CONFIG, scope, shown=path.name)
    return [str(problem) for problem in caught.value.problems]


def xlsx(tmp_path: Path, rows: list[list], name: str = "名册.xlsx", merge: str | None = None) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    path = tmp_path / name
    book.save(path)
    return path


# -- valid files ----------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding_excel_saves(tmp_path, encoding):
    path = write(tmp_path, "名册.csv", ROSTER.replace("\n", "\r\n").encode(encoding))
    roster = read_roster_path(path, CONFIG, ALL)
    assert roster == RosterFile(EXPECTED)
    assert roster.count == 3


def test_gb18030_with_characters_outside_gbk(tmp_path):
    # 𠮷 (U+20BB7) is four bytes in GB18030; GBK could not have saved it.
    path = write(tmp_path, "名册.csv", "姓名,支部\n𠮷祥,鼓韵堂党支部\n".encode("gb18030"))
    assert read_roster_path(path, CONFIG, ALL).members == {"鼓韵堂党支部": ("𠮷祥",)}


@pytest.mark.parametrize("delimiter", ["\t", ";"])
def test_tab_and_semicolon_separated_text(tmp_path, delimiter):
    path = write(tmp_path, "名册.csv", ROSTER.replace(",", delimiter).encode("utf-8"))
    assert read_roster_path(path, CONFIG, ALL).members == EXPECTED


def test_xlsx_with_a_merged_title_spaced_header_blank_and_prenumbered_rows(tmp_path):
    path = xlsx(tmp_path, [
        ["鼓韵堂党支部党员花名册", None, None, None],  # a title merged across the columns
        ["序号", "姓　名", " 支部 ", "备注"],  # the ideographic space aligns two-character headers
        [1, " 张三 ", "鼓韵堂党支部", None],
        [],
        [2, "李  四", "栖息栈党支部", "新转入"],
        [3, None, None, None],  # numbered in advance, not filled in
        [4, "王五", "鼓韵堂党支部 ", None],
    ], merge="A1:D1")
    assert read_roster_path(path, CONFIG, ALL).members == {"鼓韵堂党支部": ("张三", "王五"), "栖息栈党支部": ("李 四",)}


def test_xlsx_header_cell_merged_over_two_columns(tmp_path):
    path = xlsx(tmp_path, [["姓名", None, "支部"], ["张三", "（曾用名）", "鼓韵堂党支部"]], merge="A1:B1")
    assert read_roster_path(path, CONFIG, ALL).members == {"鼓韵堂党支部": ("张三",)}


def test_a_branch_written_with_stray_spaces_or_full_width_is_the_configured_one(tmp_path):
    path = write(tmp_path, "名册.csv", "姓名,支部\n张三,鼓韵堂 党支部\n李四,栖息栈党支部\u3000\n".encode())
    assert read_roster_path(path, CONFIG, ALL).members == {"鼓韵堂党支部": ("张三",), "栖息栈党支部": ("李四",)}


def test_an_uploaded_file_is_named_by_its_own_name_only(tmp_path):
    data = "姓名,支部\n,鼓韵堂党支部\n".encode()
    with pytest.raises(ContentErrors) as caught:
        read_roster(data, "C:\\fakepath\\名册\x1b[31m.csv", CONFIG, ALL)
    assert [str(p) for p in caught.value.problems] == ["名册[31m.csv:2: 姓名: 不能为空"]


# -- problems in rows, all at once -----------------------------------------------------------

def test_every_row_problem_at_once_with_spreadsheet_rows_and_header_names(tmp_path):
    path = write(tmp_path, "名册.csv", (
        "姓名,支部\n"
        "张三,鼓韵堂党支部\n"
        ",鼓韵堂党支部\n"
        "李四,鼓韵堂支部\n"
        "王五,浦东项目部党支部\n"
        "张 三,鼓韵堂党支部\n"
        "=HYPERLINK(\"http://x\"),栖息栈党支部\n"
        "赵六,\n"
        "\n"
        f"{'长' * 41},@栖息栈\n"
        "钱\u200b七,栖息栈党支部\n"
        "张三,栖息栈党支部\n"
    ).encode())
    assert problems(path, NANJING) == [
        "名册.csv:3: 姓名: 不能为空",
        "名册.csv:4: 支部: 没有这个支部：“鼓韵堂支部”。是不是“鼓韵堂党支部”？支部名称要与签到表单里的支部一致",
        "名册.csv:5: 支部: “浦东项目部党支部”不在你的管理范围内；你可以导入的支部：鼓韵堂党支部、栖息栈党支部",
        "名册.csv:6: 姓名: 与第 2 行重名：同一支部里姓名不能重复（空格、全角半角不算区别）；重名的两人请加以区分",
        "名册.csv:7: 姓名: 以“=”开头，表格软件会当作公式；请删掉开头的符号，只填文字",
        "名册.csv:8: 支部: 不能为空",
        "名册.csv:10: 姓名: 太长：最多 40 个字，现在有 41 个",
        "名册.csv:10: 支部: 以“@”开头，表格软件会当作公式；请删掉开头的符号，只填文字",
        "名册.csv:11: 姓名: 含有不可见的控制字符，请删除后重新输入",
    ]


def test_rows_are_numbered_as_records_when_a_quoted_cell_spans_lines(tmp_path):
    path = write(tmp_path, "名册.csv", '姓名,支部,备注\n张三,鼓韵堂党支部,"两行\n备注"\n,栖息栈党支部,\n'.encode())
    assert problems(path) == ["名册.csv:3: 姓名: 不能为空"]


def test_xlsx_rows_keep_their_numbers_across_gaps_and_formulas_are_refused(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"], sheet["B1"] = "标题", None
    sheet["A3"], sheet["B3"] = "姓名", "支部"
    sheet["A4"], sheet["B4"] = "张三", "鼓韵堂党支部"
    sheet["A9"], sheet["B9"] = '=CONCATENATE("李","四")', "鼓韵堂党支部"
    sheet["A5000"], sheet["B5000"] = "王五", "鼓楼党支部"
    sheet["A1048576"], sheet["B1048576"] = 12345, "栖息栈党支部"  # a stray entry on Excel's last row
    path = tmp_path / "名册.xlsx"
    book.save(path)
    assert problems(path) == [
        "名册.xlsx:9: 姓名: 以“=”开头，表格软件会当作公式；请删掉开头的符号，只填文字",
        "名册.xlsx:5000: 支部: 没有这个支部：“鼓楼党支部”。是不是“鼓韵堂党支部”？支部名称要与签到表单里的支部一致",
    ]


def test_a_name_twice_in_two_branches_is_two_people(tmp_path):
    path = write(tmp_path, "名册.csv", "姓名,支部\n张三,鼓韵堂党支部\n张三,栖息栈党支部\n".encode())
    assert read_roster_path(path, CONFIG, ALL).members == {"鼓韵堂党支部": ("张三",), "栖息栈党支部": ("张三",)}


# -- files that are not rosters --------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("姓名,所在单位\n张三,鼓韵堂党支部\n", "名册.csv:1: 支部: 缺少“支部”列：表头要同时有“姓名”和“支部”两列"),
    ("名字,支部\n张三,鼓韵堂党支部\n", "名册.csv:1: 姓名: 缺少“姓名”列：表头要同时有“姓名”和“支部”两列"),
    ("姓名,支部,姓名\n张三,鼓韵堂党支部,张三\n", "名册.csv:1: 姓名: 表头里有 2 个“姓名”列，只能有一个"),
    ("姓名,支部\n,\n", "名册.csv:1: 姓名: 名单里没有成员：表头下面没有填写姓名和支部的行"),
    ("\n\n,,\n", "名册.csv:1: 文件: 文件里没有内容"),
    ("name,branch\nZhang San,x\n", "名册.csv:1: 文件: 找不到表头：第一行应有“姓名”和“支部”两列（Excel 工作簿只读第一个工作表）；"
                                   "如果打开后是乱码，请在 Excel 或 WPS 里“另存为”CSV UTF-8（逗号分隔）或 Excel 工作簿（.xlsx）"),
])
def test_a_file_without_a_usable_header(tmp_path, text, expected):
    assert problems(write(tmp_path, "名册.csv", text.encode())) == [expected]


SAVE_AS = "请在 Excel 或 WPS 里“另存为”CSV UTF-8（逗号分隔）或 Excel 工作簿（.xlsx）"


def test_an_empty_file(tmp_path):
    assert problems(write(tmp_path, "名册.csv", b"")) == ["名册.csv:1: 文件: 文件是空的"]


def test_an_encoding_that_is_neither_utf8_nor_gb18030(tmp_path):
    data = "姓名,支部\n".encode() + b"\xff\xfe\xff,\x80\n"
    assert problems(write(tmp_path, "名册.csv", data)) == [
        f"名册.csv:1: 文件: 无法识别文件的编码（既不是 UTF-8，也不是 GB18030）；{SAVE_AS}"]


def test_a_damaged_utf8_file_with_a_bom_is_not_read_as_gb18030(tmp_path):
    data = codecs.BOM_UTF8 + "姓名,支部\n张三,鼓韵堂党支部\n".encode("gb18030")
    assert problems(write(tmp_path, "名册.csv", data)) == [
        f"名册.csv:1: 文件: 无法识别文件的编码（既不是 UTF-8，也不是 GB18030）；{SAVE_AS}"]


def test_utf16_unicode_text(tmp_path):
    # Excel's "Unicode text": UTF-16 with its byte-order mark, tab-separated (test_hostile_roster.py has more).
    data = "姓名\t支部\r\n张三\t鼓韵堂党支部\r\n".encode("utf-16")
    assert read_roster_path(write(tmp_path, "名册.txt", data), CONFIG, ALL) == RosterFile({"鼓韵堂党支部": ("张三",)})


def test_a_20_mb_file_is_refused_before_it_is_read(tmp_path):
    path = write(tmp_path, "名册.csv", ("姓名,支部\n" + "张三,鼓韵堂党支部\n" * 900_000).encode())
    assert path.stat().st_size > 20 * 1024 * 1024
    expected = "名册.csv:1: 文件: 文件太大（22.3 MB）：名单文件最大 5 MB；请只保留名单所需的列"
    assert problems(path) == [expected]
    with pytest.raises(ContentErrors) as caught:
        read_roster(path.read_bytes(), "名册.csv", CONFIG, ALL)
    assert [str(p) for p in caught.value.problems] == [expected]


def test_more_members_than_a_roster_can_hold(tmp_path):
    rows = "".join(f"成员{i},鼓韵堂党支部\n" for i in range(MAX_MEMBER_ROWS + 1))
    path = write(tmp_path, "名册.csv", ("姓名,支部\n" + rows).encode())
    assert path.stat().st_size < MAX_FILE_BYTES
    assert problems(path) == [f"名册.csv:{MAX_MEMBER_ROWS + 2}: 文件: 行数太多：一个名单文件最多 {MAX_MEMBER_ROWS} 人"]


def test_an_xlsx_zip_bomb_is_refused_from_the_zip_directory(tmp_path):
    path = xlsx(tmp_path, [["姓名", "支部"], ["张三", "鼓韵堂党支部"]])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("xl/media/image1.png", "w", force_zip64=True) as member:
            zeros = bytes(1024 * 1024)
            for _ in range(200):
                member.write(zeros)
    assert path.stat().st_size < 1024 * 1024
    assert problems(path) == ["名册.xlsx:1: 文件: 解压后太大（200 MB），不是正常的名单文件，已拒绝"]


def test_a_sheet_that_expands_entities_is_refused(tmp_path):
    # "Billion laughs" in the sheet's XML: defusedxml refuses entity declarations.
    path = xlsx(tmp_path, [["姓名", "支部"], ["LAUGH", "鼓韵堂党支部"]])
    doctype = ('<!DOCTYPE worksheet [<!ENTITY lol "lol">'
               '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>')
    rewritten = tmp_path / "炸弹.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(rewritten, "w") as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                data = doctype.encode() + data.replace(b"LAUGH", b"&lol2;")
                assert b"&lol2;" in data and b"<!DOCTYPE" in data
            target.writestr(entry, data)
    assert problems(rewritten) == [f"炸弹.xlsx:1: 文件: 无法读取这个 Excel 工作簿，文件可能已损坏；{SAVE_AS}"]


@pytest.mark.parametrize("name, data, message", [
    ("名册.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
     f"这是旧版 Excel（.xls）或加了密码的文件，无法读取；{SAVE_AS}，不要设密码"),
    ("名册.xlsx", b"PK\x03\x04 not really a zip",
     f"不是有效的 Excel 工作簿（.xlsx），文件可能已损坏；{SAVE_AS}"),
    ("名册.xlsx", "姓名,支部\n张三,鼓韵堂党支部\n".encode(),
     f"不是有效的 Excel 工作簿（.xlsx）；{SAVE_AS}"),
    ("照片.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
     f"不是表格文件（含有二进制内容）；{SAVE_AS}"),
])
def test_files_that_are_not_spreadsheets(tmp_path, name, data, message):
    assert problems(write(tmp_path, name, data)) == [f"{name}:1: 文件: {message}"]


def test_a_zip_that_is_not_a_workbook(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("名册.csv", "姓名,支部\n张三,鼓韵堂党支部\n")
    assert problems(write(tmp_path, "名册.zip", buffer.getvalue())) == [
        f"名册.zip:1: 文件: 这是压缩包或其他 Office 文件，不是 Excel 工作簿（.xlsx）；{SAVE_AS}"]


def test_a_zip_from_a_newer_zip_version(tmp_path):
    data = bytearray(xlsx(tmp_path, [["姓名", "支部"], ["张三", "鼓韵堂党支部"]]).read_bytes())
    directory = data.index(b"PK\x01\x02")
    data[directory + 6: directory + 8] = (68).to_bytes(2, "little")  # "version needed to extract": 6.8
    assert problems(write(tmp_path, "新.xlsx", bytes(data))) == [
        f"新.xlsx:1: 文件: 不是有效的 Excel 工作簿（.xlsx），文件可能已损坏；{SAVE_AS}"]


def test_a_workbook_with_a_broken_sheet(tmp_path):
    path = xlsx(tmp_path, [["姓名", "支部"], ["张三", "鼓韵堂党支部"]])
    broken = tmp_path / "坏.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(broken, "w") as target:
        for entry in source.infolist():
            data = source.read(entry)
            target.writestr(entry, data[: len(data) // 2] if entry.filename == "xl/worksheets/sheet1.xml" else data)
    assert problems(broken) == [f"坏.xlsx:1: 文件: 无法读取这个 Excel 工作簿，文件可能已损坏；{SAVE_AS}"]


def test_a_file_that_cannot_be_opened(tmp_path):
    assert problems(tmp_path / "没有.csv") == ["没有.csv:1: 文件: 无法读取文件：No such file or directory"]


def frozen(path: Path) -> bytes:
    """The workbook with its save times fixed, so that seeded damage is the same every run."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2026-01-01T00:00:00Z", source.read(entry))
            target.writestr(zipfile.ZipInfo(entry.filename, (2026, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


def test_damaged_files_only_ever_give_problems(tmp_path):
    """Seeded damage to a real workbook and a real CSV: a roster or a message, never an exception."""
    import random

    randomness = random.Random(20261127)
    workbook = frozen(xlsx(tmp_path, [["姓名", "支部"], *[[f"成员{i}", "鼓韵堂党支部"] for i in range(30)]]))
    text = ("姓名,支部\n" + "".join(f"成员{i},栖息栈党支部\n" for i in range(30))).encode("gb18030")
    outcomes = {"roster": 0, "problems": 0}
    for original, name in [(workbook, "名册.xlsx")] * 150 + [(text, "名册.csv")] * 150:
        data = bytearray(original)
        for _ in range(randomness.randint(1, 8)):
            data[randomness.randrange(len(data))] = randomness.randrange(256)
        if randomness.random() < 0.3:
            data = data[: randomness.randrange(len(data))]
        try:
            read_roster(bytes(data), name, CONFIG, ALL)
            outcomes["roster"] += 1
        except ContentErrors as errors:
            assert errors.problems and all(str(p).startswith(name + ":") for p in errors.problems)
            outcomes["problems"] += 1
    assert outcomes["roster"] and outcomes["problems"]
