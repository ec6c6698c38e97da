"""The check-in endpoint over HTTP (Starlette, served by uvicorn).

The HTTP layer only parses, answers and guards (body size, content type, origin);
``checkin.record`` decides, and ``kite.storage`` owns the database.  Database work
runs on a worker thread, so a server's round trips or a long export never hold up
other requests; SQLite's check-in joins the store's group commit and is awaited.
"""

from __future__ import annotations

import csv
import functools
import hmac
import io
import json
import logging
import os
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..desk.web import desk_mount
from ..formatting import Dates, zone_label
from ..spreadsheet import safe_cell as _cell
from ..storage import Store, StorageUnavailable, Submissions
from .checkin import Outcome, clean, record, record_async
from .confirmation import MAX_AGE, Confirmation, Confirmations, LinkInvalid, SignedLinks
from .livecode import live_codes
from .receipts import ReportReceipt, ReportReceipts
from .refs import read_ref, show_ref
from .secret import shared_secret
from .sessions import Roster
from .submissions import Answer, quarter_label, record_report, record_suggestion, suggestion_progress
from .templating import EndpointPages

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
# A 5,000-character Chinese report sent by a plain form is about 45 KB URL-encoded.
SUBMISSION_MAX_BODY = 64 * 1024
TOKEN_VARIABLE = "ATTENDANCE_EXPORT_TOKEN"
FORM = "application/x-www-form-urlencoded"
# Seconds a client should wait before trying again when the database cannot write.
RETRY_AFTER = "5"
NOT_SAVED = "数据库暂时无法写入，这次签到没有保存，请稍等片刻再提交一次"


class BadRequest(Exception):
    def __init__(self, status: int, message: str, field: str):
        self.status, self.message, self.field = status, message, field


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def create_app(store: Store, roster: Callable[[], Roster], *, extra_origins: tuple[str, ...] = (),
               export_token: str | None = None, secret_key: str | None = None,
               clock: Callable[[], datetime] = utc_now) -> Starlette:
    """The endpoint.  ``roster`` returns the current sessions and branches (they may be reloaded).

    ``secret_key`` signs confirmation links and keys live codes (default: $KITE_SECRET_KEY,
    else the secret every instance finds in the database).  ``clock`` gives the time
    (aware): check-in windows, live codes and the time stored all follow it.
    """
    token = export_token if export_token is not None else os.environ.get(TOKEN_VARIABLE, "")
    pages = EndpointPages(lambda: roster().config)
    secret = shared_secret(store, secret_key)
    confirmations = Confirmations(secret.value)
    live = live_codes(secret, store)

    def unavailable(request: Request, fault: StorageUnavailable, message: str, *, page: bool = False,
                    heading: str = "签到没有保存",
                    page_message: str = "数据库暂时无法写入，这次签到没有保存。请稍等片刻，返回上一页再提交一次。") -> Response:
        """503 with Retry-After: the database could not take the request, and nothing was saved.

        ``page``: a form post gets a readable page (``heading``, ``page_message``) instead of JSON.
        """
        # Only the driver's error class is logged: an error's text could carry a member's name.
        log.warning("数据库暂时不可用（%s），已回答 503", fault)
        if page:
            response = pages.render(request, "problem.html", 503, heading=heading, message=page_message, page_url="")
        else:
            response = JSONResponse({"error": message}, status_code=503, headers={"Cache-Control": "no-store"})
        response.headers["Retry-After"] = RETRY_AFTER
        return response

    def allowed_origins() -> set[str]:
        return {origin_of(roster().config.site_url), *extra_origins}

    def cors(request: Request, response: Response) -> Response:
        origin = request.headers.get("origin")
        if origin and origin in allowed_origins():
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type, Accept"
            response.headers["Access-Control-Max-Age"] = "86400"
        response.headers["Vary"] = "Origin"
        return response

    async def preflight(request: Request) -> Response:
        if request.headers.get("origin") not in allowed_origins():
            return cors(request, JSONResponse({"error": "不接受来自其他网站的签到", "field": "origin"}, status_code=403))
        return cors(request, Response(status_code=204))

    async def read_fields(request: Request, refusal: str, limit: int = MAX_BODY, what: str = "签到") -> dict[str, Any]:
        """A posted form or JSON body's fields, from this site's pages (or no browser) only; raises BadRequest.

        ``what`` names the thing sent (签到, 汇报, 建议) in the refusal of a body of another type."""
        origin = request.headers.get("origin")
        if origin is not None and origin not in allowed_origins():
            raise BadRequest(403, refusal, "origin")
        return _parse(await _read_body(request, limit), request.headers.get("content-type", ""), what)

    async def checkin(request: Request) -> Response:
        wants_json = _wants_json(request)
        now = clock()
        try:
            fields = await read_fields(request, "不接受来自其他网站的签到")
        except BadRequest as bad:
            outcome = Outcome(bad.status, "error", bad.message, bad.field)
        else:
            try:
                if not wants_json and not secret.known:
                    # The confirmation link needs the secret: read it before storing, so
                    # that a database fault answers 503 for a check-in that was not stored.
                    await run_in_threadpool(secret.value)
                if store.commits_in_groups:  # SQLite: waits for its group commit, no thread of its own
                    outcome = await record_async(store, roster(), fields, now, live)
                else:
                    outcome = await run_in_threadpool(record, store, roster(), fields, now, live)
            except StorageUnavailable as fault:
                return cors(request, unavailable(request, fault, NOT_SAVED, page=not wants_json))
        if wants_json:
            return cors(request, _json_answer(outcome))
        if not outcome.stored:
            return cors(request, pages.render(request, "problem.html", outcome.status, heading="签到没有成功",
                                              message=outcome.message, page_url=outcome.page_url))
        # The confirmation page shows what this signed link carries: the values as stored.
        stored = [clean(field, fields.get(field))[0] or "" for field in ("session", "branch", "name")]
        link = confirmations.link(Confirmation(outcome.state, *stored, now))
        # Relative, so the answer is right behind a proxy that mounts the endpoint under a path.
        return cors(request, RedirectResponse(link, status_code=303))

    async def read_link(request: Request, links: SignedLinks, unaffected: str) -> Any:
        """What the signed link in ?t= carries, or the page saying why it cannot be shown (a Response)."""
        try:
            if not secret.known:
                await run_in_threadpool(secret.value)
            return links.read(request.query_params.get("t", ""), clock())
        except StorageUnavailable as fault:
            return unavailable(request, fault, "数据库暂时无法读取，请稍后再打开这个链接", page=True, heading="暂时打不开",
                               page_message=f"数据库暂时无法读取，请稍等片刻再打开这个链接。{unaffected}")
        except LinkInvalid as problem:
            return pages.render(request, "checkin_link.html", 410 if problem.expired else 400,
                                expired=problem.expired, max_days=MAX_AGE.days)

    async def done(request: Request) -> Response:
        confirmation = await read_link(request, confirmations, "签到记录不受影响。")
        if isinstance(confirmation, Response):
            return confirmation
        current = roster()
        session = current.sessions.get(confirmation.session)
        dates = Dates(current.config.zone)
        return pages.render(
            request, "checkin_done.html", recorded=confirmation.recorded,
            kind="党课" if confirmation.session.startswith("lessons/") else "活动",
            title=session.title if session else confirmation.session, page_url=session.page_url if session else "",
            name=confirmation.name, branch=confirmation.branch,
            when=f"{dates.day_and_time(confirmation.at)}（{dates.label}）")

    async def export(request: Request) -> Response:
        supplied = request.headers.get("authorization", "")
        expected = f"Bearer {token}"
        if not token:
            return JSONResponse({"error": f"导出功能已关闭：签到服务没有设置环境变量 {TOKEN_VARIABLE}", "field": "authorization"},
                                status_code=401, headers={"WWW-Authenticate": 'Bearer realm="kite-attendance"'})
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            return JSONResponse({"error": "需要正确的导出口令（Authorization: Bearer …）", "field": "authorization"},
                                status_code=401, headers={"WWW-Authenticate": 'Bearer realm="kite-attendance"'})
        session = request.query_params.get("session") or None
        if session is not None:
            session, problem = clean("session", session)
            if problem:
                return JSONResponse({"error": problem.message, "field": "session"}, status_code=400)
        current = roster()
        try:
            text = await run_in_threadpool(export_csv, store, current, session)
        except StorageUnavailable as fault:
            return unavailable(request, fault, "数据库暂时无法读取，请稍后再导出")
        filename = "attendance.csv"
        return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})

    async def health(request: Request) -> Response:
        try:
            await run_in_threadpool(store.ping)
        except StorageUnavailable as fault:
            return unavailable(request, fault, "数据库暂时无法连接")
        return JSONResponse({"status": "ok"})

    # ---- Member submissions (issue 13): quarterly reports and suggestions.  submissions.py decides,
    # kite/storage/submissions.py stores; these only parse, answer and guard, as for check-ins.
    submissions = Submissions(store)
    receipts = ReportReceipts(secret.value)

    async def submit(request: Request, recorder: Callable[..., Answer], what: str,
                     confirmed: Callable[[Answer, datetime], str]) -> Response:
        """A report or suggestion posted by a form or as JSON; ``confirmed`` gives a form's 303 target."""
        wants_json = _wants_json(request)
        now = clock()
        try:
            fields = await read_fields(request, "不接受来自其他网站的提交", SUBMISSION_MAX_BODY, what)
        except BadRequest as bad:
            answer = Answer(bad.status, "error", bad.message, bad.field)
        else:
            try:
                if not wants_json and not secret.known:
                    await run_in_threadpool(secret.value)  # a receipt needs it: a fault answers 503 before storing
                answer = await run_in_threadpool(recorder, submissions, roster(), fields, now)
            except StorageUnavailable as fault:
                return cors(request, unavailable(
                    request, fault, f"数据库暂时无法写入，这份{what}没有保存，请稍等片刻再提交一次", page=not wants_json,
                    heading=f"{what}没有保存", page_message=f"数据库暂时无法写入，这份{what}没有保存。请稍等片刻，返回上一页再提交一次。"))
        if wants_json:
            return cors(request, JSONResponse(answer.json(), status_code=answer.status, headers={"Cache-Control": "no-store"}))
        if not answer.stored:
            return cors(request, pages.render(request, "submission_problem.html", answer.status,
                                              heading=f"{what}没有提交成功", message=answer.message))
        return cors(request, RedirectResponse(confirmed(answer, now), status_code=303))

    async def report(request: Request) -> Response:
        return await submit(request, record_report, "汇报", lambda answer, now: receipts.link(ReportReceipt(
            answer.state, answer.values["branch"], answer.values["name"], answer.quarter, now)))

    async def report_done(request: Request) -> Response:
        receipt = await read_link(request, receipts, "汇报本身不受影响。")
        if isinstance(receipt, Response):
            return receipt
        config = roster().config
        dates = Dates(config.zone)
        return pages.render(request, "report_done.html", recorded=receipt.recorded, quarter=quarter_label(receipt.quarter),
                            name=receipt.name, branch=receipt.branch, page_url=config.site_url + "report/",
                            when=f"{dates.day_and_time(receipt.at)}（{dates.label}）")

    async def suggestion(request: Request) -> Response:
        # Relative, like the check-in's confirmation: …/suggestion answers …/suggestion/REF.
        return await submit(request, record_suggestion, "建议", lambda answer, now: "suggestion/" + answer.ref + "?"
                            + urlencode({"sent": "new" if answer.state == "recorded" else "again"}))

    async def find_suggestion(request: Request) -> Response:
        """The lookup form's GET ?ref=: on to the suggestion's own address."""
        typed = request.query_params.get("ref", "")
        ref = read_ref(typed)
        if ref is None and _wants_json(request):
            return JSONResponse({"error": "查询号应为 10 位字母和数字，例如 K7Q2-M9XD-4R", "field": "ref"},
                                status_code=404 if typed.strip() else 400, headers={"Cache-Control": "no-store"})
        if ref is None:
            return pages.render(request, "suggestion_missing.html", 404 if typed.strip() else 400, ref=typed.strip()[:64],
                                well_formed=False, lookup_action="suggestion", page_url=roster().config.site_url + "suggest/")
        return RedirectResponse("suggestion/" + show_ref(ref), status_code=303)

    async def show_suggestion(request: Request) -> Response:
        typed = request.path_params["ref"]
        try:
            progress = await run_in_threadpool(suggestion_progress, submissions, typed)
        except StorageUnavailable as fault:
            return cors(request, unavailable(request, fault, "数据库暂时无法读取，请稍后再查", page=not _wants_json(request),
                                             heading="暂时查不到", page_message="数据库暂时无法读取，请稍等片刻再查一次。"))
        config = roster().config
        if _wants_json(request):
            if progress is None:
                found = JSONResponse({"error": "没有这个查询号的建议，请核对后再查", "field": "ref"}, status_code=404)
            else:
                found = JSONResponse({
                    "ref": show_ref(progress.ref), "status": progress.status_label, "reply": progress.reply,
                    "category": progress.category, "received_at": progress.received_at.isoformat(),
                    "replied_at": progress.replied_at.isoformat() if progress.replied_at else None})
            found.headers["Cache-Control"] = "no-store"
            return cors(request, found)
        if progress is None:
            return cors(request, pages.render(request, "suggestion_missing.html", 404, ref=typed[:64],
                                              well_formed=read_ref(typed) is not None, lookup_action="../suggestion",
                                              page_url=config.site_url + "suggest/"))
        dates = Dates(config.zone)
        return cors(request, pages.render(
            request, "suggestion.html", sent=_one_of(request.query_params.get("sent"), ("new", "again")), ref=show_ref(progress.ref),
            branch=progress.branch, category=progress.category, progress=progress.status_label, reply=progress.reply or "",
            received=dates.day_and_time(progress.received_at),
            replied=dates.day_and_time(progress.replied_at) if progress.replied_at else "", zone=dates.label,
            lookup_action="../suggestion", page_url=config.site_url + "suggest/"))

    routes = [
        # The desk (工作台) for branch secretaries: its own routes, guard and pages (kite/desk/web.py).
        desk_mount(store, roster, pages, live=live, clock=clock),
        Route("/checkin", checkin, methods=["POST"]),
        Route("/checkin", preflight, methods=["OPTIONS"]),
        Route("/checkin/done", done, methods=["GET"]),
        Route("/export.csv", export, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/report", report, methods=["POST"]),
        Route("/report", preflight, methods=["OPTIONS"]),
        Route("/report/done", report_done, methods=["GET"]),
        Route("/suggestion", suggestion, methods=["POST"]),
        Route("/suggestion", preflight, methods=["OPTIONS"]),
        Route("/suggestion", find_suggestion, methods=["GET"]),
        Route("/suggestion/{ref}", show_suggestion, methods=["GET"]),
    ]

    async def not_found(request: Request, error: Exception) -> Response:
        """A path the endpoint does not have, or a method a path does not take: said in the members'
        language and the endpoint's look, in place of Starlette's plain English."""
        status = getattr(error, "status_code", 404)
        heading, message = _NOT_FOUND.get(status, _NOT_FOUND[404])
        headers = {**(getattr(error, "headers", None) or {}), "Cache-Control": "no-store"}  # 405 keeps its Allow
        if _wants_json(request):
            return JSONResponse({"error": message}, status_code=status, headers=headers)
        response = pages.render(request, "problem.html", status, heading=heading, message=message,
                                page_url=pages.site().site_url)
        response.headers.update(headers)
        return response

    def endpoint_path() -> str:
        attendance = roster().config.attendance
        return _decoded_path(attendance.endpoint) if attendance is not None else ""

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found},
                     middleware=[Middleware(EndpointPath, routes=routes, prefix=endpoint_path)])


@functools.lru_cache(maxsize=8)
def _decoded_path(endpoint: str) -> str:
    """The endpoint's path as the server sees paths: decoded, so that a Chinese path typed either way
    matches.  Asked on every request; the config changes seldom."""
    return unquote(urlsplit(endpoint).path).rstrip("/")


class EndpointPath:
    """The endpoint answers at its root and also under ``attendance.endpoint``'s path.

    The contract's paths are relative to that URL: with ``https://example.org/checkin`` the
    pages post to ``/checkin/checkin`` and the desk is ``/checkin/desk/``.  A proxy may strip
    the path before passing the request on, or ``attend`` may be reached with nothing in front
    (``http://127.0.0.1:8001/checkin``): both must work.  A path that is one of ours as it stands
    (``/checkin/done`` under ``/checkin``) is kept, so a stripped request is never stripped twice.
    """

    def __init__(self, app: ASGIApp, routes: list[BaseRoute], prefix: Callable[[], str]):
        self.app, self.routes, self.prefix = app, routes, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            prefix = self.prefix()
            path = scope["path"]
            if prefix and path.startswith(prefix + "/") and \
                    all(route.matches(scope)[0] == Match.NONE for route in self.routes):
                inner = path[len(prefix):]
                scope = {**scope, "path": inner, "raw_path": quote(inner).encode("ascii")}
        await self.app(scope, receive, send)


_NOT_FOUND = {404: ("没有这个页面", "这个地址不存在，请检查网址是否完整，或从网站首页重新进入。"),
              405: ("不支持这种访问方式", "这个地址不接受这种请求方式（例如直接打开了只用于提交表单的地址），请从网站的页面上提交。")}


def _one_of(value: str | None, choices: tuple[str, ...]) -> str:
    return value if value in choices else ""


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    content_type = request.headers.get("content-type", "")
    return "application/json" in accept or content_type.split(";")[0].strip().lower() == "application/json"


async def _read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        # ASCII digits only ("²".isdigit() is true) and never int() on thousands of them (ValueError):
        # uvicorn's parser already refuses these, the check holds under any other server too.
        if not (declared.isascii() and declared.isdigit()):
            raise BadRequest(400, "请求格式不正确", "body")
        if len(declared) > 15 or int(declared) > limit:
            raise BadRequest(413, "提交的内容太大", "body")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise BadRequest(413, "提交的内容太大", "body")
    except ClientDisconnect:
        # Gone before the body was complete (a dropped phone connection, a lying Content-Length):
        # nothing is stored, and the answer reaches nobody, so no traceback for the log either.
        raise BadRequest(400, "提交的内容不完整", "body") from None
    return bytes(body)


# Fields a refusal may name; any other key is reported as the body's fault.
_FIELDS = ("session", "branch", "name", "code", "text", "category", "contact")


def _parse(body: bytes, content_type: str, what: str = "签到") -> dict[str, Any]:
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            data = json.loads(body, object_pairs_hook=_unique_keys)
        # RecursionError: nesting deep enough to exhaust the parser still fits in the body limit.
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise BadRequest(400, "提交的数据不是有效的 JSON", "body")
        if not isinstance(data, dict):
            raise BadRequest(400, "提交的数据应为 JSON 对象", "body")
        return data
    if kind == FORM:
        try:
            text = body.decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise BadRequest(400, "提交的数据不是有效的 UTF-8 文字", "body")
        return _unique_keys(pairs)
    raise BadRequest(400, f"只接受表单或 JSON 格式的{what}", "content-type")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A form's or JSON object's fields, refused when a key repeats: which one counts would be a guess."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise BadRequest(400, "同一个字段提交了多次", key if key in _FIELDS else "body")
        found[key] = value
    return found


def _json_answer(outcome: Outcome) -> Response:
    if outcome.stored:
        # Exactly the contract's answer (section 4): the page says 签到成功 or 已经签到 from the status.
        return JSONResponse({"status": outcome.state}, status_code=outcome.status)
    return JSONResponse({"error": outcome.message, "field": outcome.field}, status_code=outcome.status)


def export_csv(store: Store, roster: Roster, session: str | None) -> str:
    """UTF-8 with a byte-order mark, which WPS and Excel need to read Chinese correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    zone = roster.config.zone
    writer.writerow([f"签到时间（{zone_label(zone)}）", "场次", "页面", "联合党委", "支部", "姓名"])
    for checkin in store.checkins(session):
        known = roster.sessions.get(checkin.session)
        writer.writerow([_cell(v) for v in (
            checkin.checked_in_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            known.title if known else "",
            checkin.session,
            roster.branch_groups.get(checkin.branch, ""),
            checkin.branch,
            checkin.name,
        )])
    return "\ufeff" + out.getvalue()
