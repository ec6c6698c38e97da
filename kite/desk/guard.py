"""Who is asking, and may they: the one place the desk decides it (contract, section 5).

``DeskGuard`` is middleware on the ``/desk`` mount, so it runs before every desk route,
including one added tomorrow.  For each request, in this order:

1. a ``POST`` whose ``Origin`` is present but not the endpoint's own (the origin of
   ``attendance.endpoint``, or the request's own scheme and host), or that has no ``Origin``
   but a ``Referer`` from elsewhere: 403;
2. the session cookie is looked up (server-side sessions, shared by every instance):
   ``request.state.desk`` becomes a ``DeskUser`` (the account, its scope resolved against
   the config as loaded now, the session's CSRF token) or None;
3. any page but the login page without a live session: 303 to the login page;
4. a ``POST`` body is read here, no more than ``MAX_FORM`` (``MAX_UPLOAD`` for a multipart
   upload) bytes, 413 beyond, and parsed once into ``request.state.form``;
5. a ``POST`` without the right ``csrf`` field: 403, before the view runs.  The session's
   token for a logged-in user; on the login form, where no session exists yet, a token of
   its own that must equal the one in the login cookie set with the form.

Views then only ask: ``current_user(request)`` and ``form(request)``.  ``OutOfScope`` from
the storage layer becomes 404, ``StorageUnavailable`` 503, whichever view raised it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from starlette._utils import get_route_path
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope as AsgiScope, Send

from ..config import SiteConfig
from ..storage import StorageUnavailable
from ..storage.desk import Account, DeskStore, OutOfScope
from .logins import same_token, token_hash
from .scope import Scope, ScopeError, resolve_scope

SESSION_COOKIE = "kite_desk"
LOGIN_COOKIE = "kite_desk_login"
CSRF_FIELD = "csrf"
PUBLIC = {"/login"}  # paths under /desk that need no session
MAX_FORM = 64 * 1024
MAX_UPLOAD = 6 * 1024 * 1024  # the roster reader's own limit is 5 MB; the rest is multipart's wrapping
RETRY_AFTER = "5"
# Every desk answer: never cached on the way (names of members), never framed (the forms),
# nothing loaded or run from anywhere (the pages need no script at all).
HARDENING = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # connect-src 'self': no script runs here, but auditing tools fetch /robots.txt from the page.
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
}
# The one page with a script, the live host view: a file of the desk's own (never inline) that
# swaps in the next code and count without reloading the shared screen.  A view may set this
# policy and no other; the page works without the script.
SCRIPTED_CSP = HARDENING["Content-Security-Policy"] + "; script-src 'self'"


@dataclass(frozen=True)
class DeskUser:
    account: Account
    scope: Scope  # resolved now: a committee renamed in the config shows nothing rather than a guess
    csrf_token: str
    token_hash: str

    @property
    def login(self) -> str:
        return self.account.login


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


class Refused(Exception):
    """The guard's answer instead of the view's: a status and a message for the page."""

    def __init__(self, status: int, heading: str, message: str):
        self.status, self.heading, self.message = status, heading, message


def current_user(request: Request) -> DeskUser:
    """The logged-in user; the guard has already turned everyone else away."""
    return request.state.desk


class Fields(dict):
    """A POST's fields: each name with its values, in the order sent."""

    def one(self, name: str) -> str | Upload | None:
        """The field's value, None if it was not sent; a field sent twice is refused (400)."""
        values = self.get(name, [])
        if len(values) > 1:
            raise Refused(400, "提交的内容有误", "同一个字段提交了多次。")
        return values[0] if values else None

    def all(self, name: str) -> list[str | Upload]:
        """Every value of a field that may repeat, e.g. the records ticked in a list."""
        return list(self.get(name, []))


def form(request: Request) -> Fields:
    return request.state.form


def endpoint_origin(config: SiteConfig) -> str | None:
    if config.attendance is None:
        return None
    parts = urlsplit(config.attendance.endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def _origin(url: str, *, exact: bool = False) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL as a browser serialises it; None if there is none.

    ``exact``: an ``Origin`` header, which is nothing but that (a path, even ``/``, or ``null``
    is no origin of ours).
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    if exact and (parts.path or parts.query or parts.fragment or url != url.strip()):
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != {"http": 80, "https": 443}[scheme] else "")


def desk_root(request: Request, config: SiteConfig) -> str:
    """The desk's path as the browser sees it: ``/desk``, or ``/checkin/desk`` behind a proxy
    that serves the endpoint under ``attendance.endpoint``'s path.

    The request came through that address when its Host is the endpoint's (nginx passes
    Host on); a request straight to ``attend`` (tests, curl on the server) gets ``/desk``.
    """
    if config.attendance is not None:
        parts = urlsplit(config.attendance.endpoint)
        # As origins, in the endpoint's scheme: `Example.org:443` in the config is the `example.org` browsers send.
        public = _origin(f"{parts.scheme}://{parts.netloc}")
        if public is not None and _origin(f"{parts.scheme}://{request.headers.get('host', '')}", exact=True) == public:
            return parts.path.rstrip("/") + "/desk"
    return "/desk"


def secure_cookies(config: SiteConfig) -> bool:
    """Cookies are ``Secure`` exactly when the endpoint's public address is https."""
    return config.attendance is not None and config.attendance.endpoint.startswith("https://")


class DeskGuard:
    def __init__(self, app: ASGIApp, desk: DeskStore, config: Callable[[], SiteConfig],
                 refuse: Callable[[Request, Refused], Response],
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.app = app
        self.desk = desk
        self.config = config
        self.refuse = refuse  # renders a Refused as the desk's page
        # The endpoint's clock, as the login that started the session used: on two clocks a
        # session started at one's time looked idle for hours, or never, by the other's.
        self.clock = clock

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)

        async def hardened(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HARDENING.items():
                    if name == "Cache-Control" and name in headers:
                        continue
                    if name == "Content-Security-Policy" and headers.get(name) == SCRIPTED_CSP:
                        continue
                    headers[name] = value
            await send(message)

        try:
            response = await self._check(request)
            if response is None:
                await self.app(scope, receive, hardened)
                return
        except Refused as refused:
            response = self.refuse(request, refused)
        except OutOfScope:
            response = self.refuse(request, Refused(404, "没有这个页面", "这个页面不存在，或者不在你的账号的范围内。"))
        except StorageUnavailable:
            response = self.refuse(request, Refused(503, "暂时无法使用", "数据库暂时无法使用，刚才的操作没有完成。请稍等片刻再试。"))
            response.headers["Retry-After"] = RETRY_AFTER
        await response(scope, receive, hardened)

    async def _check(self, request: Request) -> Response | None:
        request.state.desk, request.state.form = None, Fields()  # until known: a refusal's page renders without them
        config = self.config()
        posting = request.method == "POST"
        if posting and not self._same_origin(request, config):
            raise Refused(403, "不能提交", "这个请求来自其他网站，工作台不接受。")
        request.state.desk = await self._user(request, config)
        public = get_route_path(request.scope) in PUBLIC
        if request.state.desk is None and not public:
            return RedirectResponse(desk_root(request, config) + "/login", status_code=303)
        request.state.form = await _read_form(request) if posting else Fields()
        if posting:
            expected = request.cookies.get(LOGIN_COOKIE, "") if public else request.state.desk.csrf_token
            if not expected or not same_token(request.state.form.one(CSRF_FIELD), expected):
                raise Refused(403, "页面已过期", "这个表单已经过期或不完整，什么也没有改动。请返回，刷新页面后再提交一次。")
        return None

    def _same_origin(self, request: Request, config: SiteConfig) -> bool:
        """Is a POST from the endpoint's own pages, as far as the browser says?

        Origins are compared as browsers serialise them (RFC 6454: scheme and host in lower
        case, no default port), so a config that writes ``https://Dangke.example.org:443`` still
        accepts its own pages.  A browser that sends no ``Origin`` sends a ``Referer`` from a
        page of ours (the desk's ``Referrer-Policy: same-origin``); a foreign one is refused,
        none at all is left to the CSRF token.
        """
        own = {_origin(f"{request.url.scheme}://{request.headers.get('host', '')}"),
               _origin(endpoint_origin(config) or "")} - {None}
        origin = request.headers.get("origin")
        if origin is not None:
            return _origin(origin, exact=True) in own
        referer = request.headers.get("referer")
        return referer is None or _origin(referer) in own

    async def _user(self, request: Request, config: SiteConfig) -> DeskUser | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token or len(token) > 100:
            return None
        hashed = token_hash(token)
        session = await run_in_threadpool(self.desk.session, hashed, self.clock())
        if session is None:
            return None
        try:
            scope = resolve_scope(session.account.scope, config)
        except ScopeError:
            scope = Scope(session.account.scope, ())  # named in an older config: sees nothing
        return DeskUser(session.account, scope, session.csrf_token, hashed)


async def _read_form(request: Request) -> Fields:
    """The POST's fields, read within the size limit; files as ``Upload``."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limit = MAX_UPLOAD if kind == "multipart/form-data" else MAX_FORM
    declared = request.headers.get("content-length")
    if declared is not None and not (declared.isascii() and declared.isdigit()):  # "²".isdigit() is true
        raise Refused(400, "请求格式不正确", "请求的长度不对。")
    if declared is not None and (len(declared) > 15 or int(declared) > limit):  # no int() of thousands of digits
        raise _too_big(limit)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise _too_big(limit)
    except ClientDisconnect:
        # Gone mid-body: nothing is changed, and the answer reaches nobody.
        raise Refused(400, "提交的内容不完整", "连接在提交完成前断开了，什么也没有改动。请重新提交。") from None
    if kind == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(bytes(body).decode("utf-8"), keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise Refused(400, "提交的内容有误", "提交的内容不是有效的 UTF-8 文字。") from None
        return _fields(pairs)
    if kind == "multipart/form-data":
        request._body = bytes(body)  # Starlette's parser reads the body from here
        try:
            parsed = await request.form(max_files=1, max_fields=20, max_part_size=MAX_FORM)
        except (MultiPartException, HTTPException):
            raise Refused(400, "提交的内容有误", "上传的内容不完整或格式不对，请重新选择文件后再上传。") from None
        try:
            pairs = [(key, Upload(value.filename or "", await value.read()) if isinstance(value, UploadFile) else value)
                     for key, value in parsed.multi_items()]
        finally:
            await parsed.close()
        return _fields(pairs)
    return Fields()  # no fields: the CSRF check refuses it


def _fields(pairs: list[tuple[str, Any]]) -> Fields:
    fields = Fields()
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return fields


def _too_big(limit: int) -> Refused:
    if limit >= 1024 * 1024:  # only an upload may be this big: the roster
        return Refused(413, "提交的内容太大", f"一次最多提交 {limit // 1024 // 1024} MB。名册文件请只保留名单所需的列。")
    # A form: the reply's box stops at its limit, so only a pasted-in or scripted text gets here.
    return Refused(413, "提交的内容太大", f"一次最多提交 {limit // 1024} KB，什么也没有改动。请把文字缩短后再提交。")
