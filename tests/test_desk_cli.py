"""``build.py account …`` and ``build.py roster import`` as the administrator runs them: real processes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, select

from desk_client import PASSWORD, write_hub
from helpers import REPO
from kite.desk.passwords import verify_password
from kite.storage import database_url
from kite.storage.schema import accounts, audit_log, members


def run(hub, *arguments: str, password: str | None = None, db: str | None = None,
        env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO / "build.py"), *arguments, "-f", str(hub.config)]
    if db is not None:
        command += ["--db", db]
    return subprocess.run(command, input=None if password is None else password + "\n", capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


@pytest.fixture
def desk_hub(hub):
    write_hub(hub)
    return hub


def rows(db: str, table, *columns):
    engine = create_engine(database_url(db))
    with engine.connect() as connection:
        found = connection.execute(select(*(table.c[column] for column in columns)).order_by(table.c.id)).all()
    engine.dispose()
    return found


def test_account_add_reads_the_password_from_stdin_and_stores_only_a_hash(desk_hub, database):
    result = run(desk_hub, "account", "add", "Zhang", "--scope", "驻宁流动党员联合党委", password=PASSWORD, db=database)
    assert result.returncode == 0, result.stderr
    assert "zhang" in result.stdout and "驻宁流动党员联合党委" in result.stdout
    ((login, scope, hashed),) = rows(database, accounts, "login", "scope", "password_hash")
    assert (login, scope) == ("zhang", "驻宁流动党员联合党委")
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed and verify_password(hashed, PASSWORD)
    assert PASSWORD not in result.stdout + result.stderr


def test_the_database_may_come_from_kite_db(desk_hub, tmp_path):
    db = str(tmp_path / "from-env.sqlite3")
    assert run(desk_hub, "account", "add", "li", "--scope", "all", password=PASSWORD, env={"KITE_DB": db}).returncode == 0
    assert run(desk_hub, "account", "list", env={"KITE_DB": db}).stdout.startswith("li\tall\t")


def test_the_default_database_is_beside_the_config(desk_hub):
    assert run(desk_hub, "account", "add", "li", "--scope", "all", password=PASSWORD,
               env={"KITE_DB": ""}).returncode == 0
    assert (desk_hub.root / "attendance.sqlite3").is_file()


@pytest.mark.parametrize("login, scope, password, words", [
    ("zhang", "驻宁流动党员联合党委", "short", "密码太短"),
    ("zhang", "没有这个范围", PASSWORD, "没有这个范围"),
    ("zhang", "鼓韵堂", PASSWORD, "可用的范围：all、驻宁流动党员联合党委、鼓韵堂党支部"),
    ("zh ang", "all", PASSWORD, "登录名不能含有空格"),
    ("", "all", PASSWORD, "登录名不能为空"),
])
def test_a_refused_account_is_exit_1_with_a_chinese_message_and_nothing_created(desk_hub, tmp_path, login, scope,
                                                                               password, words):
    db = str(tmp_path / "a.sqlite3")
    result = run(desk_hub, "account", "add", login, "--scope", scope, password=password, db=db)
    assert result.returncode == 1
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert rows(db, accounts, "login") == []


def test_an_existing_login_is_refused(desk_hub, tmp_path):
    db = str(tmp_path / "a.sqlite3")
    assert run(desk_hub, "account", "add", "zhang", "--scope", "all", password=PASSWORD, db=db).returncode == 0
    again = run(desk_hub, "account", "add", "ZHANG", "--scope", "鼓韵堂党支部", password="another-password", db=db)
    assert again.returncode == 1 and "已经存在" in again.stderr
    ((scope, hashed),) = rows(db, accounts, "scope", "password_hash")
    assert scope == "all" and verify_password(hashed, PASSWORD)


def test_no_password_on_stdin_is_refused(desk_hub, tmp_path):
    db = str(tmp_path / "a.sqlite3")
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "account", "add", "zhang", "--scope", "all",
                             "-f", str(desk_hub.config), "--db", db], stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1 and "没有读到密码" in result.stderr


def test_list_password_and_remove(desk_hub, database):
    for login, scope in (("zhang", "all"), ("li", "鼓韵堂党支部")):
        assert run(desk_hub, "account", "add", login, "--scope", scope, password=PASSWORD, db=database).returncode == 0
    listed = run(desk_hub, "account", "list", db=database)
    assert [line.split("\t")[:2] for line in listed.stdout.splitlines()] == [["li", "鼓韵堂党支部"], ["zhang", "all"]]

    changed = run(desk_hub, "account", "password", "li", password="a-brand-new-password", db=database)
    assert changed.returncode == 0, changed.stderr
    hashed = dict(rows(database, accounts, "login", "password_hash"))["li"]
    assert verify_password(hashed, "a-brand-new-password") and not verify_password(hashed, PASSWORD)
    assert run(desk_hub, "account", "password", "li", password="short", db=database).returncode == 1
    assert run(desk_hub, "account", "password", "nobody", password=PASSWORD, db=database).returncode == 1

    assert run(desk_hub, "account", "remove", "li", db=database).returncode == 0
    assert [login for (login,) in rows(database, accounts, "login")] == ["zhang"]
    missing = run(desk_hub, "account", "remove", "li", db=database)
    assert missing.returncode == 1 and "没有账号 li" in missing.stderr
    actions = [action for (action,) in rows(database, audit_log, "action")]
    assert actions == ["account_add", "account_add", "account_password", "account_remove"]


def test_roster_import_reads_the_file_and_reports_each_branch(desk_hub, database, tmp_path):
    file = tmp_path / "名册.csv"
    file.write_bytes("姓名,支部\r\n王建军,鼓韵堂党支部\r\n李秀英,鼓韵堂党支部\r\n陈国华,栖息栈党支部\r\n".encode("gb18030"))
    result = run(desk_hub, "roster", "import", str(file), db=database)
    assert result.returncode == 0, result.stderr
    assert "鼓韵堂党支部：2 人" in result.stdout and "栖息栈党支部：1 人" in result.stdout
    assert [name for (name,) in rows(database, members, "name")] == ["王建军", "李秀英", "陈国华"]


def test_a_roster_with_problems_prints_one_line_each_and_imports_nobody(desk_hub, tmp_path):
    db = str(tmp_path / "a.sqlite3")
    file = tmp_path / "名册.csv"
    file.write_text("姓名,支部\n王建军,鼓韵堂党支部\n,鼓韵堂党支部\n李秀英,不存在的支部\n王 建军,鼓韵堂党支部\n", encoding="utf-8")
    result = run(desk_hub, "roster", "import", str(file), db=db)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert lines[0] == f"{file}:3: 姓名: 不能为空"
    assert lines[1].startswith(f"{file}:4: 支部: 没有这个支部：“不存在的支部”")
    assert lines[2].startswith(f"{file}:5: 姓名: 与第 2 行重名")
    assert rows(db, members, "name") == []


def test_a_file_that_is_not_a_roster_is_one_clear_line(desk_hub, tmp_path):
    db = str(tmp_path / "a.sqlite3")
    file = tmp_path / "photo.xlsx"
    file.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000))
    result = run(desk_hub, "roster", "import", str(file), db=db)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"{file}:1: 文件: ")
    missing = run(desk_hub, "roster", "import", str(tmp_path / "nowhere.csv"), db=db)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr


def test_an_unreachable_database_is_a_message_not_a_traceback(desk_hub):
    result = run(desk_hub, "account", "list", db="postgresql://kite:secret@127.0.0.1:9/kite")
    assert result.returncode == 1
    assert "无法打开数据库" in result.stderr and "secret" not in result.stderr and "Traceback" not in result.stderr


def on_a_terminal(hub, db: str, *typed: str) -> tuple[int, str]:
    """Run `account add` with a real pseudo-terminal as its controlling terminal, typing each line when asked."""
    import pty
    import select
    import signal
    import time

    pid, terminal = pty.fork()
    if pid == 0:  # the child: build.py, whose terminal is the pty
        os.execv(sys.executable, [sys.executable, str(REPO / "build.py"), "account", "add", "zhang", "--scope", "all",
                                  "-f", str(hub.config), "--db", db])
    screen = b""
    pending = list(typed)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if not select.select([terminal], [], [], 0.5)[0]:
                continue
            try:
                chunk = os.read(terminal, 1024)
            except OSError:  # the child has exited and closed the terminal
                break
            if not chunk:
                break
            screen += chunk
            if pending and screen.decode("utf-8", "ignore").rstrip().endswith("："):
                os.write(terminal, pending.pop(0).encode() + b"\n")
                screen += b"<typed>"
    finally:
        waited, status = os.waitpid(pid, os.WNOHANG)
        if waited == 0:  # still waiting for input nobody will type
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        os.close(terminal)
    return os.waitstatus_to_exitcode(status), screen.decode("utf-8", "replace")


def test_on_a_terminal_the_password_is_asked_twice_without_echo(desk_hub, tmp_path):
    db = str(tmp_path / "a.sqlite3")
    code, screen = on_a_terminal(desk_hub, db, PASSWORD, PASSWORD)
    assert code == 0, screen
    assert "密码（至少 10 个字符）：" in screen and "再输入一次：" in screen
    assert PASSWORD not in screen  # not echoed
    ((hashed,),) = rows(db, accounts, "password_hash")
    assert verify_password(hashed, PASSWORD)


def test_on_a_terminal_two_different_passwords_create_nothing(desk_hub, tmp_path):
    db = str(tmp_path / "a.sqlite3")
    code, screen = on_a_terminal(desk_hub, db, PASSWORD, PASSWORD + "x")
    assert code == 1
    assert "两次输入的密码不一样" in screen
    assert rows(db, accounts, "login") == []
