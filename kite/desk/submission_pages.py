"""The desk's side of members' submissions (contract, sections 5 and 6): quarterly reports to
read, suggestions to answer, and both as CSV and XLSX.

``DeskViews`` (web.py) routes these with its own; ``DeskGuard`` has already checked the
session, the CSRF token and the origin.  Every read and the answer go through the storage
layer with the account's scope, so a suggestion of another branch is missing (404), never
shown.  Name and contact are shown and exported only here, that is only to accounts whose
scope holds the suggestion's branch; the member's lookup page never shows them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..attendance.refs import show_ref
from ..attendance.submissions import Refused as TextRefused
from ..attendance.submissions import clean_text, quarter_label
from ..storage.desk import OutOfScope
from ..storage.submissions import ANSWERED, OPEN, STATUSES
from . import exports
from .guard import Refused, current_user, desk_root, form
from .records import parse_quarter

if TYPE_CHECKING:
    from .web import DeskViews

REPORTS_SHOWN = 300  # on the page, newest first; the downloads hold them all
SUGGESTIONS_SHOWN = 300
REPLY_LIMIT = 2000  # as long as a suggestion may be
# The suggestions page's filter: its query value, its label, and what it asks storage for.
SUGGESTION_FILTERS = {
    "": ("全部", {}),
    "open": ("待办", {"open_only": True}),
    **{status: (label, {"status": status}) for status, label in STATUSES.items()},
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Download = Callable[[bytes, str, str, str], Response]


class SubmissionPages:
    def __init__(self, views: "DeskViews", download: Download):
        self.views = views
        self.download = download

    def routes(self) -> list[Route]:
        return [
            Route("/reports", self.reports, methods=["GET"]),
            Route("/reports.csv", self.reports_csv, methods=["GET"]),
            Route("/reports.xlsx", self.reports_xlsx, methods=["GET"]),
            Route("/suggestions", self.suggestions, methods=["GET"]),
            Route("/suggestions.csv", self.suggestions_csv, methods=["GET"]),
            Route("/suggestions.xlsx", self.suggestions_xlsx, methods=["GET"]),
            Route("/suggestions/{suggestion}", self.answer, methods=["POST"]),
        ]

    @property
    def _submissions(self):
        return self.views.desk.submissions

    def _zone(self):
        return self.views.roster().config.zone

    # ---- Quarterly reports (每季一汇报) ------------------------------------------------------

    def _quarter(self, request: Request) -> str | None:
        text = request.query_params.get("quarter") or None
        if text is not None:
            try:
                parse_quarter(text)
            except ValueError:
                raise Refused(400, "季度不对", "季度应写成 2026Q4 这样：四位年份、字母 Q、季度 1 到 4。") from None
        return text

    def reports(self, request: Request) -> Response:
        user = current_user(request)
        quarter = self._quarter(request)
        found = self._submissions.reports(user.scope, quarter=quarter, limit=REPORTS_SHOWN + 1)
        quarters = self._submissions.report_quarters(user.scope)
        return self.views.page(request, "desk/reports.html", reports=found[:REPORTS_SHOWN],
                               more=len(found) > REPORTS_SHOWN, shown=REPORTS_SHOWN, quarter=quarter or "",
                               quarters=[(value, quarter_label(value)) for value in quarters],
                               quarter_label=quarter_label, query=_query(quarter=quarter))

    def reports_csv(self, request: Request) -> Response:
        return self._reports_file(request, "csv")

    def reports_xlsx(self, request: Request) -> Response:
        return self._reports_file(request, "xlsx")

    def _reports_file(self, request: Request, kind: str) -> Response:
        user = current_user(request)
        quarter = self._quarter(request)
        found = self._submissions.reports(user.scope, quarter=quarter)
        self.views.exported(request, f"每季一汇报 {quarter or '全部季度'}（{kind.upper()}）")
        name = f"每季一汇报-{quarter or '全部'}"
        if kind == "csv":
            return self.download(exports.reports_csv(found, self._zone()), "text/csv; charset=utf-8", f"{name}.csv",
                                 "reports.csv")
        return self.download(exports.reports_xlsx(found, self._zone()), XLSX, f"{name}.xlsx", "reports.xlsx")

    # ---- Suggestions (意见建议) --------------------------------------------------------------

    def _filter(self, value: object) -> str:
        if value is None:
            return ""
        if not isinstance(value, str) or value not in SUGGESTION_FILTERS:
            raise Refused(400, "筛选不对", "状态应为 open（待办）、received（已收到）、in_progress（办理中）或 answered（已答复）。")
        return value

    def suggestions(self, request: Request) -> Response:
        return self._suggestions_page(request, 200, self._filter(request.query_params.get("status")))

    def _suggestions_page(self, request: Request, status: int, chosen: str, *, problem: tuple[int, str] | None = None,
                          typed: dict | None = None) -> Response:
        user = current_user(request)
        found = self._submissions.suggestions(user.scope, limit=SUGGESTIONS_SHOWN + 1, **SUGGESTION_FILTERS[chosen][1])
        saved = request.query_params.get("saved", "")
        # A refused answer to one the filter or the page's length leaves out is said at the top instead.
        elsewhere = problem is not None and all(item.id != problem[0] for item in found[:SUGGESTIONS_SHOWN])
        return self.views.page(request, "desk/suggestions.html", status, suggestions=found[:SUGGESTIONS_SHOWN],
                               more=len(found) > SUGGESTIONS_SHOWN, shown=SUGGESTIONS_SHOWN, chosen=chosen,
                               filters=[(value, label) for value, (label, _) in SUGGESTION_FILTERS.items()],
                               statuses=STATUSES, open_statuses=OPEN, show_ref=show_ref,
                               saved=int(saved) if _small_id(saved) else None, problem=problem, typed=typed or {},
                               problem_elsewhere=elsewhere,
                               reply_limit=REPLY_LIMIT, query=_query(status=chosen))

    def suggestions_csv(self, request: Request) -> Response:
        return self._suggestions_file(request, "csv")

    def suggestions_xlsx(self, request: Request) -> Response:
        return self._suggestions_file(request, "xlsx")

    def _suggestions_file(self, request: Request, kind: str) -> Response:
        user = current_user(request)
        chosen = self._filter(request.query_params.get("status"))
        found = self._submissions.suggestions(user.scope, **SUGGESTION_FILTERS[chosen][1])
        label = SUGGESTION_FILTERS[chosen][0]
        self.views.exported(request, f"意见建议 {label}（{kind.upper()}）")
        name = f"意见建议-{label}"
        if kind == "csv":
            return self.download(exports.suggestions_csv(found, self._zone(), show_ref), "text/csv; charset=utf-8",
                                 f"{name}.csv", "suggestions.csv")
        return self.download(exports.suggestions_xlsx(found, self._zone(), show_ref), XLSX, f"{name}.xlsx",
                             "suggestions.xlsx")

    def answer(self, request: Request) -> Response:
        """Set one suggestion's status and reply; back to the list (303), or the list with the problem (400)."""
        user = current_user(request)
        text = request.path_params["suggestion"]
        if not _small_id(text):
            raise OutOfScope("suggestion")
        suggestion_id = int(text)
        fields = form(request)
        chosen = fields.one("shown")
        chosen = chosen if isinstance(chosen, str) and chosen in SUGGESTION_FILTERS else ""
        status, reply = fields.one("status"), fields.one("reply")
        typed = {suggestion_id: (status if isinstance(status, str) else "", reply if isinstance(reply, str) else "")}
        # Asked before the fields are judged: a suggestion out of scope is missing, whatever was sent.
        if self._submissions.suggestion(user.scope, suggestion_id) is None:
            raise OutOfScope("suggestion")
        try:
            status, reply = _answer_fields(status, reply)
        except TextRefused as refused:
            return self._suggestions_page(request, 400, chosen, problem=(suggestion_id, refused.message), typed=typed)
        label = STATUSES[status]

        def detail(branch: str, ref: str) -> str:
            return f"{branch}：建议 {show_ref(ref)} 设为“{label}”" + (f"，答复 {len(reply)} 字" if reply else "，没有答复")

        self.views.desk.answer_suggestion(user.scope, suggestion_id, status=status, reply=reply, now=self.views._now(),
                                          actor=user.login, detail=detail)
        root = desk_root(request, self.views.roster().config)
        query = urlencode({**({"status": chosen} if chosen else {}), "saved": suggestion_id})
        return RedirectResponse(f"{root}/suggestions?{query}#s-{suggestion_id}", status_code=303)


def _answer_fields(status: object, reply: object) -> tuple[str, str | None]:
    """The status key and the reply as stored (None when empty); ``TextRefused`` naming the field."""
    if not isinstance(status, str) or status not in STATUSES:
        raise TextRefused("请选择状态：已收到、办理中或已答复", "status")
    if reply is None or (isinstance(reply, str) and not reply.strip()):
        if status == ANSWERED:
            raise TextRefused("设为“已答复”时请写上答复，成员凭查询号会看到它", "reply")
        return status, None
    return status, clean_text(reply, "答复", 1, REPLY_LIMIT, field="reply")


def _small_id(value: object) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 15


def _query(**values: str | None) -> str:
    """A download link's query, keeping the page's filter."""
    kept = {key: value for key, value in values.items() if value}
    return "?" + urlencode(kept) if kept else ""

