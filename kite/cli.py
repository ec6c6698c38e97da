"""The command line: ``python build.py build|check|serve|new|attend|backup|account|roster``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator

from .errors import ContentErrors, Problem, template_failure, unexpected_problem


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="build.py", description="风筝（Kite）：构建和预览学习站点，运行签到服务。")
    commands = parser.add_subparsers(dest="command", required=True, metavar="命令")

    build = commands.add_parser("build", help="检查全部内容并生成站点")
    _config_option(build)
    build.add_argument("-d", "--site-dir", default="site", help="输出目录（默认：site/）")

    check = commands.add_parser("check", help="只检查配置和内容，不生成站点")
    _config_option(check)

    serve = commands.add_parser("serve", help="本地实时预览：修改内容后自动重建并刷新浏览器")
    _config_option(serve)
    serve.add_argument("--port", type=int, default=8000, help="预览端口（默认 8000）")

    new = commands.add_parser("new", help="新建一篇草稿（党课 lesson、节目 episode 或活动 announcement）")
    new.add_argument("kind", choices=["lesson", "episode", "announcement"], metavar="类型",
                     help="lesson（党课）、episode（乡音e课堂）或 announcement（活动通知）")
    new.add_argument("title", metavar="标题", help="标题，例如 \"抓牢引线放风筝\"")
    _config_option(new)

    attend = commands.add_parser("attend", help="运行签到服务（记录签到，导出名单）")
    _config_option(attend)
    _db_option(attend)
    attend.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1）")
    attend.add_argument("--port", type=int, default=8001, help="监听端口（默认 8001）")

    backup = commands.add_parser("backup", help="签到服务运行时备份 SQLite 签到数据库")
    backup.add_argument("out", metavar="OUT", help="备份文件路径（已有的会被整体替换）")
    _config_option(backup)
    _db_option(backup)

    account = commands.add_parser("account", help="工作台账号：新建、列出、改密码、删除")
    actions = account.add_subparsers(dest="action", required=True, metavar="操作")
    add = actions.add_parser("add", help="新建账号（密码从标准输入读取）")
    add.add_argument("login", metavar="LOGIN", help="登录名")
    add.add_argument("--scope", required=True, metavar="SCOPE",
                     help="范围：all、联合党委名称或支部名称（与 site_config.yml 的 branches 一致）")
    actions.add_parser("list", help="列出全部账号")
    password = actions.add_parser("password", help="改密码（新密码从标准输入读取），该账号已登录的都会退出")
    password.add_argument("login", metavar="LOGIN", help="登录名")
    remove = actions.add_parser("remove", help="删除账号，该账号已登录的都会退出")
    remove.add_argument("login", metavar="LOGIN", help="登录名")
    for action in actions.choices.values():
        _config_option(action)
        _db_option(action)

    roster = commands.add_parser("roster", help="党员名册")
    roster_actions = roster.add_subparsers(dest="action", required=True, metavar="操作")
    roster_import = roster_actions.add_parser("import", help="导入名册（CSV 或 XLSX，含“姓名”“支部”两列）")
    roster_import.add_argument("file", metavar="FILE", help="名册文件")
    _config_option(roster_import)
    _db_option(roster_import)

    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = make_parser().parse_args(argv)
    handler = {"build": _build, "check": _check, "serve": _serve, "new": _new, "attend": _attend,
               "backup": _backup, "account": _account, "roster": _roster}[arguments.command]
    try:
        try:
            return handler(arguments)
        except (ContentErrors, KeyboardInterrupt, SystemExit):
            raise
        except Exception as error:
            if arguments.command not in ("build", "check"):
                raise
            # Editors must never see a traceback: name the template where it failed, if one did.
            raise ContentErrors([unexpected_problem(error, Path(arguments.config_file))]) from error
    except ContentErrors as errors:
        for problem in errors.problems:
            print(problem, file=sys.stderr)
        # stderr holds exactly one line per problem (tools parse it); the summary goes to stdout.
        if arguments.command == "check":
            print(f"发现 {len(errors.problems)} 个问题。")
        elif arguments.command == "roster":
            print(f"发现 {len(errors.problems)} 个问题，名册一个人也没有导入。")
        elif arguments.command == "account":
            print(f"配置文件有 {len(errors.problems)} 个问题，账号没有改动。")
        else:
            print(f"发现 {len(errors.problems)} 个问题，未生成站点；已发布的站点保持不变。")
        return 1
    except KeyboardInterrupt:
        return 130


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--config-file", default="site_config.yml", help="站点配置文件（默认：site_config.yml）")


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None,
                        help="数据库：SQLite 文件路径，或 postgresql://用户@主机/库名；也可以写在环境变量 KITE_DB 里"
                             "（默认：配置文件旁的 attendance.sqlite3）")


def _database(arguments: argparse.Namespace) -> str:
    """--db, else KITE_DB (which keeps a password out of the process list), else the file beside the config."""
    from .attendance.server import DEFAULT_DB

    if arguments.db:
        return arguments.db
    return os.environ.get("KITE_DB") or str(Path(arguments.config_file).parent / DEFAULT_DB)


def _build(arguments: argparse.Namespace) -> int:
    from .build import BuildFailed, build
    from .progress import Progress

    config = Path(arguments.config_file)
    site_dir = Path(arguments.site_dir)
    try:
        report = build(config, site_dir, progress=Progress.for_terminal(), yield_to_index=True)
    except BuildFailed as error:
        problem = template_failure(error, config)
        if problem:
            # An editor's template failed on a page: said like any other problem in the hub.
            raise ContentErrors([problem]) from error
        print(f"构建失败：{error}；已发布的站点保持不变。", file=sys.stderr)
        return 1
    for warning in report.warnings:
        print(f"警告：{warning}", file=sys.stderr)
    print(summary(report))
    return 0


def summary(report) -> str:
    unchanged = report.pages - report.rendered
    kept = f"（{unchanged} 个和上次构建相同，直接沿用）" if unchanged else ""
    return (
        f"已生成站点 {report.site_dir}：{report.pages} 个页面{kept}，{report.feeds} 个订阅和日历文件，"
        f"{report.media} 个媒体文件，{len(report.warnings)} 条警告，用时 {report.seconds:.1f} 秒"
    )


def _check(arguments: argparse.Namespace) -> int:
    from .build import check

    hub = check(Path(arguments.config_file))
    for warning in hub.warnings:
        print(f"警告：{warning}", file=sys.stderr)
    print(
        f"检查通过：{len(hub.lessons)} 篇党课，{len(hub.episodes)} 期节目，"
        f"{len(hub.announcements)} 条活动通知，{hub.drafts} 篇草稿"
    )
    return 0


def _serve(arguments: argparse.Namespace) -> int:
    from .preview import serve

    return serve(Path(arguments.config_file), port=arguments.port)


def _attend(arguments: argparse.Namespace) -> int:
    from .attendance.server import run
    from .storage import StorageError, database_url

    db = _database(arguments)
    try:
        url = database_url(db)
        if arguments.db and url.password:
            print("提示：数据库密码写在了命令行里，本机其他用户用 ps 就能看到；请改用环境变量 KITE_DB。", file=sys.stderr)
        return run(Path(arguments.config_file), db, arguments.host, arguments.port)
    except StorageError as error:
        print(f"签到服务没有启动：{error}", file=sys.stderr)
        return 1


def _backup(arguments: argparse.Namespace) -> int:
    from .storage import StorageError, database_url, describe, is_sqlite
    from .storage.backup import backup_sqlite

    try:
        url = database_url(_database(arguments))
    except StorageError as error:
        print(error, file=sys.stderr)
        return 2
    if not is_sqlite(url):
        print(f"{describe(url)} 是 PostgreSQL 数据库，请用 PostgreSQL 自带的 pg_dump 备份，例如：\n"
              f"  pg_dump --format=custom --file {arguments.out} \"$KITE_DB\"\n"
              "（做法和恢复步骤见 docs/deployment.md 的“备份与恢复”）", file=sys.stderr)
        return 2
    try:
        count = backup_sqlite(Path(url.database), Path(arguments.out))
    except StorageError as error:
        print(f"备份失败：{error}", file=sys.stderr)
        return 1
    print(f"已备份 {url.database} 到 {arguments.out}：{count} 条签到，已通过完整性检查")
    return 0


def _new(arguments: argparse.Namespace) -> int:
    from pydantic import TypeAdapter, ValidationError

    from .fields import Title
    from .scaffold import new_draft

    if not arguments.title.strip():
        print("标题不能为空", file=sys.stderr)
        return 2
    try:
        # The draft must pass `check`: a title `check` would refuse is refused before it is written.
        TypeAdapter(Title).validate_python(arguments.title)
    except ValidationError as error:
        print(f"标题不能用：{error.errors()[0]['msg']}", file=sys.stderr)
        return 2
    path = new_draft(arguments.kind, arguments.title, Path(arguments.config_file))
    print(path)
    return 0


def _account(arguments: argparse.Namespace) -> int:
    from .desk import commands
    from .loader import load_config

    with _desk_store(arguments) as desk:
        if arguments.action == "list":
            found = desk.accounts()
            zone = load_config(Path(arguments.config_file)).zone
            for account in found:
                print(f"{account.login}\t{account.scope}\t{account.created_at.astimezone(zone):%Y-%m-%d %H:%M}")
            if not found:
                print("还没有账号。新建：python build.py account add 登录名 --scope 范围", file=sys.stderr)
            return 0
        if arguments.action == "remove":
            login = commands.remove_account(desk, arguments.login)
            print(f"已删除账号 {login}，它登录的工作台都已退出")
            return 0
        if arguments.action == "add":
            config = load_config(Path(arguments.config_file))
            account = commands.add_account(desk, config, arguments.login, arguments.scope, _read_password())
            print(f"已新建账号 {account.login}，范围：{account.scope}")
            return 0
        login = commands.change_password(desk, arguments.login, _read_password())
        print(f"已修改 {login} 的密码，它登录的工作台都已退出")
        return 0


def _roster(arguments: argparse.Namespace) -> int:
    from .desk import commands
    from .loader import load_config

    config = load_config(Path(arguments.config_file))
    with _desk_store(arguments) as desk:
        changes = commands.import_roster(desk, config, Path(arguments.file))
    for change in changes:
        print(f"{change.branch}：{change.listed} 人（新增 {change.added}，离开名册 {change.departed}）")
    print(f"已导入名册：{sum(change.listed for change in changes)} 人")
    return 0


@contextlib.contextmanager
def _desk_store(arguments: argparse.Namespace) -> Iterator:
    """The desk's store for one command; a database or command problem becomes a message and exit status 1."""
    from .desk.commands import CommandProblem
    from .storage import StorageError, StorageUnavailable, open_store
    from .storage.desk import DeskStore

    try:
        store = open_store(_database(arguments))
    except StorageError as error:
        print(f"没有改动：{error}", file=sys.stderr)
        raise SystemExit(1)
    try:
        yield DeskStore(store)
    except CommandProblem as problem:
        print(problem, file=sys.stderr)
        raise SystemExit(1)
    except StorageUnavailable:
        print("数据库暂时无法使用，什么也没有改动；请稍后再试", file=sys.stderr)
        raise SystemExit(1)
    finally:
        store.close()


def _read_password() -> str:
    """One line from standard input; on a terminal, asked twice without echo."""
    import getpass

    from .desk.commands import CommandProblem

    if sys.stdin.isatty():
        first = getpass.getpass("密码（至少 10 个字符）：")
        if getpass.getpass("再输入一次：") != first:
            raise CommandProblem("两次输入的密码不一样，什么也没有改动")
        return first
    line = sys.stdin.readline()
    if not line:
        raise CommandProblem("没有读到密码：请从标准输入给出一行密码")
    return line.rstrip("\r\n")
