"""The check-in endpoint over HTTP (Starlette, served by uvicorn).

The HTTP layer only parses, answers and guards (body size, content type, origin);
``checkin.record`` decides, and ``kite.storage`` owns the database.  Database work
runs on a worker thread, so a server's round trips or a long export never hold up
other requests; only SQLite's check-in write, shorter than a thread hop, runs in place.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import logging
import os
from html import escape
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..formatting import BEIJING
from ..storage import Store, StorageUnavailable
from .checkin import Outcome, clean, record
from .sessions import Roster

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
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


def create_app(store: Store, roster: Callable[[], Roster], *, extra_origins: tuple[str, ...] = (),
               export_token: str | None = None) -> Starlette:
    """The endpoint.  ``roster`` returns the current sessions and branches (they may be reloaded)."""
    token = export_token if export_token is not None else os.environ.get(TOKEN_VARIABLE, "")

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

    async def checkin(request: Request) -> Response:
        wants_json = _wants_json(request)
        origin = request.headers.get("origin")
        try:
            if origin is not None and origin not in allowed_origins():
                raise BadRequest(403, "不接受来自其他网站的签到", "origin")
            fields = _parse(await _read_body(request), request.headers.get("content-type", ""))
        except BadRequest as bad:
            outcome = Outcome(bad.status, "error", bad.message, bad.field)
        else:
            try:
                if store.in_process:  # SQLite: cheaper in place than a thread hop (see Store.in_process)
                    outcome = record(store, roster(), fields)
                else:
                    outcome = await run_in_threadpool(record, store, roster(), fields)
            except StorageUnavailable as fault:
                return cors(request, _unavailable(fault, NOT_SAVED, page=not wants_json))
        return cors(request, _answer(request, outcome, fields if outcome.stored else {}, wants_json))

    async def done(request: Request) -> Response:
        state = request.query_params.get("state")
        current = roster()
        session = current.sessions.get(request.query_params.get("session", ""))
        if state not in ("recorded", "duplicate") or session is None:
            return HTMLResponse(_page("找不到签到记录", "<p>这个链接不完整。请回到页面重新签到。</p>"), status_code=404)
        name = escape(request.query_params.get("name", ""))
        heading = "签到成功" if state == "recorded" else "已经签到"
        detail = "本次签到已记录。" if state == "recorded" else "你之前已经签到过了，不用重复签到。"
        body = (f"<p>{detail}</p><p>{escape(session.title)}{'<br>' + name if name else ''}</p>"
                f'<p><a href="{escape(session.page_url)}">返回页面</a></p>')
        return HTMLResponse(_page(heading, body))

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
            return _unavailable(fault, "数据库暂时无法读取，请稍后再导出")
        filename = "attendance.csv"
        return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})

    async def health(request: Request) -> Response:
        try:
            await run_in_threadpool(store.ping)
        except StorageUnavailable as fault:
            return _unavailable(fault, "数据库暂时无法连接")
        return JSONResponse({"status": "ok"})

    routes = [
        Route("/checkin", checkin, methods=["POST"]),
        Route("/checkin", preflight, methods=["OPTIONS"]),
        Route("/checkin/done", done, methods=["GET"]),
        Route("/export.csv", export, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    content_type = request.headers.get("content-type", "")
    return "application/json" in accept or content_type.split(";")[0].strip().lower() == "application/json"


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest(400, "请求格式不正确", "body")
        if int(declared) > MAX_BODY:
            raise BadRequest(413, "提交的内容太大", "body")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadRequest(413, "提交的内容太大", "body")
    return bytes(body)


def _parse(body: bytes, content_type: str) -> dict[str, Any]:
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
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
        fields: dict[str, Any] = {}
        for key, value in pairs:
            if key in fields:
                raise BadRequest(400, "同一个字段提交了多次", key if key in ("session", "branch", "name") else "body")
            fields[key] = value
        return fields
    raise BadRequest(400, "只接受表单或 JSON 格式的签到", "content-type")


def _answer(request: Request, outcome: Outcome, fields: dict[str, Any], wants_json: bool) -> Response:
    if wants_json:
        if outcome.stored:
            return JSONResponse({"status": outcome.state, "message": outcome.message}, status_code=outcome.status)
        return JSONResponse({"error": outcome.message, "field": outcome.field}, status_code=outcome.status)
    if outcome.stored:
        query = urlencode({"state": outcome.state, "session": fields.get("session", ""), "name": fields.get("name", "")})
        # Relative, so the answer is right behind a proxy that mounts the endpoint under a path.
        return RedirectResponse(f"checkin/done?{query}", status_code=303)
    back = f'<p><a href="{escape(outcome.page_url)}">返回页面</a></p>' if outcome.page_url else "<p>请返回上一页修改后再提交。</p>"
    return HTMLResponse(_page("签到没有成功", f"<p>{escape(outcome.message)}</p>{back}"), status_code=outcome.status)


def _unavailable(fault: StorageUnavailable, message: str, *, page: bool = False) -> Response:
    """503 with Retry-After: the database could not take the request, and nothing was saved.

    ``page``: a form post gets a readable page instead of JSON.
    """
    # Only the driver's error class is logged: an error's text could carry a member's name.
    log.warning("数据库暂时不可用（%s），已回答 503", fault)
    headers = {"Retry-After": RETRY_AFTER, "Cache-Control": "no-store"}
    if not page:
        return JSONResponse({"error": message}, status_code=503, headers=headers)
    body = "<p>数据库暂时无法写入，<strong>这次签到没有保存</strong>。</p><p>请稍等片刻，返回上一页再提交一次。</p>"
    return HTMLResponse(_page("签到没有保存", body), status_code=503, headers=headers)


def _page(heading: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(heading)}</title>"
        "<style>body{font:18px/1.7 system-ui,sans-serif;margin:0;padding:1.5rem;color:#222}"
        "h1{color:#b71c1c;font-size:1.6rem}a{color:#b71c1c;display:inline-block;padding:.5rem 0}</style>"
        f"</head><body><h1>{escape(heading)}</h1>{body}</body></html>"
    )


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    # A leading apostrophe stops Excel and WPS from running a cell as a formula.
    return "'" + value if value.startswith(_FORMULA_START) else value


def export_csv(store: Store, roster: Roster, session: str | None) -> str:
    """UTF-8 with a byte-order mark, which WPS and Excel need to read Chinese correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["签到时间（北京时间）", "场次", "页面", "联合党委", "支部", "姓名"])
    for checkin in store.checkins(session):
        known = roster.sessions.get(checkin.session)
        writer.writerow([_cell(v) for v in (
            checkin.checked_in_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            known.title if known else "",
            checkin.session,
            roster.branch_groups.get(checkin.branch, ""),
            checkin.branch,
            checkin.name,
        )])
    return "\ufeff" + out.getvalue()
