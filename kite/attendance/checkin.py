"""Recording a check-in, free of any web framework: fields in, an outcome out."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from ..formatting import Dates
from ..storage import Store
from .sessions import Roster

LIMITS = {"session": 200, "branch": 100, "name": 40}
HONEYPOT = "website"  # a field people never see; bots fill it in
_WHITESPACE = "\t\n\r"
# Control, format (zero-width, bidi overrides), surrogate, private-use and unassigned characters.
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}


def _has_hidden(text: str) -> bool:
    return any(unicodedata.category(ch) in _HIDDEN_CATEGORIES and ch not in _WHITESPACE for ch in text)


@dataclass(frozen=True)
class Outcome:
    status: int  # HTTP status the web layer answers with
    state: str  # "recorded", "duplicate" or "error"
    message: str  # for the member, in Chinese
    field: str | None = None
    session_title: str = ""
    page_url: str = ""

    @property
    def stored(self) -> bool:
        return self.state in ("recorded", "duplicate")


def _problem(status: int, message: str, field: str | None = None) -> Outcome:
    return Outcome(status, "error", message, field)


def clean(field: str, value: Any) -> tuple[str | None, Outcome | None]:
    """A field's value trimmed and normalised, or what is wrong with it."""
    label = {"session": "签到场次", "branch": "所在支部", "name": "姓名"}[field]
    if value is None:
        return None, _problem(400, f"缺少{label}", field)
    if not isinstance(value, str):
        return None, _problem(400, f"{label}应为文字", field)
    if _has_hidden(value):
        return None, _problem(400, f"{label}含有不可见的控制字符", field)
    text = unicodedata.normalize("NFC", " ".join(value.split()))
    if not text:
        return None, _problem(400, f"请填写{label}", field)
    if len(text) > LIMITS[field]:
        return None, _problem(400, f"{label}太长（最多 {LIMITS[field]} 个字）", field)
    return text, None


def record(store: Store, roster: Roster, fields: Mapping[str, Any], now: datetime | None = None) -> Outcome:
    """Validate a check-in against the hub and store it once."""
    now = now or datetime.now(timezone.utc)
    values: dict[str, str] = {}
    for field in ("session", "branch", "name"):
        value, problem = clean(field, fields.get(field))
        if problem:
            return problem
        values[field] = value
    session = roster.sessions.get(values["session"])
    if session is None:
        return _problem(404, "没有这个签到场次：页面不存在、还是草稿，或者没有开放签到", "session")
    if values["branch"] not in roster.branch_groups:
        return _problem(400, "请从列表中选择所在支部", "branch")
    if not session.is_open(now):
        dates = Dates(roster.config.zone)
        if now < session.opens:
            message = f"签到还没开始：{dates.day_and_time(session.opens)} 开始签到（{dates.label}）"
        else:
            message = f"签到已经结束：{dates.day_and_time(session.closes)} 截止（{dates.label}）"
        return Outcome(403, "error", message, "session", session.title, session.page_url)
    honeypot = fields.get(HONEYPOT)
    if isinstance(honeypot, str) and honeypot.strip():
        # Looks like success to the bot; nothing is stored.
        return Outcome(201, "recorded", "签到成功", None, session.title, session.page_url)
    if store.record_checkin(values["session"], values["branch"], values["name"], now):
        return Outcome(201, "recorded", "签到成功", None, session.title, session.page_url)
    return Outcome(200, "duplicate", "已经签到过了，不用重复签到", None, session.title, session.page_url)
