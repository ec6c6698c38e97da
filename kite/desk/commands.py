"""What ``build.py account …`` and ``build.py roster import`` do, apart from arguments and printing.

Each function checks everything first and writes nothing when something is wrong: it
raises ``CommandProblem`` with the message for the person at the terminal (or, for a
roster file, ``ContentErrors`` with one ``FILE:ROW: COLUMN: message`` per problem).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from ..config import SiteConfig
from ..storage.desk import CLI, Account, AccountExists, DeskStore, RosterChange
from .logins import login_problem, normal_login
from .passwords import hash_password, password_problem
from .roster_file import read_roster_path
from .scope import ALL, ScopeError, resolve_scope, scope_names


class CommandProblem(Exception):
    """Why a command did nothing; the message is for people, in Chinese."""


def add_account(desk: DeskStore, config: SiteConfig, login: str, scope: str, password: str) -> Account:
    login = normal_login(login)
    problems = [problem for problem in (login_problem(login), password_problem(password)) if problem]
    try:
        resolved = resolve_scope(scope, config)
    except ScopeError as error:
        problems.append(f"{error}。可用的范围：{'、'.join(scope_names(config))}")
    if problems:
        raise CommandProblem("\n".join(problems))
    try:
        return desk.add_account(login, hash_password(password), resolved.name, _now())
    except AccountExists:
        raise CommandProblem(f"账号 {login} 已经存在；要改密码请用 account password {login}") from None


def change_password(desk: DeskStore, login: str, password: str) -> str:
    problem = password_problem(password)
    if problem:
        raise CommandProblem(problem)
    login = normal_login(login)
    if not desk.set_password(login, hash_password(password), _now()):
        raise CommandProblem(f"没有账号 {login}；现有账号可用 account list 查看")
    return login


def remove_account(desk: DeskStore, login: str) -> str:
    login = normal_login(login)
    if not desk.remove_account(login, _now()):
        raise CommandProblem(f"没有账号 {login}；现有账号可用 account list 查看")
    return login


def import_roster(desk: DeskStore, config: SiteConfig, path: Path) -> list[RosterChange]:
    """Read the whole file, then replace the roster of every branch in it in one transaction."""
    scope = resolve_scope(ALL, config)
    roster = read_roster_path(path, config, scope)
    return desk.replace_roster(scope, roster, _now(), actor=CLI, filename=path.name)


def _now() -> datetime:
    return datetime.now(timezone.utc)
