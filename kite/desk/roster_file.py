"""Reading an uploaded roster: a CSV or XLSX file with the columns 姓名 and 支部.

Secretaries make these files in Excel or WPS on Chinese Windows, so a file arrives as
UTF-8 (with or without a byte-order mark), as GB18030, or as an XLSX workbook; with a
title row above the header, cells merged across columns, blank rows and stray spaces.
Every problem is reported at once, as ``FILE:ROW: COLUMN: message`` with ROW as the
spreadsheet numbers it, and a file that is not a roster at all (too big, a zip bomb,
binary, empty) gets one clear message.  Nothing here raises anything but
``ContentErrors``.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import itertools
import unicodedata
import warnings
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path, PureWindowsPath
from typing import Callable, Iterator

from ..config import SiteConfig
from ..errors import ContentErrors, Problem
from ..spreadsheet import looks_like_formula
from .names import NAME_LIMIT, match_key, tidy_name
from .scope import Scope

NAME = "姓名"
BRANCH = "支部"
FILE = "文件"  # the COLUMN of a problem with the whole file

# A roster of a few thousand members is well under 1 MB as CSV or XLSX; 5 MB leaves
# room for a workbook with a logo in it.
MAX_FILE_BYTES = 5 * 1024 * 1024
# Declared sizes in the zip's directory, checked before openpyxl opens anything.
# Python's zipfile stops at the declared size and checks the CRC, so they cannot lie.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_ZIP_ENTRIES = 500
MAX_MEMBER_ROWS = 20_000
HEADER_ROWS = 10  # the header may sit below a title row or two
MAX_HEADER_COLUMNS = 100
SHEET_ROWS = 1_048_576  # Excel's own limit

_DELIMITERS = (",", "\t", ";")
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn"}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and any password-protected Office file
BOM = "\ufeff"  # a byte-order mark read as text: at the start of a file, or saved into a workbook's first cell

SAVE_AS = "请在 Excel 或 WPS 里“另存为”CSV UTF-8（逗号分隔）或 Excel 工作簿（.xlsx）"


@dataclass(frozen=True)
class RosterFile:
    """A valid roster: the members of each branch present in the file, in the file's order."""

    members: dict[str, tuple[str, ...]]

    @property
    def count(self) -> int:
        return sum(map(len, self.members.values()))


class _FileProblem(Exception):
    def __init__(self, message: str, row: int = 1, column: str = FILE):
        self.message, self.row, self.column = message, row, column


def read_roster_path(path: Path, config: SiteConfig, scope: Scope, shown: str | None = None) -> RosterFile:
    """``read_roster`` for a file on disk (the CLI), refusing an oversized one before reading it.

    Problems name the file as ``shown``, by default the path as given.
    """
    shown = shown or str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_FILE_BYTES:
            raise ContentErrors([Problem(shown, 1, FILE, _too_big(size))])
        data = Path(path).read_bytes()
    except OSError as error:
        raise ContentErrors([Problem(shown, 1, FILE, f"无法读取文件：{error.strerror or error}")])
    return read_roster(data, str(path), config, scope, shown=shown)


def read_roster(data: bytes, filename: str, config: SiteConfig, scope: Scope, *, shown: str | None = None) -> RosterFile:
    """The members in ``data``, checked against the config's branches and ``scope``.

    ``filename`` is the uploaded file's name; problems show only its last part unless
    ``shown`` says otherwise.  Raises ``ContentErrors`` with every problem, or with the
    one problem of a file that is not a roster at all.
    """
    shown = shown or shown_filename(filename)
    try:
        with _open_sheet(data, filename) as sheet:
            header_row, columns = _find_header(sheet.head)
            rows = sheet.rows(header_row + 1, max(columns.values()) + 1)
            return _members(rows, header_row, columns, shown, config, scope)
    except _FileProblem as problem:
        raise ContentErrors([Problem(shown, problem.row, problem.column, problem.message)])


def shown_filename(filename: str) -> str:
    """The uploaded file's own name, safe to print: no folders, no control characters."""
    name = PureWindowsPath(filename or "").name  # browsers on Windows may send C:\fakepath\名册.csv
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _HIDDEN).strip()
    return name[:100] or "名册"


# -- the file's rows -------------------------------------------------------------------------

Numbered = Iterator[tuple[int, list[str]]]  # (row as the spreadsheet numbers it, its cells as text)


@dataclass(frozen=True)
class _Sheet:
    head: list[list[str]]  # the first rows, where the header is looked for
    rows: Callable[[int, int], Numbered]  # (first row, columns wanted) -> the rows from there on


@contextmanager
def _open_sheet(data: bytes, filename: str) -> Iterator[_Sheet]:
    if not data:
        raise _FileProblem("文件是空的")
    if len(data) > MAX_FILE_BYTES:
        raise _FileProblem(_too_big(len(data)))
    if data.startswith(b"PK"):
        with _xlsx_sheet(data) as sheet:
            yield sheet
        return
    if data.startswith(_OLE):
        raise _FileProblem(f"这是旧版 Excel（.xls）或加了密码的文件，无法读取；{SAVE_AS}，不要设密码")
    if (filename or "").lower().endswith((".xlsx", ".xlsm")):
        raise _FileProblem(f"不是有效的 Excel 工作簿（.xlsx）；{SAVE_AS}")
    yield _csv_sheet(_decode(data))


def _too_big(size: int) -> str:
    return f"文件太大（{size / 1024 / 1024:.1f} MB）：名单文件最大 {MAX_FILE_BYTES // 1024 // 1024} MB；请只保留名单所需的列"


def _decode(data: bytes) -> str:
    """UTF-8 (strict, byte-order mark optional), then GB18030; UTF-16 only with its byte-order mark.

    Excel's "Unicode text" is UTF-16 with a mark and tabs; GB18030 may carry its own mark
    (84 31 95 33), which decodes to U+FEFF and would otherwise hide the first header cell.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)
    # A byte-order mark says UTF-8; falling back to GB18030 then would only hide damage.
    elif data.startswith(codecs.BOM_UTF8):
        encodings = ("utf-8-sig",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise _FileProblem(f"不是表格文件（含有二进制内容）；{SAVE_AS}")
        return text.removeprefix(BOM)
    if encodings == ("utf-16",):
        raise _FileProblem(f"文件开头标明是 UTF-16（“Unicode 文本”），内容却不是，文件可能已损坏；{SAVE_AS}")
    raise _FileProblem(f"无法识别文件的编码（既不是 UTF-8，也不是 GB18030）；{SAVE_AS}")


def _csv_sheet(text: str) -> _Sheet:
    def rows(delimiter: str, first: int = 1) -> Numbered:
        # Numbered by record, as a spreadsheet shows them: a quoted cell may span lines.
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            for number, row in enumerate(reader, start=1):
                if number >= first:
                    yield number, row
        except csv.Error:
            raise _FileProblem(f"这一行无法按 CSV 读取（引号不成对或内容过长）；{SAVE_AS}", reader.line_num or 1)

    def head(delimiter: str) -> list[list[str]]:
        return [row for _, row in itertools.islice(rows(delimiter), HEADER_ROWS)]

    # Excel saves commas, its "Unicode text" tabs, some European settings semicolons:
    # the delimiter is whichever one yields a header.
    delimiter = next((d for d in _DELIMITERS if _header_in(head(d))), ",")
    return _Sheet(head(delimiter), lambda first, width: rows(delimiter, first))


@contextmanager
def _xlsx_sheet(data: bytes) -> Iterator[_Sheet]:
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except Exception:  # BadZipFile, NotImplementedError for unknown versions, struct errors, …
        raise _FileProblem(f"不是有效的 Excel 工作簿（.xlsx），文件可能已损坏；{SAVE_AS}")
    unpacked = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ZIP_ENTRIES or unpacked > MAX_UNPACKED_BYTES:
        raise _FileProblem(f"解压后太大（{unpacked / 1024 / 1024:.0f} MB），不是正常的名单文件，已拒绝")
    if "xl/workbook.xml" not in {entry.filename for entry in entries}:
        raise _FileProblem(f"这是压缩包或其他 Office 文件，不是 Excel 工作簿（.xlsx）；{SAVE_AS}")

    import openpyxl  # only uploads of workbooks pay for the import

    with _unreadable_workbook():
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        if not book.worksheets:
            raise _FileProblem("工作簿里没有工作表")
        sheet = book.worksheets[0]
        # The declared size may claim a million rows and columns; read only what is there.
        sheet.reset_dimensions()

        def rows(first: int, width: int, last: int | None = None) -> Numbered:
            with _unreadable_workbook():
                cells = sheet.iter_rows(min_row=first, max_row=last, max_col=width, values_only=True)
                for number, values in enumerate(cells, start=first):
                    if number > SHEET_ROWS:
                        break
                    yield number, [_text(value) for value in values]

        yield _Sheet([row for _, row in rows(1, MAX_HEADER_COLUMNS, HEADER_ROWS)], rows)
    finally:
        book.close()


@contextmanager
def _unreadable_workbook() -> Iterator[None]:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; a roster needs neither.
            warnings.simplefilter("ignore")
            yield
    except _FileProblem:
        raise
    except Exception:
        # A hostile or broken workbook can fail anywhere inside openpyxl or the XML parser;
        # whatever it is, the secretary's answer is the same, and nothing escapes.
        raise _FileProblem(f"无法读取这个 Excel 工作簿，文件可能已损坏；{SAVE_AS}")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()
    if isinstance(value, (date, time, datetime)):
        return value.isoformat()
    return str(value)


# -- header and members ----------------------------------------------------------------------

def _header_key(cell: str) -> str:
    # A byte-order mark pasted into a cell is invisible in Excel and no whitespace to NFKC.
    return match_key(cell.replace(BOM, ""))


def _header_in(rows: list[list[str]]) -> bool:
    return any({NAME, BRANCH} <= {_header_key(cell) for cell in row} for row in rows)


def _find_header(head: list[list[str]]) -> tuple[int, dict[str, int]]:
    """The first row naming both columns (merged cells leave the others blank)."""
    for number, row in enumerate(head, start=1):
        keys = [_header_key(cell) for cell in row]
        if NAME in keys and BRANCH in keys:
            columns = {}
            for column in (NAME, BRANCH):
                found = [index for index, key in enumerate(keys) if key == column]
                if len(found) > 1:
                    raise _FileProblem(f"表头里有 {len(found)} 个“{column}”列，只能有一个", number, column)
                columns[column] = found[0]
            return number, columns
    for number, row in enumerate(head, start=1):
        keys = {_header_key(cell) for cell in row}
        for present, missing in ((NAME, BRANCH), (BRANCH, NAME)):
            if present in keys:
                raise _FileProblem(f"缺少“{missing}”列：表头要同时有“{NAME}”和“{BRANCH}”两列", number, missing)
    if not any(any(cell.strip() for cell in row) for row in head):
        raise _FileProblem("文件里没有内容")
    raise _FileProblem(f"找不到表头：第一行应有“{NAME}”和“{BRANCH}”两列（Excel 工作簿只读第一个工作表）；"
                       f"如果打开后是乱码，{SAVE_AS}")


def _members(rows: Numbered, header_row: int, columns: dict[str, int], shown: str,
             config: SiteConfig, scope: Scope) -> RosterFile:
    known = [branch for group in config.branches for branch in group.branches]
    loose: dict[str, str] = {}
    for branch in known:
        loose.setdefault(match_key(branch), branch)

    def configured(cell: str) -> str | None:
        # Spaces typed inside a branch's name do not make it another branch; an exact name wins. The
        # config refuses two branches that differ only so (kite.config), so the loose key finds one at most.
        text = tidy_name(cell)
        return text if text in known else loose.get(match_key(text))

    problems: list[Problem] = []
    members: dict[str, list[str]] = {}
    seen: dict[tuple[str, str], int] = {}
    count = 0
    for number, row in rows:
        name_cell = row[columns[NAME]] if columns[NAME] < len(row) else ""
        branch_cell = row[columns[BRANCH]] if columns[BRANCH] < len(row) else ""
        if not name_cell.strip() and not branch_cell.strip():
            continue  # a blank row, or one numbered in advance with nothing else filled in
        count += 1
        if count > MAX_MEMBER_ROWS:
            raise _FileProblem(f"行数太多：一个名单文件最多 {MAX_MEMBER_ROWS} 人", number)

        found = [Problem(shown, number, column, message) for column, message in (
            (NAME, _name_problem(name_cell)), (BRANCH, _branch_problem(branch_cell, configured, known, scope))) if message]
        problems.extend(found)
        if found:
            continue
        name, branch = tidy_name(name_cell), configured(branch_cell)
        key = (branch, match_key(name))
        if key in seen:
            problems.append(Problem(shown, number, NAME, f"与第 {seen[key]} 行重名：同一支部里姓名不能重复"
                                                         "（空格、全角半角不算区别）；重名的两人请加以区分"))
            continue
        seen[key] = number
        members.setdefault(branch, []).append(name)
    if problems:
        raise ContentErrors(problems)
    if not members:
        raise _FileProblem("名单里没有成员：表头下面没有填写姓名和支部的行", header_row, NAME)
    return RosterFile({branch: tuple(names) for branch, names in members.items()})


def _hidden(text: str) -> bool:
    return any(unicodedata.category(ch) in _HIDDEN and not ch.isspace() for ch in text)


def _cell_problem(cell: str, limit: int) -> str | None:
    text = cell.strip()
    if not text:
        return "不能为空"
    if looks_like_formula(text):
        return f"以“{text[0]}”开头，表格软件会当作公式；请删掉开头的符号，只填文字"
    if _hidden(text):
        return "含有不可见的控制字符，请删除后重新输入"
    if len(tidy_name(text)) > limit:
        return f"太长：最多 {limit} 个字，现在有 {len(tidy_name(text))} 个"
    return None


def _name_problem(cell: str) -> str | None:
    return _cell_problem(cell, NAME_LIMIT)


def _branch_problem(cell: str, configured: Callable[[str], str | None], known: list[str], scope: Scope) -> str | None:
    problem = _cell_problem(cell, 100)
    if problem:
        return problem
    branch = configured(cell)
    if branch is None:
        guess = difflib.get_close_matches(cell.strip(), known, n=1, cutoff=0.6)
        hint = f"是不是“{guess[0]}”？" if guess else ""
        return f"没有这个支部：“{cell.strip()}”。{hint}支部名称要与签到表单里的支部一致"
    if not scope.allows(branch):
        mine = "、".join(scope.branches) or "无"
        return f"“{branch}”不在你的管理范围内；你可以导入的支部：{mine}"
    return None

