"""The desk's downloads: the 三个一 table as CSV and XLSX, check-ins as CSV, and members'
quarterly reports and suggestions as CSV and XLSX (contract, sections 5 and 6).

Secretaries open these in Excel or WPS on Chinese Windows: CSV is UTF-8 with a
byte-order mark (without one, both read it as GB18030 and the names come out garbled)
and CRLF line ends.  Names were typed by members, so a cell that looks like a formula is
neutralised as the endpoint's own export does; in XLSX it is written as a text cell,
which no spreadsheet runs.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Callable, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from ..spreadsheet import looks_like_formula, safe_cell
from ..storage.submissions import STATUSES, Report, Suggestion
from .records import MONTHS, QUARTERS, BranchTable, CheckinRecord, checkin_status

RECORD_HEADER = ("姓名", *MONTHS, *QUARTERS, "评议", "积分")
CHECKIN_HEADER = ("场次", "支部", "姓名", "时间", "状态")
REPORT_HEADER = ("提交时间", "支部", "姓名", "季度", "内容")
SUGGESTION_HEADER = ("查询号", "提交时间", "支部", "类别", "内容", "姓名", "联系方式", "状态", "答复", "答复人", "答复时间")
DONE = "✓"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

_SHEET_TITLE_FORBIDDEN = str.maketrans("", "", "[]:*?/\\")


def record_rows(table: BranchTable) -> list[list[str | int]]:
    """The table's rows under ``RECORD_HEADER``: ✓ or "" per cell, 积分 an integer."""
    def mark(done: bool) -> str:
        return DONE if done else ""

    return [[row.name, *map(mark, row.months), *map(mark, row.quarters), mark(row.review), row.points]
            for row in table.rows]


def record_csv(table: BranchTable) -> bytes:
    return _csv([RECORD_HEADER, *record_rows(table)])


def record_xlsx(table: BranchTable) -> bytes:
    title = table.branch.translate(_SHEET_TITLE_FORBIDDEN).strip("'")[:31] or "三个一"
    widths = [14, *[5] * 12, *[7] * 4, 6, 6]
    return _xlsx(title, RECORD_HEADER, record_rows(table), widths)


def checkin_rows(checkins: Iterable[CheckinRecord], starts: Mapping[str, datetime], zone: ZoneInfo,
                 late_after: timedelta) -> list[list[str]]:
    """Rows under ``CHECKIN_HEADER``.

    ``starts`` maps an announcement's session to its start; 状态 is 准时 or 迟到 for those,
    empty for a lesson (and for an announcement no longer published, whose start is unknown).
    """
    return [[record.session, record.branch, record.name, record.at.astimezone(zone).strftime(TIME_FORMAT),
             checkin_status(record.at, starts.get(record.session), late_after)]
            for record in checkins]


def checkins_csv(checkins: Iterable[CheckinRecord], starts: Mapping[str, datetime], zone: ZoneInfo,
                 late_after: timedelta) -> bytes:
    return _csv([CHECKIN_HEADER, *checkin_rows(checkins, starts, zone, late_after)])


def report_rows(reports: Iterable[Report], zone: ZoneInfo) -> list[list[str]]:
    """Rows under ``REPORT_HEADER``, in the order given (newest first from storage)."""
    return [[report.received_at.astimezone(zone).strftime(TIME_FORMAT), report.branch, report.name, report.quarter,
             report.text] for report in reports]


def reports_csv(reports: Iterable[Report], zone: ZoneInfo) -> bytes:
    return _csv([REPORT_HEADER, *report_rows(reports, zone)])


def reports_xlsx(reports: Iterable[Report], zone: ZoneInfo) -> bytes:
    return _xlsx("每季一汇报", REPORT_HEADER, report_rows(reports, zone), [20, 18, 12, 9, 60])


def suggestion_rows(suggestions: Iterable[Suggestion], zone: ZoneInfo, show_ref: Callable[[str], str]) -> list[list[str]]:
    """Rows under ``SUGGESTION_HEADER``: name and contact included, for secretaries in scope only
    (storage hands over nothing else); an empty cell where a member left one out."""
    def moment(at: datetime | None) -> str:
        return at.astimezone(zone).strftime(TIME_FORMAT) if at else ""

    return [[show_ref(item.ref), moment(item.received_at), item.branch, item.category, item.text, item.name or "",
             item.contact or "", STATUSES[item.status], item.reply or "", item.replied_by or "", moment(item.replied_at)]
            for item in suggestions]


def suggestions_csv(suggestions: Iterable[Suggestion], zone: ZoneInfo, show_ref: Callable[[str], str]) -> bytes:
    return _csv([SUGGESTION_HEADER, *suggestion_rows(suggestions, zone, show_ref)])


def suggestions_xlsx(suggestions: Iterable[Suggestion], zone: ZoneInfo, show_ref: Callable[[str], str]) -> bytes:
    widths = [14, 20, 18, 10, 60, 12, 18, 8, 40, 12, 20]
    return _xlsx("意见建议", SUGGESTION_HEADER, suggestion_rows(suggestions, zone, show_ref), widths)


def _csv(rows: Iterable[Sequence[str | int]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(value) if isinstance(value, str) else value for value in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx(title: str, header: Sequence[str], rows: list[list[str | int]], widths: Sequence[int]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = title
    for number, values in enumerate([list(header), *rows], start=1):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(number, column)
            if isinstance(value, str):
                # Set as text after the value: openpyxl reads a leading "=" as a formula.
                cell.value = text = ILLEGAL_CHARACTERS_RE.sub("", value)
                cell.data_type = "s"
                if looks_like_formula(text):
                    cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
            else:
                cell.value = value
            if number == 1:
                cell.font = Font(bold=True)
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "B2"  # names and the header stay in view on a phone
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
