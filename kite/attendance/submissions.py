"""Recording a member's quarterly report or suggestion, free of any web framework: fields in, an answer out.

Beside ``checkin.record``: the web layer parses the request and calls these, the storage
layer (``kite.storage.submissions``) stores.  Fields are checked in the order the form
shows them and the first problem is the answer, naming its field.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from ..desk.records import parse_quarter, quarter_of
from ..forms import CATEGORIES, CONTACT_LIMIT, NAME_LIMIT, REPORT_TEXT, SUGGESTION_TEXT
from ..storage.submissions import Submissions, SuggestionProgress
from .checkin import HONEYPOT
from .refs import new_ref, read_ref, show_ref
from .sessions import Roster

BRANCH_LIMIT = 100

_QUARTERS = "一二三四"
_LINE_BREAKS = "\t\n\r"
# Control, format (zero-width, bidi overrides), surrogate, private-use and unassigned: never in a
# name, branch or contact.
_HIDDEN_IN_A_LINE = {"Cc", "Cf", "Cs", "Co", "Cn"}
# Invisible characters that articles copied out of WeChat carry; dropped from a text, nothing lost.
_PASTED_INVISIBLES = dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad"))
# Joiners build emoji and some scripts' letters: kept.  Other format characters (bidi overrides,
# isolates, marks) could make a text read differently from what is stored: refused.
_JOINERS = "\u200c\u200d"


@dataclass(frozen=True)
class Answer:
    status: int  # HTTP status the web layer answers with
    state: str  # "recorded", "duplicate" or "error"
    message: str  # for the member, in Chinese
    field: str | None = None
    values: Mapping[str, str | None] | None = None  # the fields as stored (what a confirmation shows)
    quarter: str = ""  # a report's: "2026Q4"
    ref: str = ""  # a suggestion's, as people read it: "K7Q2-M9XD-4R"

    @property
    def stored(self) -> bool:
        return self.state in ("recorded", "duplicate")

    def json(self) -> dict[str, Any]:
        if not self.stored:
            return {"error": self.message, "field": self.field}
        # Exactly the contract's fields (section 6); the page words its message from them (submit.js).
        found = {"status": self.state}
        if self.quarter:
            found["quarter"] = self.quarter
        if self.ref:
            found["ref"] = self.ref
        return found


class Refused(Exception):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message, self.field = message, field


def quarter_label(quarter: str) -> str:
    """``2026Q4`` as members read it: ``2026年第四季度``."""
    year, number = parse_quarter(quarter)
    return f"{year}年第{_QUARTERS[number - 1]}季度"


def _line(fields: Mapping[str, Any], field: str, label: str, limit: int, *, required: bool = True) -> str | None:
    """A one-line field trimmed, its spaces collapsed and normalised; None if optional and left empty."""
    value = fields.get(field)
    if value is None and not required:
        return None
    if value is None:
        raise Refused(f"缺少{label}", field)
    if not isinstance(value, str):
        raise Refused(f"{label}应为文字", field)
    if any(unicodedata.category(ch) in _HIDDEN_IN_A_LINE and ch not in _LINE_BREAKS for ch in value):
        raise Refused(f"{label}含有不可见的控制字符，请删掉后重新填写", field)
    text = unicodedata.normalize("NFC", " ".join(value.split()))
    if not text:
        if required:
            raise Refused(f"请填写{label}", field)
        return None
    if len(text) > limit:
        raise Refused(f"{label}太长：最多 {limit} 个字", field)
    return text


def clean_text(value: Any, label: str, low: int, high: int, field: str = "text") -> str:
    """A text of several lines as stored: line breaks as \\n, trimmed, normalised, ``low``–``high``
    characters.  Raises ``Refused``.  The form's counter (assets/submit.js) counts the same way."""
    if value is None:
        raise Refused(f"缺少{label}", field)
    if not isinstance(value, str):
        raise Refused(f"{label}应为文字", field)
    text = value.replace("\r\n", "\n").replace("\r", "\n").translate(_PASTED_INVISIBLES)
    for ch in text:
        kind = unicodedata.category(ch)
        if (kind == "Cc" and ch not in "\n\t") or kind == "Cs" or (kind == "Cf" and ch not in _JOINERS):
            raise Refused(f"{label}含有不可见的控制字符（例如文字方向控制符），请删掉后重新填写", field)
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise Refused(f"请填写{label}", field)
    if len(text) < low:
        raise Refused(f"{label}太短：至少 {low} 个字，现在 {len(text)} 个字", field)
    if len(text) > high:
        raise Refused(f"{label}太长：最多 {high} 个字，现在 {len(text)} 个字，请删减 {len(text) - high} 个字", field)
    return text


def _branch(fields: Mapping[str, Any], roster: Roster) -> str:
    branch = _line(fields, "branch", "所在支部", BRANCH_LIMIT)
    if branch not in roster.branch_groups:
        raise Refused("请从列表中选择所在支部", "branch")
    return branch


def _is_bot(fields: Mapping[str, Any]) -> bool:
    honeypot = fields.get(HONEYPOT)
    return isinstance(honeypot, str) and bool(honeypot.strip())


def record_report(submissions: Submissions, roster: Roster, fields: Mapping[str, Any], now: datetime) -> Answer:
    """Validate a quarterly report and store it once; the quarter is ``now``'s in the hub's time zone."""
    try:
        values = {"name": _line(fields, "name", "姓名", NAME_LIMIT), "branch": _branch(fields, roster),
                  "text": clean_text(fields.get("text"), "汇报内容", REPORT_TEXT.fewest, REPORT_TEXT.most)}
    except Refused as refused:
        return Answer(400, "error", refused.message, refused.field)
    quarter = quarter_of(now, roster.config.zone)
    if _is_bot(fields):
        # Looks like success to the bot; nothing is stored.
        return Answer(201, "recorded", f"汇报已收到，记入{quarter_label(quarter)}", values=values, quarter=quarter)
    saved = submissions.record_report(values["branch"], values["name"], quarter, values["text"], now)
    if saved.new:
        return Answer(201, "recorded", f"汇报已收到，记入{quarter_label(quarter)}", values=values, quarter=quarter)
    return Answer(200, "duplicate", f"这份汇报之前已经收到了（{quarter_label(saved.quarter)}），不用重复提交",
                  values=values, quarter=saved.quarter)


def record_suggestion(submissions: Submissions, roster: Roster, fields: Mapping[str, Any], now: datetime,
                      make_ref: Callable[[], str] = new_ref) -> Answer:
    """Validate a suggestion and store it under a new reference; the same text from the same
    branch within a minute is the one already stored, and its reference is the answer."""
    try:
        branch = _branch(fields, roster)
        category = _line(fields, "category", "类别", 20)
        if category not in CATEGORIES:
            raise Refused(f"请从{'、'.join(CATEGORIES)}中选择一个类别", "category")
        values = {"branch": branch, "category": category,
                  "text": clean_text(fields.get("text"), "建议内容", SUGGESTION_TEXT.fewest, SUGGESTION_TEXT.most),
                  "name": _line(fields, "name", "姓名", NAME_LIMIT, required=False),
                  "contact": _line(fields, "contact", "联系方式", CONTACT_LIMIT, required=False)}
    except Refused as refused:
        return Answer(400, "error", refused.message, refused.field)
    if _is_bot(fields):
        ref = show_ref(make_ref())  # a reference nothing is stored under
        return Answer(201, "recorded", _kept(ref), values=values, ref=ref)
    saved = submissions.record_suggestion(values["branch"], values["category"], values["text"], values["name"],
                                          values["contact"], now, make_ref)
    ref = show_ref(saved.ref)
    if saved.new:
        return Answer(201, "recorded", _kept(ref), values=values, ref=ref)
    return Answer(200, "duplicate", f"这条建议刚才已经收到了，不用重复提交。查询号：{ref}", values=values, ref=ref)


def _kept(ref: str) -> str:
    return f"建议已收到。查询号：{ref}，请记下，以后凭它查看办理情况和答复"


def suggestion_progress(submissions: Submissions, typed_ref: Any) -> SuggestionProgress | None:
    """A suggestion's status and reply by the reference as typed; None for no such suggestion."""
    ref = read_ref(typed_ref)
    return submissions.progress(ref) if ref else None
