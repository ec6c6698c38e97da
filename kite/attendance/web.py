"""The check-in endpoint over HTTP (Starlette, served by uvicorn).

The HTTP layer only parses, answers and guards (body size, content type, origin);
``checkin.record`` decides, and ``store.Store`` owns the database.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import logging
import os
import sqlite3
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..formatting import Dates, zone_label
from ..spreadsheet import safe_cell as _cell
from .checkin import Outcome, clean, record
from .confirmation import MAX_AGE, Confirmation, Confirmations, LinkInvalid
from .sessions import Roster
from .store import Store
from .templating import EndpointPages

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
TOKEN_VARIABLE = "ATTENDANCE_EXPORT_TOKEN"
FORM = "application/x-www-form-urlencoded"


class BadRequest(Exception):
    def __init__(self, status: int, message: str, field: str):
        self.status, self.message, self.field = status, message, field


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def create_app(store: Store, roster: Callable[[], Roster], *, extra_origins: tuple[str, ...] = (),
               export_token: str | None = None, signing_key: str | None = None) -> Starlette:
    """The endpoint.  ``roster`` returns the current sessions and branches (they may be reloaded).

    ``signing_key`` signs confirmation links (default: $KITE_SECRET_KEY, else a key of this process's own).
    """
    token = export_token if export_token is not None else os.environ.get(TOKEN_VARIABLE, "")
    pages = EndpointPages(lambda: roster().config)
    confirmations = Confirmations(signing_key)

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
        now = datetime.now(timezone.utc)
        origin = request.headers.get("origin")
        try:
            if origin is not None and origin not in allowed_origins():
                raise BadRequest(403, "不接受来自其他网站的签到", "origin")
            fields = _parse(await _read_body(request), request.headers.get("content-type", ""))
        except BadRequest as bad:
            outcome = Outcome(bad.status, "error", bad.message, bad.field)
        else:
            try:
                outcome = record(store, roster(), fields, now)
            except sqlite3.OperationalError:
                log.exception("签到数据库暂时不可用")
                response = JSONResponse({"error": "签到服务繁忙，请稍后再试", "field": None}, status_code=503,
                                        headers={"Retry-After": "5"})
                return cors(request, response)
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

    async def done(request: Request) -> Response:
        try:
            confirmation = confirmations.read(request.query_params.get("t", ""))
        except LinkInvalid as problem:
            return pages.render(request, "checkin_link.html", 410 if problem.expired else 400,
                                expired=problem.expired, max_days=MAX_AGE.days)
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
        if not token or not hmac.compare_digest(supplied.encode(), expected.encode()):
            return JSONResponse({"error": "需要正确的导出口令（Authorization: Bearer …）", "field": "authorization"},
                                status_code=401, headers={"WWW-Authenticate": 'Bearer realm="kite-attendance"'})
        session = request.query_params.get("session") or None
        current = roster()
        text = export_csv(store, current, session)
        filename = "attendance.csv"
        return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})

    async def health(request: Request) -> Response:
        store.connection.execute("SELECT 1").fetchone()
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


def _json_answer(outcome: Outcome) -> Response:
    if outcome.stored:
        return JSONResponse({"status": outcome.state, "message": outcome.message}, status_code=outcome.status)
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
