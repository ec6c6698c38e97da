"""The desk's data (工作台): the only code that runs its SQL.

Accounts, desk sessions and the failed-login throttle; the roster; check-ins attached to a
member by hand; the audit log; and the scoped reads behind every desk page.

**Scope is applied here, once.**  Every method that reads or changes a branch's data takes
the account's ``Scope`` first and filters its query with ``in_scope(scope, column)``; a
branch, record or member outside it raises ``OutOfScope``, which the web layer answers with
404 as if it did not exist.  Pages never filter: they receive only what the account may see.

A new desk query (the next issues' reports, suggestions, live counts) follows the same
pattern, here or in a module of its own beside this one: take ``scope`` first, filter with
``in_scope``, raise ``OutOfScope`` for one thing asked for by id or name outside it.  Writes
of several statements run in ``store.writing()``; reads in ``store.reading()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Collection, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, delete, exists, func, insert, select, text, true, update

from ..config import Points
from ..desk.logins import FAILURE_WINDOW, IDLE_EXPIRY, locked
from ..desk.names import match_key
from ..desk.records import (BranchSummary, BranchTable, CheckinRecord, ReportRecord, StudyTally, SuggestionRecord,
                            branch_overview, branch_table, quarter_of)
from ..desk.roster_file import RosterFile
from ..desk.scope import Scope
from .desk_study import CHECKIN, UNLINKED, checkin_records, month_starts, study
from .schema import accounts, audit_log, checkins, desk_sessions, login_failures, members, record_links
from .store import Store
from .submissions import Submissions

# The 未匹配 records a branch page lists, newest first; the rest are counted.
UNMATCHED_SHOWN = 500
AUDIT_SHOWN = 500
# last_seen is written at most this often: a page view is a read, not a write.
TOUCH_EVERY = timedelta(minutes=1)
# Failed logins older than this are no use to the throttle (the audit log keeps its own record).
FAILURES_KEPT = 2 * FAILURE_WINDOW
# Namespace of PostgreSQL's two-key advisory locks that make one login's tries take turns.
_LOGIN_LOCK = 0x4B444C  # "KDL"

# What the audit log records, as the audit page names it.
AUDIT_ACTIONS = {
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出",
    "export": "导出",
    "roster_import": "导入名册",
    "attach": "匹配记录",
    "answer": "答复建议",
    "account_add": "新建账号",
    "account_password": "修改密码",
    "account_remove": "删除账号",
}
CLI = "命令行"  # the audit log's login for what `build.py account …` and `roster import` did


class OutOfScope(LookupError):
    """Outside the account's scope, or not there at all: the two look the same on purpose."""


class AccountExists(ValueError):
    pass


@dataclass(frozen=True)
class Account:
    id: int
    login: str
    scope: str  # as stored; resolve it against the current config with kite.desk.scope.resolve_scope
    created_at: datetime


@dataclass(frozen=True)
class DeskSession:
    account: Account
    csrf_token: str


@dataclass(frozen=True)
class Member:
    id: int
    branch: str
    name: str


@dataclass(frozen=True)
class RosterChange:
    branch: str
    listed: int  # members the file lists
    added: int  # of them, new to the roster (or back after leaving)
    departed: int  # members no longer listed, kept as departed


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    login: str
    action: str
    detail: str

    @property
    def action_label(self) -> str:
        return AUDIT_ACTIONS.get(self.action, self.action)


@dataclass(frozen=True)
class BranchView:
    """Everything a branch's page shows, all of it inside the account's scope."""

    table: BranchTable
    members: tuple[Member, ...]  # current members, in the roster's order: who a record can be attached to
    unmatched: tuple[CheckinRecord, ...]  # 未匹配 check-ins to list, newest first, at most UNMATCHED_SHOWN
    unmatched_total: int  # all 未匹配 check-ins of the year


@dataclass(frozen=True)
class Overview:
    branches: list[BranchSummary]


def in_scope(scope: Scope, column) -> ColumnElement[bool]:
    """The condition every desk query puts on its branch column."""
    return true() if scope.everything else column.in_(sorted(scope.branches))


class DeskStore:
    """The desk's queries over a ``Store``'s database, SQLite or PostgreSQL."""

    def __init__(self, store: Store):
        self.store = store
        self._postgres = store.engine.dialect.name == "postgresql"
        self.submissions = Submissions(store)  # members' reports and suggestions, read within a scope

    # ---- Accounts (the CLI) -------------------------------------------------------------------

    def add_account(self, login: str, password_hash: str, scope: str, now: datetime, *, actor: str = CLI) -> Account:
        """Create an account; ``AccountExists`` if the login is taken (nothing is written then)."""
        with self.store.writing() as connection:
            if connection.execute(select(accounts.c.id).where(accounts.c.login == login)).first() is not None:
                raise AccountExists(login)
            new_id = connection.execute(insert(accounts).values(
                login=login, password_hash=password_hash, scope=scope, created_at=now).returning(accounts.c.id)).scalar_one()
            self._audit(connection, now, actor, "account_add", f"账号 {login}，范围 {scope}")
        return Account(new_id, login, scope, now)

    def accounts(self) -> list[Account]:
        with self.store.reading() as connection:
            rows = connection.execute(select(accounts.c.id, accounts.c.login, accounts.c.scope, accounts.c.created_at)
                                      .order_by(accounts.c.login))
            return [Account(*row) for row in rows]

    def credentials(self, login: str) -> tuple[Account, str] | None:
        """The account and its password hash, for checking a password."""
        with self.store.reading() as connection:
            row = connection.execute(select(accounts.c.id, accounts.c.login, accounts.c.scope, accounts.c.created_at,
                                            accounts.c.password_hash).where(accounts.c.login == login)).first()
        return (Account(*row[:4]), row[4]) if row else None

    def set_password(self, login: str, password_hash: str, now: datetime, *, actor: str = CLI) -> bool:
        """Replace the password; the account's sessions end, and so does a lock on its login (the
        failures were against the old password: a secretary locked out and given a new one gets in
        at once).  False if there is no such account."""
        with self.store.writing() as connection:
            account_id = connection.execute(select(accounts.c.id).where(accounts.c.login == login)).scalar()
            if account_id is None:
                return False
            connection.execute(update(accounts).where(accounts.c.id == account_id).values(password_hash=password_hash))
            connection.execute(delete(desk_sessions).where(desk_sessions.c.account_id == account_id))
            connection.execute(delete(login_failures).where(login_failures.c.login == login))
            if actor == CLI:
                self._audit(connection, now, actor, "account_password", f"账号 {login}")
        return True

    def remove_account(self, login: str, now: datetime, *, actor: str = CLI) -> bool:
        """Remove the account and end its sessions.  False if there is no such account."""
        with self.store.writing() as connection:
            account_id = connection.execute(select(accounts.c.id).where(accounts.c.login == login)).scalar()
            if account_id is None:
                return False
            connection.execute(delete(desk_sessions).where(desk_sessions.c.account_id == account_id))
            connection.execute(delete(accounts).where(accounts.c.id == account_id))
            self._audit(connection, now, actor, "account_remove", f"账号 {login}")
        return True

    # ---- Logging in ---------------------------------------------------------------------------

    def try_login(self, login: str, now: datetime) -> bool:
        """Start a login attempt: False if the login is locked, else True, with the attempt
        counted as a failure until ``login_succeeded`` clears it.

        Counting first means that tries sent at once, to one instance or several, cannot slip
        past the limit while their passwords are being checked.  The check and the count are
        one transaction that one login's tries take in turns (BEGIN IMMEDIATE on SQLite, an
        advisory lock on PostgreSQL).
        """
        with self.store.writing() as connection:
            if self._postgres:
                connection.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(:login))"),
                                   {"space": _LOGIN_LOCK, "login": login})
            failures = list(connection.execute(
                select(login_failures.c.failed_at).where(login_failures.c.login == login,
                                                         login_failures.c.failed_at > now - FAILURES_KEPT)
                .order_by(login_failures.c.failed_at)).scalars())
            if locked(failures, now):
                return False
            connection.execute(insert(login_failures).values(login=login, failed_at=now))
            # Old failures of any login are pruned as new ones come in: the table stays small.
            connection.execute(delete(login_failures).where(login_failures.c.failed_at < now - FAILURES_KEPT))
        return True

    def login_succeeded(self, login: str, now: datetime) -> None:
        """Uncount the attempt ``try_login(login, now)`` counted: it was no failure.

        Only that one: earlier failures stay counted, since the lock is "more than 10 failed
        logins within 15 minutes" (contract, section 5) whether or not someone got in between;
        else a secretary's daily login would hand a guesser 10 fresh tries each time.
        """
        with self.store.writing() as connection:
            attempt = connection.execute(select(login_failures.c.id).where(
                login_failures.c.login == login, login_failures.c.failed_at == now).limit(1)).scalar()
            if attempt is not None:
                connection.execute(delete(login_failures).where(login_failures.c.id == attempt))

    def unlocks_at(self, login: str, now: datetime) -> datetime | None:
        """For a locked login's message: when it may try again."""
        with self.store.reading() as connection:
            last = connection.execute(select(func.max(login_failures.c.failed_at))
                                      .where(login_failures.c.login == login)).scalar()
        return last + FAILURE_WINDOW if last else None

    # ---- Desk sessions ------------------------------------------------------------------------

    def start_session(self, account_id: int, token_hash: str, csrf_token: str, now: datetime) -> None:
        with self.store.writing() as connection:
            connection.execute(delete(desk_sessions).where(desk_sessions.c.last_seen < now - IDLE_EXPIRY))
            connection.execute(insert(desk_sessions).values(token_hash=token_hash, account_id=account_id,
                                                            csrf_token=csrf_token, created_at=now, last_seen=now))

    def session(self, token_hash: str, now: datetime) -> DeskSession | None:
        """The live session with this token's hash, or None (unknown, ended or idle too long)."""
        query = (select(accounts.c.id, accounts.c.login, accounts.c.scope, accounts.c.created_at,
                        desk_sessions.c.csrf_token, desk_sessions.c.last_seen)
                 .join_from(desk_sessions, accounts, desk_sessions.c.account_id == accounts.c.id)
                 .where(desk_sessions.c.token_hash == token_hash))
        with self.store.reading() as connection:
            row = connection.execute(query).first()
        if row is None or row.last_seen <= now - IDLE_EXPIRY:
            return None
        if now - row.last_seen >= TOUCH_EVERY:
            with self.store.writing() as connection:
                connection.execute(update(desk_sessions).where(desk_sessions.c.token_hash == token_hash)
                                   .values(last_seen=now))
        return DeskSession(Account(*row[:4]), row.csrf_token)

    def end_session(self, token_hash: str) -> None:
        with self.store.writing() as connection:
            connection.execute(delete(desk_sessions).where(desk_sessions.c.token_hash == token_hash))

    # ---- The audit log ------------------------------------------------------------------------

    def log(self, login: str, action: str, detail: str, now: datetime) -> None:
        with self.store.writing() as connection:
            self._audit(connection, now, login, action, detail)

    def audit(self, scope: Scope, limit: int = AUDIT_SHOWN) -> list[AuditEntry]:
        """The newest entries; only an account with scope ``all`` may read the log."""
        if not scope.everything:
            raise OutOfScope("audit log")
        with self.store.reading() as connection:
            rows = connection.execute(select(audit_log.c.at, audit_log.c.login, audit_log.c.action, audit_log.c.detail)
                                      .order_by(audit_log.c.id.desc()).limit(limit))
            return [AuditEntry(*row) for row in rows]

    @staticmethod
    def _audit(connection, now: datetime, login: str, action: str, detail: str) -> None:
        assert action in AUDIT_ACTIONS, action
        connection.execute(insert(audit_log).values(at=now, login=login, action=action, detail=detail))

    # ---- The roster ---------------------------------------------------------------------------

    def replace_roster(self, scope: Scope, roster: RosterFile, now: datetime, *, actor: str,
                       filename: str) -> list[RosterChange]:
        """Make each branch in ``roster`` list exactly its members; the others of those branches depart.

        One transaction: a file is imported whole or not at all.  A member who comes back
        is current again, with the same id (past hand-made matches stay theirs).
        """
        if not all(scope.allows(branch) for branch in roster.members):
            raise OutOfScope("roster")
        changes = []
        with self.store.writing() as connection:
            for branch, names in roster.members.items():
                existing = {key: (member_id, departed) for member_id, key, departed in connection.execute(
                    select(members.c.id, members.c.match_key, members.c.departed_at).where(members.c.branch == branch))}
                listed = set()
                added = 0
                for position, name in enumerate(names):
                    key = match_key(name)
                    listed.add(key)
                    if key in existing:
                        member_id, departed = existing[key]
                        added += departed is not None
                        connection.execute(update(members).where(members.c.id == member_id)
                                           .values(name=name, position=position, departed_at=None))
                    else:
                        added += 1
                        connection.execute(insert(members).values(branch=branch, name=name, match_key=key,
                                                                  position=position, departed_at=None))
                leaving = [member_id for key, (member_id, departed) in existing.items()
                           if key not in listed and departed is None]
                if leaving:
                    connection.execute(update(members).where(members.c.id.in_(leaving)).values(departed_at=now))
                changes.append(RosterChange(branch, len(names), added, len(leaving)))
            summary = "；".join(f"{c.branch} {c.listed} 人（新增 {c.added}，离开 {c.departed}）" for c in changes)
            self._audit(connection, now, actor, "roster_import", f"{filename}：{summary}")
        return changes

    def members(self, scope: Scope) -> dict[str, list[Member]]:
        """Current members in scope, by branch, each branch in the roster's order."""
        query = (select(members.c.id, members.c.branch, members.c.name)
                 .where(in_scope(scope, members.c.branch), members.c.departed_at.is_(None))
                 .order_by(members.c.branch, members.c.position))
        found: dict[str, list[Member]] = {}
        with self.store.reading() as connection:
            for row in connection.execute(query):
                found.setdefault(row.branch, []).append(Member(*row))
        return found

    def branches(self, scope: Scope) -> list[str]:
        """The branches an account sees: its scope's, in the config's order; for ``all`` also any
        branch that has members or check-ins but is no longer in the config."""
        if not scope.everything:
            return list(scope.branches)
        with self.store.reading() as connection:
            stored = set(connection.execute(select(members.c.branch).distinct()).scalars())
            stored |= set(connection.execute(select(checkins.c.branch).distinct()).scalars())
        return [*scope.branches, *sorted(stored - set(scope.branches))]

    def require_branch(self, scope: Scope, branch: str) -> None:
        """``OutOfScope`` unless ``branch`` is one ``branches(scope)`` lists: for pages that must answer 404
        before they look at the rest of the request."""
        self._branch(scope, branch)

    def _branch(self, scope: Scope, branch: str) -> None:
        """``OutOfScope`` unless ``branch`` is one ``branches(scope)`` lists."""
        if branch in scope.branches:
            return
        # No branch has a control character or is that long (PostgreSQL cannot even compare a NUL).
        if scope.everything and len(branch) <= 200 and not any(ord(ch) < 32 or ord(ch) == 127 for ch in branch):
            with self.store.reading() as connection:
                if connection.execute(select(exists().where(members.c.branch == branch))).scalar() or \
                        connection.execute(select(exists().where(checkins.c.branch == branch))).scalar():
                    return
        raise OutOfScope(branch)

    # ---- Hand-made matches --------------------------------------------------------------------

    def attach_checkins(self, scope: Scope, checkin_ids: Sequence[int], member_id: int, now: datetime, *,
                        actor: str) -> None:
        """Count these check-ins for a current member of their own branch (replacing earlier matches).

        All or nothing: ``OutOfScope`` if any check-in or the member is outside the scope, or
        they are not all of the member's branch.
        """
        with self.store.writing() as connection:
            branch = connection.execute(select(members.c.branch).where(
                members.c.id == member_id, members.c.departed_at.is_(None), in_scope(scope, members.c.branch))).scalar()
            found = connection.execute(select(func.count()).select_from(checkins).where(
                checkins.c.id.in_(checkin_ids), checkins.c.branch == branch)).scalar()
            if branch is None or found != len(set(checkin_ids)) or not checkin_ids:
                raise OutOfScope("checkin")
            connection.execute(delete(record_links).where(record_links.c.kind == CHECKIN,
                                                          record_links.c.record_id.in_(checkin_ids)))
            connection.execute(insert(record_links), [{"kind": CHECKIN, "record_id": checkin_id, "member_id": member_id,
                                                       "linked_at": now} for checkin_id in checkin_ids])
            numbers = "、".join(f"#{checkin_id}" for checkin_id in checkin_ids)
            self._audit(connection, now, actor, "attach", f"{branch}：签到记录 {numbers} 归入成员 #{member_id}")

    # ---- The pages' figures -------------------------------------------------------------------

    def branch_view(self, scope: Scope, branch: str, year: int, zone: ZoneInfo, points: Points,
                    reviews: Collection[str]) -> BranchView:
        """The 三个一 table of one branch and year, its 未匹配 check-ins, and its current members."""
        self._branch(scope, branch)
        bounds = month_starts(year, zone)
        in_year = and_(checkins.c.branch == branch, checkins.c.checked_in_at >= bounds[0],
                       checkins.c.checked_in_at < bounds[12])
        with self.store.reading() as connection:
            roster = connection.execute(select(members.c.id, members.c.name, members.c.departed_at)
                                        .where(members.c.branch == branch).order_by(members.c.position)).all()
            tallies, records, unmatched_names = study(connection, branch, in_year, bounds,
                                                      {match_key(name) for _, name, _ in roster}, reviews,
                                                      postgres=self._postgres)
            # The newest UNMATCHED_SHOWN are in the last months that hold that many: read only those.
            unmatched_months = [0] * 12
            for tally in tallies:
                if tally.name in unmatched_names:
                    unmatched_months = [total + count for total, count in zip(unmatched_months, tally.months)]
            counted, first = 0, 12
            while first > 0 and counted < UNMATCHED_SHOWN:
                first -= 1
                counted += unmatched_months[first]
            listed = checkin_records(connection, in_year, checkins.c.checked_in_at >= bounds[first],
                                     checkins.c.name.in_(sorted(unmatched_names)), UNLINKED, reviews=reviews,
                                     newest_first=True, limit=UNMATCHED_SHOWN) if unmatched_names else []
        reports = self.report_records(scope, [branch], year=year)
        suggestions = self.suggestion_records(scope, [branch], year, zone)
        table = branch_table(branch, year, zone, points, [name for _, name, gone in roster if gone is None],
                             checkins=records, tallies=tallies, reports=reports, suggestions=suggestions,
                             departed=[name for _, name, gone in roster if gone is not None])
        unmatched = sorted([*table.unmatched.checkins, *listed], key=lambda record: record.at, reverse=True)
        return BranchView(
            table=table,
            members=tuple(Member(member_id, branch, name) for member_id, name, gone in roster if gone is None),
            unmatched=tuple(unmatched[:UNMATCHED_SHOWN]),
            unmatched_total=len(table.unmatched.checkins) + sum(t.count for t in table.unmatched.tallies),
        )

    def overview(self, scope: Scope, now: datetime, zone: ZoneInfo) -> Overview:
        """Each branch in scope: members on the roster, how many studied this month, reports this
        quarter, open suggestions."""
        branches = self.branches(scope)
        local = now.astimezone(zone)
        bounds = month_starts(local.year, zone)
        c = checkins.c
        this_month = and_(in_scope(scope, c.branch), c.checked_in_at >= bounds[local.month - 1],
                          c.checked_in_at < bounds[local.month])
        linked = select(record_links.c.id).where(record_links.c.kind == CHECKIN, record_links.c.record_id == c.id)
        with self.store.reading() as connection:
            by_name = connection.execute(select(c.branch, c.name).where(this_month, ~linked.exists())
                                         .group_by(c.branch, c.name)).all()
            by_member = connection.execute(
                select(c.branch, members.c.name).select_from(record_links)
                .join(checkins, and_(record_links.c.kind == CHECKIN, record_links.c.record_id == c.id))
                .join(members, members.c.id == record_links.c.member_id).where(this_month).distinct()).all()
        current = self.members(scope)
        reports = self.report_records(scope, branches, quarter=quarter_of(now, zone))
        open_suggestions = self.open_suggestions(scope, branches)
        # Only "studied this month" is read from these: one tally per member is enough.
        studied = [0] * 12
        studied[local.month - 1] = 1
        seen: set[tuple[str, str]] = set()
        tallies = []
        for branch, name in [*by_name, *by_member]:
            if (branch, match_key(name)) not in seen:
                seen.add((branch, match_key(name)))
                tallies.append(StudyTally(branch, name, tuple(studied)))
        summaries = branch_overview(now, zone, {branch: [m.name for m in current.get(branch, [])] for branch in branches},
                                    tallies=tallies, reports=reports, open_suggestions=open_suggestions)
        return Overview(summaries)

    def checkins(self, scope: Scope, session: str | None, reviews: Collection[str] = ()) -> list[CheckinRecord]:
        """Check-ins in scope, of one session or all, in the order they came."""
        conditions = [in_scope(scope, checkins.c.branch)]
        if session is not None:
            conditions.append(checkins.c.session == session)
        with self.store.reading() as connection:
            return checkin_records(connection, *conditions, reviews=reviews)

    # ---- Reports and suggestions: what the 三个一 table and the overview count ----------------

    def report_records(self, scope: Scope, branches: Sequence[str], *, year: int | None = None,
                       quarter: str | None = None) -> list[ReportRecord]:
        """Quarterly reports of ``branches`` in scope, of ``year`` or of one ``quarter`` ("2026Q4").

        The overview counts this quarter's from it, a branch's table its quarters and 积分.
        """
        found = self.submissions.reports(_within(scope, branches), year=year, quarter=quarter)
        return [ReportRecord(report.branch, report.name, report.quarter, id=report.id) for report in found]

    def suggestion_records(self, scope: Scope, branches: Sequence[str], year: int,
                           zone: ZoneInfo) -> list[SuggestionRecord]:
        """Suggestions of ``branches`` in scope sent in ``year`` (in the hub's time zone), for 积分."""
        bounds = month_starts(year, zone)
        found = self.submissions.suggestions(_within(scope, branches), received=(bounds[0], bounds[12]))
        return [SuggestionRecord(item.branch, item.name, item.received_at, id=item.id) for item in found]

    def open_suggestions(self, scope: Scope, branches: Sequence[str]) -> dict[str, int]:
        """Suggestions not yet answered (已收到 or 办理中), per branch of ``branches`` in scope."""
        return self.submissions.open_counts(_within(scope, branches))

    def answer_suggestion(self, scope: Scope, suggestion_id: int, *, status: str, reply: str | None, now: datetime,
                          actor: str, detail: Callable[[str, str], str]) -> None:
        """Set a suggestion's status and reply, and say so in the audit log, in one transaction.

        ``OutOfScope`` if there is no such suggestion in scope.  ``detail(branch, ref)`` is the
        log's words: the branch and the reference, never the member's name or the text.
        """
        with self.store.writing() as connection:
            found = self.submissions.answer_within(connection, scope, suggestion_id, status=status, reply=reply,
                                                   by=actor, at=now)
            if found is None:
                raise OutOfScope("suggestion")
            self._audit(connection, now, actor, "answer", detail(*found))


def _within(scope: Scope, branches: Sequence[str]) -> Scope:
    """The part of ``scope`` that is one of ``branches``: a narrower scope, never a wider one."""
    return Scope(scope.name, tuple(branch for branch in branches if scope.allows(branch)))
