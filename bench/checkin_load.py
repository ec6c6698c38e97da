"""Load benchmark for the check-in endpoint: check-ins per second and p99 latency.

Starts `build.py attend` on the sample hub with a fresh SQLite file, drives it with
wrk (50 connections by default, every request a new member), then counts the rows
on disk: every check-in answered 201 must be there.

    .venv/bin/python bench/checkin_load.py [--connections 50] [--seconds 10] [--runs 3]

Needs wrk (Debian: apt-get install wrk).
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
from pathlib import Path

from kite.ports import free_port

REPO = Path(__file__).resolve().parent.parent
SESSION = "lessons/抓牢引线放风筝"
BRANCH = "鼓韵堂党支部"




def start_endpoint(db: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, str(REPO / "build.py"), "attend", "-f", str(REPO / "site_config.yml"),
         "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("签到服务没有启动")


def one_run(connections: int, seconds: int, threads: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.sqlite3"
        port = free_port()
        endpoint = start_endpoint(db, port)
        try:
            result = subprocess.run(
                ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                 "-s", str(REPO / "bench/checkin.lua"), f"http://127.0.0.1:{port}", "--", SESSION, BRANCH],
                capture_output=True, text=True, check=True,
            )
        finally:
            endpoint.terminate()
            endpoint.wait()
        figures = dict(re.findall(r"(\w+)=([\d.]+)", result.stdout.split("KITE", 1)[1]))
        with sqlite3.connect(db) as connection:
            stored = connection.execute("SELECT count(*) FROM checkins").fetchone()[0]
    recorded = int(figures["recorded"])
    return {
        "per_second": recorded / float(figures["seconds"]),
        "p50_ms": int(figures["p50_us"]) / 1000,
        "p99_ms": int(figures["p99_us"]) / 1000,
        "recorded": recorded,
        "other": int(figures["other"]),
        "stored": stored,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (the endpoint has the other core)")
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("需要 wrk：apt-get install wrk")
    print(f"签到压测：{arguments.connections} 个连接，每轮 {arguments.seconds} 秒，共 {arguments.runs} 轮（{os.cpu_count()} 核）")
    runs = []
    for number in range(1, arguments.runs + 1):
        run = one_run(arguments.connections, arguments.seconds, arguments.threads)
        runs.append(run)
        # Requests still in flight when wrk stops are stored but never counted: stored >= recorded.
        lost = max(0, run["recorded"] - run["stored"])
        print(f"  第 {number} 轮：{run['per_second']:.0f} 次签到/秒，p50 {run['p50_ms']:.1f} ms，p99 {run['p99_ms']:.1f} ms，"
              f"应答 201 共 {run['recorded']} 次，其他应答 {run['other']} 次，磁盘上 {run['stored']} 条，"
              f"已应答却丢失 {lost} 条")
    print(f"中位数：{statistics.median(r['per_second'] for r in runs):.0f} 次签到/秒，"
          f"p99 {statistics.median(r['p99_ms'] for r in runs):.1f} ms")
    return 0 if all(r["stored"] >= r["recorded"] and r["other"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
