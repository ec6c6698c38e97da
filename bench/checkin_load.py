"""Load benchmark for the check-in endpoint: check-ins per second and p99 latency.

Starts `build.py attend` on the sample hub with a fresh database, drives it with wrk
(50 connections by default, every request a new member), then counts the rows
stored: every check-in answered 201 must be there.

    .venv/bin/python bench/checkin_load.py [--connections 50] [--seconds 10] [--runs 3] [--threads 2 1]
        SQLite: Kite and the bare Starlette + SQLite reference (bench/reference_endpoint.py)
        side by side, alternating run by run, with wrk -t2 and with wrk -t1.
    .venv/bin/python bench/checkin_load.py --compare /path/to/other/checkout
        The same, with another checkout (or more) beside them.
    .venv/bin/python bench/checkin_load.py --db postgresql [--instances 2]
        A throwaway PostgreSQL server (Debian's, as in the tests), two `attend`
        processes sharing one database behind a private nginx, as the deployment guide sets up.

wrk -t2 puts the load generator on both cores, as in production where nginx and other
processes share the machine; -t1 leaves the endpoint a core of its own.
Needs wrk (Debian: apt-get install wrk); with --db postgresql also postgresql and nginx.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from kite.ports import free_port

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
SESSION = "lessons/抓牢引线放风筝"
BRANCH = "鼓韵堂党支部"

NGINX_CONF = """\
# Private nginx for bench/checkin_load.py: two endpoint instances, as in docs/deployment.md.
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    upstream kite_attend {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://kite_attend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""




def wait_for(url: str, process: subprocess.Popen | None = None) -> None:
    for _ in range(400):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if process is not None and process.poll() is not None:
                raise SystemExit(f"进程已退出（{process.returncode}）：{url}")
            time.sleep(0.05)
    raise SystemExit(f"没有启动：{url}")


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def start_endpoint(repo: Path, db: str, port: int, stack: ExitStack) -> int:
    # The database comes in KITE_DB, as in production (an older checkout ignores it and gets --db).
    command = [sys.executable, str(repo / "build.py"), "attend", "-f", str(repo / "site_config.yml"), "--port", str(port)]
    if "://" not in db:
        command += ["--db", db]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env={**os.environ, "KITE_DB": db}, cwd=repo)
    stack.callback(_terminate, process)
    wait_for(f"http://127.0.0.1:{port}/health", process)
    return process.pid


def _terminate(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait()


def start_nginx(work: Path, ports: list[int], stack: ExitStack) -> int:
    port = free_port()
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in ports)
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(work=work, servers=servers, port=port))
    process = subprocess.Popen([os.environ.get("NGINX", "/usr/sbin/nginx"), "-p", str(work), "-c", str(conf),
                                "-e", str(work / "error.log"), "-g", "daemon off;"])
    stack.callback(_terminate, process)
    wait_for(f"http://127.0.0.1:{port}/health", process)
    return port


def start_reference(db: str, port: int, stack: ExitStack) -> int:
    process = subprocess.Popen([sys.executable, str(REPO / "bench/reference_endpoint.py"), db, str(port)],
                               stdout=subprocess.DEVNULL)
    stack.callback(_terminate, process)
    wait_for(f"http://127.0.0.1:{port}/health", process)
    return process.pid


def drive(port: int, connections: int, seconds: int, threads: int, pids: list[int]) -> dict[str, float]:
    cpu_before = cpu_seconds(pids)
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-s", str(REPO / "bench/checkin.lua"), f"http://127.0.0.1:{port}", "--", SESSION, BRANCH],
        capture_output=True, text=True, check=True,
    )
    cpu = cpu_seconds(pids) - cpu_before
    figures = dict(re.findall(r"(\w+)=([\d.]+)", result.stdout.split("KITE", 1)[1]))
    recorded = int(figures["recorded"])
    return {
        # CPU per check-in barely depends on what else the machine runs: the steadier comparison.
        "cpu_ms": cpu * 1000 / max(1, recorded + int(figures["other"])),
        "per_second": recorded / float(figures["seconds"]),
        "p50_ms": int(figures["p50_us"]) / 1000,
        "p99_ms": int(figures["p99_us"]) / 1000,
        "recorded": recorded,
        "other": int(figures["other"]),
    }


def sqlite_run(repo: Path | None, threads: int, arguments: argparse.Namespace) -> dict[str, float]:
    """One round on a fresh SQLite file: Kite from ``repo``, or the reference when ``repo`` is None."""
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        db = Path(folder) / "bench.sqlite3"
        port = free_port()
        if repo is None:
            pid = start_reference(str(db), port, stack)
        else:
            pid = start_endpoint(repo, str(db), port, stack)
        run = drive(port, arguments.connections, arguments.seconds, threads, [pid])
        stack.close()
        with sqlite3.connect(db) as connection:
            run["stored"] = connection.execute("SELECT count(*) FROM checkins").fetchone()[0]
    return run


def postgres_run(server, number: int, threads: int, arguments: argparse.Namespace) -> dict[str, float]:
    import psycopg

    name = f"bench_{number}"
    url = server.create_database(name)
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        ports = [free_port() for _ in range(arguments.instances)]
        pids = [start_endpoint(REPO, url, port, stack) for port in ports]
        front = start_nginx(Path(folder), ports, stack) if len(ports) > 1 else ports[0]
        run = drive(front, arguments.connections, arguments.seconds, threads, pids)
    with psycopg.connect(url) as connection:
        run["stored"] = connection.execute("SELECT count(*) FROM checkins").fetchone()[0]
    server.drop_database(name)
    return run


def report(label: str, number: int, run: dict[str, float]) -> None:
    # Requests still in flight when wrk stops are stored but never counted: stored >= recorded.
    lost = max(0, run["recorded"] - run["stored"])
    print(f"  {label}第 {number} 轮：{run['per_second']:.0f} 次签到/秒，p50 {run['p50_ms']:.1f} ms，p99 {run['p99_ms']:.1f} ms，"
          f"签到服务每次 CPU {run['cpu_ms']:.2f} ms，"
          f"应答 201 共 {run['recorded']} 次，其他应答 {run['other']} 次，库里 {run['stored']} 条，已应答却丢失 {lost} 条",
          flush=True)


def summary(label: str, runs: list[dict[str, float]]) -> None:
    print(f"{label}中位数：{statistics.median(r['per_second'] for r in runs):.0f} 次签到/秒，"
          f"p50 {statistics.median(r['p50_ms'] for r in runs):.1f} ms，p99 {statistics.median(r['p99_ms'] for r in runs):.1f} ms，"
          f"每次 CPU {statistics.median(r['cpu_ms'] for r in runs):.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--instances", type=int, default=2, help="attend processes on PostgreSQL (default 2)")
    parser.add_argument("--compare", type=Path, action="append", default=[],
                        help="another checkout to measure side by side (SQLite); may be given more than once")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1],
                        help="wrk threads, one setting after another (default: 2 1)")
    parser.add_argument("--no-reference", action="store_true", help="leave out the bare Starlette + SQLite reference")
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("需要 wrk：apt-get install wrk")
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"签到压测（{arguments.db}）：{arguments.connections} 个连接，每轮 {arguments.seconds} 秒，共 {arguments.runs} 轮"
          f"（{os.cpu_count()} 核；开始时 {load}）", flush=True)
    results: dict[str, list[dict[str, float]]] = {}
    if arguments.db == "postgresql":
        from postgres_server import PostgresServer

        server = PostgresServer()
        try:
            server.start()
            for number in range(1, arguments.runs + 1):
                for threads in arguments.threads:
                    label = f"PostgreSQL，{arguments.instances} 个实例，wrk -t{threads}，"
                    run = postgres_run(server, number, threads, arguments)
                    results.setdefault(label, []).append(run)
                    report(label, number, run)
        finally:
            server.destroy()
    else:
        targets: list[tuple[str, Path | None]] = [("Kite 本版", REPO)]
        if not arguments.no_reference:
            targets.append(("对照 Starlette + SQLite", None))
        targets += [(f"对照 {path.resolve().name}", path.resolve()) for path in arguments.compare]
        for number in range(1, arguments.runs + 1):
            for threads in arguments.threads:
                # Alternate, so that a change in the machine's load hits every target alike.
                for label, repo in (targets if number % 2 else targets[::-1]):
                    label = f"{label}，wrk -t{threads}，"
                    run = sqlite_run(repo, threads, arguments)
                    results.setdefault(label, []).append(run)
                    report(label, number, run)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"结束时 {load}")
    # Grouped by wrk's threads, in the order given.
    for label, runs in sorted(results.items(), key=lambda item: arguments.threads.index(int(item[0].split("-t")[1][0]))):
        summary(label, runs)
    every = [run for runs in results.values() for run in runs]
    return 0 if all(r["stored"] >= r["recorded"] and r["other"] == 0 for r in every) else 1


if __name__ == "__main__":
    sys.exit(main())
