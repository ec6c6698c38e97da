"""How long the desk takes to show a big branch's 三个一 table, on SQLite and on PostgreSQL.

What it does, for each backend:

1. Makes a hub with one big branch (and two small ones) in a temporary folder, and a new
   database: SQLite beside it, or a database on a throwaway PostgreSQL server started from
   Debian's binaries (tests/postgres_server.py), or ``--postgres URL``.
2. Imports a roster of ``--members`` (default 300) into the big branch and stores
   ``--checkins`` (default 100,000) check-ins, all of them that branch's and of this year,
   the worst case for one page: every member at about 330 lessons and activities, 2% typed
   with a stray space (the same member written two ways), 1% by names on no roster (未匹配),
   and a yearly review.  The hub holds only that review, so the check-ins' lessons
   (``lessons/l0001``…) are no pages of it.

   ``--big-hub``: the hub is instead issue 16's big hub, made by ``bench/generate_hub.py``:
   10,000 lessons, 300 episodes and 600 announcements, of which 1,000 lessons and 120
   announcements take check-ins, plus the same branches and review.  ``attend`` then loads
   all those sessions, as in production, and the check-ins go to real ones: the review,
   and the other sessions (about 330) chosen evenly from the hub's 1,120.
3. Runs ``build.py attend`` on it as production does, logs in to the desk over HTTP, and asks
   for ``/desk/branches/BRANCH`` ``--runs`` times (default 60) after 5 warm-up requests, one
   at a time, timing each answer on the client (loopback, whole body read).
4. Prints p50, p95 and the slowest, the endpoint process's CPU time per request (steadier than
   wall time on a busy machine; on PostgreSQL without the server's), and the load average
   before and after.

Usage (from the repository root):

    .venv/bin/python bench/desk_table.py [--backend sqlite|postgresql|both] [--runs 60]
                                         [--members 300] [--checkins 100000] [--postgres URL]
                                         [--big-hub]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the throwaway PostgreSQL server and the desk's test client

from attend_process import AttendProcess  # noqa: E402
from desk_client import DeskClient, add_accounts  # noqa: E402
from postgres_server import PostgresServer  # noqa: E402

from generate_hub import generate  # noqa: E402  (bench/, beside this file: the big hub)

from kite.attendance.sessions import Roster  # noqa: E402
from kite.desk.roster_file import RosterFile  # noqa: E402
from kite.desk.scope import Scope  # noqa: E402
from kite.loader import load_hub  # noqa: E402
from kite.storage import open_store  # noqa: E402
from kite.storage.desk import DeskStore  # noqa: E402
from kite.storage.schema import checkins  # noqa: E402

BIG = "鼓韵堂党支部"
REVIEW_SESSION = "announcements/评议会"
ZONE = ZoneInfo("Asia/Shanghai")
CONFIG = """\
site_name: 压测云课堂
site_url: https://example.org/hub/
attendance:
  endpoint: http://127.0.0.1:8001
branches:
  - name: 驻宁流动党员联合党委
    branches: [鼓韵堂党支部, 栖息栈党支部]
  - name: 驻沪流动党员联合党委
    branches: [浦东项目部党支部]
"""
REVIEW = """\
---
title: 年度民主评议会
date: {year}-01-05
starts: {year}-01-10 19:30
attendance: true
review: true
---
评议。
"""


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_hub(folder: Path, year: int, big: bool = False) -> Path:
    if big:
        generate(folder, lessons=10_000, episodes=300, announcements=600)  # issue 16's big hub
    else:
        (folder / "content/announcements").mkdir(parents=True)
        (folder / "lessons").mkdir()
    (folder / "site_config.yml").write_text(CONFIG, encoding="utf-8")
    (folder / "content/announcements/评议会.md").write_text(REVIEW.format(year=year), encoding="utf-8")
    return folder / "site_config.yml"


def hub_sessions(config: Path, wanted: int) -> list[str]:
    """The review, then ``wanted - 1`` of the hub's other check-in sessions, chosen evenly (as ``attend`` reads them)."""
    others = sorted(key for key, session in Roster.from_hub(load_hub(config)).sessions.items() if not session.review)
    if wanted - 1 > len(others):
        raise SystemExit(f"the hub has {len(others)} check-in sessions besides the review; {wanted - 1} are needed")
    return [REVIEW_SESSION] + [others[number * len(others) // (wanted - 1)] for number in range(wanted - 1)]


def fill(db: str, members: int, count: int, year: int, sessions: list[str] | None = None, seed: int = 2026) -> None:
    """``count`` check-ins, a session after another, every member at each; ``sessions``: their keys, the review
    first (default: the review, then ``lessons/l0001``… up to as many as needed)."""
    rng = random.Random(seed)
    names = [f"党员{n:03}{rng.choice('伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂')}" for n in range(members)]
    store = open_store(db)
    try:
        desk = DeskStore(store)
        add_accounts(desk, {"admin": "all"})
        everything = Scope("all", (BIG,), everything=True)
        desk.replace_roster(everything, RosterFile({BIG: tuple(names)}), datetime.now(timezone.utc),
                            actor="bench", filename="bench.csv")
        if sessions is None:
            sessions = [REVIEW_SESSION] + [f"lessons/l{number:04}" for number in range(1, count // members + 1)]
        start = datetime(year, 1, 1, tzinfo=ZONE)
        span = (datetime(year + 1, 1, 1, tzinfo=ZONE) - start).total_seconds()
        rows = []
        for number, session in enumerate(sessions):
            at = start + timedelta(seconds=span * number / len(sessions))
            for index, name in enumerate(names):
                if len(rows) == count:
                    break
                roll = rng.random()
                typed = f"{name[:2]} {name[2:]}" if roll < 0.02 else (f"路人{index}" if roll < 0.03 else name)
                rows.append({"session": session, "branch": BIG, "name": typed,
                             "checked_in_at": (at + timedelta(minutes=index % 90)).astimezone(timezone.utc)})
        with store.writing() as connection:
            for first in range(0, len(rows), 10_000):
                connection.execute(checkins.insert(), rows[first:first + 10_000])
        if store.engine.dialect.name == "postgresql":
            with store.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")  # as autovacuum would after a day of check-ins
    finally:
        store.close()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(config: Path, db: str, runs: int) -> tuple[list[float], float]:
    """Each request's time on the client, and the endpoint's CPU time per request."""
    process = AttendProcess(config, db).wait_until_serving(timeout=60)
    try:
        with httpx.Client(base_url=process.url, follow_redirects=False, timeout=60) as http:
            DeskClient(http).logged_in("admin")
            path = "/desk/branches/" + quote(BIG)
            for _ in range(5):
                assert http.get(path).status_code == 200
            seconds = []
            cpu_before = cpu_seconds(process.process.pid)
            for _ in range(runs):
                started = time.perf_counter()
                answer = http.get(path)
                answer.read()
                seconds.append(time.perf_counter() - started)
                assert answer.status_code == 200
            cpu = (cpu_seconds(process.process.pid) - cpu_before) / runs
        return seconds, cpu
    finally:
        process.stop()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--checkins", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL", help="an empty PostgreSQL database to use instead of a throwaway server")
    parser.add_argument("--big-hub", action="store_true",
                        help="issue 16's big hub (10,000 lessons, 300 episodes, 600 announcements), check-ins to its sessions")
    arguments = parser.parse_args(argv)
    year = datetime.now(ZONE).year
    backends = ["sqlite", "postgresql"] if arguments.backend == "both" else [arguments.backend]
    results = {}
    server = None
    with tempfile.TemporaryDirectory(prefix="kite-desk-bench-") as work:
        if arguments.big_hub:
            say("生成大站点（1 万篇党课、300 期节目、600 条活动通知）…")
        config = make_hub(Path(work) / "hub", year, big=arguments.big_hub)
        sessions = hub_sessions(config, arguments.checkins // arguments.members + 1) if arguments.big_hub else None
        try:
            for backend in backends:
                if backend == "sqlite":
                    db = str(Path(work) / "attendance.sqlite3")
                elif arguments.postgres:
                    db = arguments.postgres
                else:
                    server = PostgresServer()
                    server.start()
                    db = server.create_database("kite_bench")
                say(f"{backend}：写入 {arguments.members} 名成员和 {arguments.checkins:,} 条签到…")
                fill(db, arguments.members, arguments.checkins, year, sessions)
                load_before = os.getloadavg()[0]
                say(f"{backend}：请求支部页面 {arguments.runs} 次…")
                seconds, cpu = measure(config, db, arguments.runs)
                results[backend] = (seconds, cpu, load_before, os.getloadavg()[0])
        finally:
            if server is not None:
                server.destroy()
    hub = "大站点（1 万篇党课、300 期节目、600 条活动通知）" if arguments.big_hub else "只有评议会一场的小站点"
    print(f"三个一表格：{arguments.members} 名成员，{arguments.checkins:,} 条签到（都是这个支部今年的），"
          f"{hub}，{arguments.runs} 次请求，{os.cpu_count()} 核")
    for backend, (seconds, cpu, before, after) in results.items():
        ms = [value * 1000 for value in seconds]
        print(f"{backend:<11} p50 {statistics.median(ms):6.1f} ms   p95 {percentile(ms, 0.95):6.1f} ms   "
              f"最慢 {max(ms):6.1f} ms   签到服务每次 CPU {cpu * 1000:5.1f} ms   负载 {before:.1f} → {after:.1f}")
    print("（PostgreSQL 一行的 CPU 只算签到服务进程，不含数据库服务器的。）" if "postgresql" in results else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
