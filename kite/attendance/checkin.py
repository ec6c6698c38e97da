"""Recording a check-in, free of any web framework: fields in, an outcome out."""

from __future__ import annotations

import asyncio
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from ..formatting import Dates
from ..storage import Store
from .livecode import BLOCKED, MALFORMED, MISSING, WRONG, LiveCodes
from .sessions import Roster, Session

LIMITS = {"session": 200, "branch": 100, "name": 40, "code": 20}
LABELS = {"session": "签到场次", "branch": "所在支部", "name": "姓名", "code": "签到码"}
# Below this many wrong codes left, the member is told how many.
WARN_REMAINING = 5
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
    label = LABELS[field]
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


@dataclass(frozen=True)
class Accepted:
    """A check-in that passed every check: what to store, and the outcome for each answer the store gives."""
    values: dict[str, str]
    session: Session
    stored: bool = True  # False for a bot's honeypot: told it is recorded, nothing stored

    def outcome(self, new: bool) -> Outcome:
        if new:
            return Outcome(201, "recorded", "签到成功", None, self.session.title, self.session.page_url)
        return Outcome(200, "duplicate", "已经签到过了，不用重复签到", None, self.session.title, self.session.page_url)


def record(store: Store, roster: Roster, fields: Mapping[str, Any], now: datetime | None = None,
           live: LiveCodes | None = None) -> Outcome:
    """Validate a check-in against the hub and store it once (see ``check``)."""
    now = now or datetime.now(timezone.utc)
    accepted = check(roster, fields, now, live)
    if isinstance(accepted, Outcome):
        return accepted
    if not accepted.stored:
        return accepted.outcome(True)
    return accepted.outcome(store.record_checkin(accepted.values["session"], accepted.values["branch"],
                                                 accepted.values["name"], now))


async def record_async(store: Store, roster: Roster, fields: Mapping[str, Any], now: datetime | None = None,
                       live: LiveCodes | None = None) -> Outcome:
    """``record`` on the event loop, for a store that commits in groups (SQLite): the loop
    serves other requests while this check-in's transaction goes to disk."""
    now = now or datetime.now(timezone.utc)
    if _needs_code(roster, fields):
        # The live code's check reads and counts wrong codes in the database, a counted one
        # behind the store's write lock (and so behind a group commit): not on the event loop.
        accepted = await asyncio.to_thread(check, roster, fields, now, live)
    else:
        accepted = check(roster, fields, now, live)
    if isinstance(accepted, Outcome):
        return accepted
    if not accepted.stored:
        return accepted.outcome(True)
    return accepted.outcome(await store.record_checkin_async(accepted.values["session"], accepted.values["branch"],
                                                             accepted.values["name"], now))


def _needs_code(roster: Roster, fields: Mapping[str, Any]) -> bool:
    key, _ = clean("session", fields.get("session"))
    session = roster.sessions.get(key) if key else None
    return session is not None and session.needs_code


def check(roster: Roster, fields: Mapping[str, Any], now: datetime, live: LiveCodes | None = None) -> Outcome | Accepted:
    """What is wrong with a check-in (an Outcome), or what to store (Accepted).

    The checks run in the contract's order: fields (400), session (404), branch (400),
    window (403), then an ``attendance: code`` activity's live code (403, or 429 once
    too many were wrong); ``live`` is needed for those.
    """
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
    if session.needs_code:
        if live is None:
            raise ValueError(f"{session.key} needs a live code, and record() was given no LiveCodes")
        problem = _live_code_problem(live, session, values, fields.get("code"), now)
        if problem:
            return problem
    honeypot = fields.get(HONEYPOT)
    # Looks like success to the bot; nothing is stored.
    return Accepted(values, session, stored=not (isinstance(honeypot, str) and honeypot.strip()))


def _live_code_problem(live: LiveCodes, session: Session, values: Mapping[str, str], typed: Any,
                       now: datetime) -> Outcome | None:
    """What is wrong with the live code sent, or None when it lets this person check in."""
    if typed is None or (isinstance(typed, str) and not typed.strip()):
        typed = ""  # no code: still refused once this person has guessed too often
    else:
        typed, problem = clean("code", typed)
        if problem:
            return Outcome(problem.status, "error", problem.message, "code", session.title, session.page_url)
    check = live.check(session.key, values["branch"], values["name"], session.code_seconds, typed, now)
    if check.verdict == BLOCKED:
        return Outcome(429, "error", "签到码错了太多次，这个名字在本场活动中不能再签到了。请联系主持人或支部书记补签。",
                       "code", session.title, session.page_url)
    if check.verdict == MISSING:
        message = "请填写签到码：主持人屏幕上或会场二维码旁的 4 位数字"
    elif check.verdict == MALFORMED:
        message = "签到码是 4 位数字，请对照主持人屏幕重新填写"
    elif check.verdict == WRONG:
        message = "签到码不对，或者已经换了新的：请填写主持人屏幕上现在的 4 位数字"
        if check.remaining == 0:
            message += "。错的次数已到上限，这个名字在本场活动中不能再签到了，请联系主持人或支部书记补签"
        elif check.remaining <= WARN_REMAINING:
            message += f"（还可以再试 {check.remaining} 次）"
    else:
        return None
    return Outcome(403, "error", message, "code", session.title, session.page_url)
