"""The desk's pages under ``/desk/`` (工作台): routes and views (contract, section 5).

``desk_mount`` is what ``kite.attendance.web.create_app`` mounts.  ``DeskGuard`` (guard.py)
runs before every route here: by the time a view runs, the user is logged in (except on the
login page), a POST came from the endpoint's own pages with the right CSRF token, and its
form is parsed.  Views are plain functions, run on a worker thread; they ask the storage
layer (``DeskStore``), which applies the account's scope and raises ``OutOfScope`` (404).

Adding a page (the next issues add reports, suggestions and live codes this way):

1. a storage method that takes ``user.scope`` first and filters with ``in_scope``
   (``kite/storage/desk.py`` explains);
2. a view ``def page(self, request)`` that calls it with ``current_user(request).scope``
   and returns ``self.page(request, "desk/….html", …)``;
3. a ``Route`` in ``routes()`` below;
4. a template in ``kite/attendance/templates/desk/`` that extends ``desk/base.html``; every
   form in it posts with ``{% include "desk/csrf.html" %}`` inside (the hidden CSRF field).

``tests/test_desk_guard.py`` walks every route here with an outsider, an account of
another scope, a POST without the token and one from another site.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from markupsafe import Markup
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from ..attendance.hosting import activity_time, host_screen, poster
from ..attendance.livecode import LiveCodes
from ..attendance.sessions import Roster, Session
from ..attendance.templating import EndpointPages
from ..errors import ContentErrors
from ..formatting import Dates
from ..storage import Store
from ..storage.desk import AUDIT_SHOWN, UNMATCHED_SHOWN, DeskStore, OutOfScope
from ..storage.live import LiveStore
from . import exports
from .guard import (LOGIN_COOKIE, SCRIPTED_CSP, SESSION_COOKIE, DeskGuard, Refused, Upload, current_user,
                    desk_root, form, secure_cookies)
from .logins import LOGIN_LIMIT, new_token, normal_login, token_hash
from .names import match_key
from .passwords import MAX_LENGTH, dummy_verify, hash_password, needs_rehash, verify_password
from .records import MONTHS, QUARTERS
from .roster_file import read_roster, shown_filename
from .submission_pages import SubmissionPages

WRONG = "登录名或密码不对。"  # the same words for an unknown login and a wrong password
LOGIN_COOKIE_SECONDS = 2 * 3600
UNKNOWN_LOGIN = "（不存在的登录名）"  # what the audit log records: a mistyped password must not land there


def desk_mount(store: Store, roster: Callable[[], Roster], pages: EndpointPages, *, live: LiveCodes,
               clock: Callable[[], datetime]) -> Mount:
    """``live`` and ``clock`` are the endpoint's own: the host view shows the code its check-ins accept."""
    desk = DeskStore(store)
    views = DeskViews(desk, roster, pages, clock)
    hosting = HostViews(views, LiveStore(store), live, clock)
    return Mount("/desk", routes=[*views.routes(), *hosting.routes()], middleware=[
        Middleware(DeskGuard, desk=desk, config=lambda: roster().config, refuse=views.refused,
                   clock=clock)])


class DeskViews:
    def __init__(self, desk: DeskStore, roster: Callable[[], Roster], pages: EndpointPages,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.desk = desk
        self.roster = roster
        self.pages = pages
        self.clock = clock

    def routes(self) -> list[Route]:
        return [
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/", self.overview, methods=["GET"]),
            Route("/branches/{branch}", self.branch, methods=["GET"]),
            Route("/branches/{branch}/record.csv", self.record_csv, methods=["GET"]),
            Route("/branches/{branch}/record.xlsx", self.record_xlsx, methods=["GET"]),
            Route("/branches/{branch}/attach", self.attach, methods=["POST"]),
            Route("/checkins.csv", self.checkins_csv, methods=["GET"]),
            *SubmissionPages(self, _download).routes(),  # reports and suggestions (submission_pages.py)
            Route("/roster", self.roster_page, methods=["GET"]),
            Route("/roster", self.roster_upload, methods=["POST"]),
            Route("/audit", self.audit, methods=["GET"]),
        ]

    # ---- Rendering ----------------------------------------------------------------------------

    def page(self, request: Request, template: str, status: int = 200, **context) -> Response:
        config = self.roster().config
        user = request.state.desk
        return self.pages.render(request, template, status, desk=desk_root(request, config), user=user,
                                 csrf=user.csrf_token if user else "", dates=Dates(config.zone), **context)

    def refused(self, request: Request, refused: Refused) -> Response:
        return self.page(request, "desk/message.html", refused.status, heading=refused.heading, message=refused.message)

    def _now(self) -> datetime:
        return self.clock()

    # ---- Logging in and out ---------------------------------------------------------------------

    def login_form(self, request: Request) -> Response:
        config = self.roster().config
        if request.state.desk is not None:
            return RedirectResponse(desk_root(request, config) + "/", status_code=303)
        return self._login_page(request, 200, login="", message="")

    def _login_page(self, request: Request, status: int, *, login: str, message: str) -> Response:
        config = self.roster().config
        # The form's own CSRF token, bound to a cookie of its own: no session exists yet.
        nonce = request.cookies.get(LOGIN_COOKIE) or new_token()
        if len(nonce) > 100:
            nonce = new_token()
        response = self.pages.render(request, "desk/login.html", status, desk=desk_root(request, config), user=None,
                                     csrf=nonce, dates=Dates(config.zone), login=login, message=message)
        response.set_cookie(LOGIN_COOKIE, nonce, max_age=LOGIN_COOKIE_SECONDS, path=desk_root(request, config),
                            secure=secure_cookies(config), httponly=True, samesite="lax")
        return response

    def login(self, request: Request) -> Response:
        fields = form(request)
        login, password = fields.one("login"), fields.one("password")
        if not isinstance(login, str) or not isinstance(password, str) or not login.strip() or not password:
            return self._login_page(request, 400, login=login if isinstance(login, str) else "",
                                    message="请填写登录名和密码。")
        login = normal_login(login)
        if len(login) > LOGIN_LIMIT or len(password) > MAX_LENGTH:
            return self._login_page(request, 400, login="", message="登录名或密码太长了。")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in login + password):
            return self._login_page(request, 400, login="", message="登录名或密码里有不可见的控制字符，请重新输入。")
        now = self._now()
        if not self.desk.try_login(login, now):
            until = self.desk.unlocks_at(login, now)
            when = Dates(self.roster().config.zone).clock(until) if until else "15 分钟"
            return self._login_page(request, 429, login=login,
                                    message=f"这个登录名 15 分钟内登录失败的次数太多，已暂停登录。请在 {when} 以后再试。")
        found = self.desk.credentials(login)
        if found is None or not verify_password(found[1], password):
            if found is None:
                dummy_verify(password)  # as slow as a real check: the answer's timing tells nothing
            self.desk.log(login if found else UNKNOWN_LOGIN, "login_failed", "登录名或密码不对", now)
            return self._login_page(request, 401, login=login, message=WRONG)
        account, stored = found
        self.desk.login_succeeded(login, now)
        if needs_rehash(stored):
            self.desk.set_password(login, hash_password(password), now, actor=login)
        old = request.state.desk
        if old is not None:
            self.desk.end_session(old.token_hash)
        token, csrf = new_token(), new_token()
        self.desk.start_session(account.id, token_hash(token), csrf, now)
        self.desk.log(login, "login", "", now)
        config = self.roster().config
        root = desk_root(request, config)
        response = RedirectResponse(root + "/", status_code=303)
        response.set_cookie(SESSION_COOKIE, token, path=root, secure=secure_cookies(config), httponly=True,
                            samesite="lax")
        response.delete_cookie(LOGIN_COOKIE, path=root, secure=secure_cookies(config), httponly=True, samesite="lax")
        return response

    def logout(self, request: Request) -> Response:
        user = current_user(request)
        self.desk.end_session(user.token_hash)
        self.desk.log(user.login, "logout", "", self._now())
        config = self.roster().config
        root = desk_root(request, config)
        response = RedirectResponse(root + "/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=root, secure=secure_cookies(config), httponly=True, samesite="lax")
        return response

    # ---- The overview and a branch's 三个一 table ----------------------------------------------

    def overview(self, request: Request) -> Response:
        user = current_user(request)
        config = self.roster().config
        now = self._now()
        overview = self.desk.overview(user.scope, now, config.zone)
        local = now.astimezone(config.zone)
        return self.page(request, "desk/overview.html", overview=overview, month=local.month,
                         quarter=(local.month - 1) // 3 + 1, year=local.year, live=hostable(self.roster(), now))

    def _year(self, request: Request) -> int:
        text = request.query_params.get("year")
        if text is None or text == "":
            return self._now().astimezone(self.roster().config.zone).year
        # Four ASCII digits before int(): a 5,000-digit year is past int()'s own limit (ValueError, so 500).
        if not (len(text) == 4 and text.isascii() and text.isdigit() and 2000 <= int(text) <= 2100):
            raise Refused(400, "年份不对", "年份应为 2000 到 2100 之间的四位数字，例如 ?year=2026。")
        return int(text)

    def _branch_view(self, request: Request):
        user = current_user(request)
        roster = self.roster()
        branch = request.path_params["branch"]
        # Scope before the query string: another branch's page must be the same 404 whatever ?year= says,
        # or a 400 for a bad year would tell that the branch exists.
        self.desk.require_branch(user.scope, branch)
        return self.desk.branch_view(user.scope, branch, self._year(request), roster.config.zone,
                                     roster.config.points, roster.reviews)

    def branch(self, request: Request) -> Response:
        view = self._branch_view(request)
        roster = self.roster()
        now = self._now().astimezone(roster.config.zone)
        year = view.table.year
        passed = 12 if year < now.year else (now.month if year == now.year else 0)
        behind = [(row.name, sum(not done for done in row.months[:passed])) for row in view.table.rows]
        titles = {key: session.title for key, session in roster.sessions.items()}
        # One person's misspelt check-ins side by side, so that they are ticked together.
        unmatched = sorted(view.unmatched, key=lambda record: (match_key(record.name), -record.at.timestamp()))
        return self.page(request, "desk/branch.html", view=view, table=view.table, year=year, this_year=now.year,
                         unmatched=unmatched,
                         passed=passed, behind=[(name, missed) for name, missed in behind if missed],
                         months=MONTHS, quarters=QUARTERS, titles=titles, shown=UNMATCHED_SHOWN,
                         branch_url=quote(view.table.branch, safe=""))

    def exported(self, request: Request, what: str) -> None:
        """Record a download in the audit log; a HEAD request (a download manager asking the size) gets
        no file, so it is no download."""
        if request.method != "HEAD":
            self.desk.log(current_user(request).login, "export", what, self._now())

    def record_csv(self, request: Request) -> Response:
        return self._record(request, "csv")

    def record_xlsx(self, request: Request) -> Response:
        return self._record(request, "xlsx")

    def _record(self, request: Request, kind: str) -> Response:
        view = self._branch_view(request)
        table = view.table
        self.exported(request, f"{table.branch} {table.year} 年三个一表（{kind.upper()}）")
        if kind == "csv":
            return _download(exports.record_csv(table), "text/csv; charset=utf-8",
                             f"{table.branch}-{table.year}-三个一.csv", f"record-{table.year}.csv")
        return _download(exports.record_xlsx(table), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         f"{table.branch}-{table.year}-三个一.xlsx", f"record-{table.year}.xlsx")

    def attach(self, request: Request) -> Response:
        """Count the 未匹配 check-ins ticked in the list for the member chosen below it."""
        user = current_user(request)
        branch = request.path_params["branch"]
        self.desk.require_branch(user.scope, branch)  # another branch is 404 whatever was sent, as its page is
        fields = form(request)
        records, member, year = fields.all("record"), fields.one("member"), fields.one("year")
        if not records:
            raise Refused(400, "没有归入", "请先勾选要归入的签到记录，再选择成员。")
        if len(records) > UNMATCHED_SHOWN or not all(_small_id(value) for value in (*records, member)):
            raise Refused(400, "没有归入", "请先勾选要归入的签到记录，再选择成员。")
        self.desk.attach_checkins(user.scope, sorted({int(record) for record in records}), int(member), self._now(),
                                  actor=user.login)
        query = f"?year={year}" if isinstance(year, str) and year.isascii() and year.isdigit() and len(year) == 4 else ""
        root = desk_root(request, self.roster().config)
        return RedirectResponse(f"{root}/branches/{quote(branch, safe='')}{query}#unmatched", status_code=303)

    # ---- Check-ins ------------------------------------------------------------------------------

    def checkins_csv(self, request: Request) -> Response:
        user = current_user(request)
        roster = self.roster()
        session = request.query_params.get("session") or None
        if session is not None and (len(session) > 200 or any(ord(ch) < 32 or ord(ch) == 127 for ch in session)):
            raise Refused(400, "场次不对", "场次应为 lessons/网址名 或 announcements/网址名。")
        records = self.desk.checkins(user.scope, session, roster.reviews)
        self.exported(request, f"签到记录 {session or '全部场次'}（CSV）")
        late_after = roster.config.attendance.late_after if roster.config.attendance else timedelta(minutes=10)
        data = exports.checkins_csv(records, roster.starts, roster.config.zone, late_after)
        return _download(data, "text/csv; charset=utf-8", "签到记录.csv", "checkins.csv")

    # ---- The roster -----------------------------------------------------------------------------

    def roster_page(self, request: Request) -> Response:
        return self._roster_page(request, 200)

    def _roster_page(self, request: Request, status: int, **result) -> Response:
        user = current_user(request)
        members = self.desk.members(user.scope)
        branches = [branch for branch in self.desk.branches(user.scope) if branch in members or user.scope.allows(branch)]
        return self.page(request, "desk/roster.html", status, members=members, branches=branches,
                         problems=result.get("problems", []), changes=result.get("changes", []),
                         filename=result.get("filename", ""))

    def roster_upload(self, request: Request) -> Response:
        user = current_user(request)
        upload = form(request).one("file")
        if not isinstance(upload, Upload) or not upload.data:
            return self._roster_page(request, 400, problems=["请先选择名册文件（CSV 或 Excel 工作簿），再点“上传并导入”。"])
        shown = shown_filename(upload.filename)
        try:
            roster = read_roster(upload.data, upload.filename, self.roster().config, user.scope, shown=shown)
        except ContentErrors as errors:
            return self._roster_page(request, 400, problems=[str(problem) for problem in errors.problems],
                                     filename=shown)
        changes = self.desk.replace_roster(user.scope, roster, self._now(), actor=user.login, filename=shown)
        return self._roster_page(request, 200, changes=changes, filename=shown)

    # ---- The audit log --------------------------------------------------------------------------

    def audit(self, request: Request) -> Response:
        entries = self.desk.audit(current_user(request).scope)
        return self.page(request, "desk/audit.html", entries=entries, shown=AUDIT_SHOWN)


def _small_id(value) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 15


def _download(data: bytes, media_type: str, filename: str, fallback: str) -> Response:
    # RFC 6266: browsers take the UTF-8 name; the ASCII one is for the few that do not.
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})



# ---- Hosting a live activity (contract, section 7) ---------------------------------------------

# How often the host view fetches the count again, at most: the code's change may come sooner.
COUNT_EVERY = 15
LIVE_SCRIPT = Path(__file__).parent.parent / "attendance/templates/desk/live.js"


def hostable(roster: Roster, now: datetime) -> list[Session]:
    """``attendance: code`` activities whose check-in has not closed yet, soonest first: the overview links them."""
    found = [session for session in roster.sessions.values()
             if session.needs_code and (session.closes is None or now <= session.closes)]
    return sorted(found, key=lambda session: (session.starts or now, session.key))


class HostViews:
    """The host view, its ``code.json`` and the printable poster, for any logged-in account.

    Only the count of check-ins depends on the account: it is read with its scope.  A slug that
    is not a published ``attendance: code`` announcement is ``OutOfScope``, so 404.
    """

    def __init__(self, views: DeskViews, store: LiveStore, live: LiveCodes, clock: Callable[[], datetime]):
        self.views = views
        self.store = store
        self.live = live
        self.clock = clock
        self.script = LIVE_SCRIPT.read_bytes()

    def routes(self) -> list[Route]:
        return [
            Route("/live.js", self.live_script, methods=["GET"]),
            Route("/live/announcements/{slug}", self.host, methods=["GET"]),
            Route("/live/announcements/{slug}/code.json", self.code_json, methods=["GET"]),
            Route("/live/announcements/{slug}/poster", self.poster, methods=["GET"]),
        ]

    def _session(self, request: Request) -> Session:
        session = self.views.roster().sessions.get("announcements/" + request.path_params["slug"])
        if session is None or not session.needs_code:
            raise OutOfScope("live activity")
        return session

    def host(self, request: Request) -> Response:
        session = self._session(request)
        config = self.views.roster().config
        now = self.clock()
        screen = host_screen(session, self.live, now)
        late_after = config.attendance.late_after if config.attendance else timedelta(minutes=10)
        late_from = session.starts + late_after if session.starts else None
        counts = self.store.counts_by_branch(current_user(request).scope, session.key, late_from)
        order = {branch: n for n, branch in enumerate(b for group in config.branches for b in group.branches)}
        counts.sort(key=lambda count: (order.get(count.branch, len(order)), count.branch))
        dates = Dates(config.zone)
        if session.opens is not None and now < session.opens:
            window = f"签到在 {dates.day_and_time(session.opens)} 开放，现在填签到码会被拒绝。"
        elif session.closes is not None and now > session.closes:
            window = f"签到已在 {dates.day_and_time(session.closes)} 结束。"
        else:
            window = ""
        response = self.views.page(
            request, "desk/live.html", session=session, screen=screen, qr=Markup(screen.qr_svg), counts=counts,
            on_time=sum(count.on_time for count in counts), late=sum(count.late for count in counts),
            when=activity_time(session, config.zone), window=window, changes_at=screen.code.valid_until.astimezone(config.zone).strftime("%H:%M:%S"),
            late_from=dates.clock(late_from) if late_from else "", code_seconds=session.code_seconds,
            refresh=min(screen.seconds_left, COUNT_EVERY))
        response.headers["Content-Security-Policy"] = SCRIPTED_CSP
        return response

    def live_script(self, request: Request) -> Response:
        return Response(self.script, media_type="text/javascript; charset=utf-8")

    def code_json(self, request: Request) -> Response:
        session = self._session(request)
        code = self.live.current(session.key, session.code_seconds, self.clock())
        return JSONResponse(code.as_json())

    def poster(self, request: Request) -> Response:
        sheet = poster(self._session(request), self.views.roster().config.zone)
        return self.views.page(request, "desk/poster.html", sheet=sheet, qr=Markup(sheet.qr_svg))
