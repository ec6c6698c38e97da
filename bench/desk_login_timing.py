"""Does the desk's login answer a wrong password and an unknown login in the same time?

Starts ``build.py attend`` on a new SQLite database with N accounts, then sends, interleaved,
one wrong password to each account and one login to N names that do not exist (each login
once, so that the failed-login lock never answers instead), and prints the medians and
quartiles of both.  The unknown login runs a dummy Argon2 check (``passwords.dummy_verify``),
so the two should be within the noise of each other.

    .venv/bin/python bench/desk_login_timing.py [N]
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

from kite.desk.passwords import hash_password
from kite.ports import free_port
from kite.storage import open_store
from kite.storage.desk import DeskStore

REPO = Path(__file__).resolve().parent.parent
CONFIG = """\
site_name: 计时
site_url: https://example.org/hub/
attendance:
  endpoint: http://127.0.0.1:8001
branches:
  - name: 联合党委
    branches: [一支部]
"""
TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        hub = Path(folder)
        (hub / "site_config.yml").write_text(CONFIG, encoding="utf-8")
        (hub / "lessons").mkdir()
        db = str(hub / "desk.sqlite3")
        store = open_store(db)
        desk, hashed = DeskStore(store), hash_password("the-right-password")
        for n in range(count):
            desk.add_account(f"user{n}", hashed, "all", datetime.now(timezone.utc))
        store.close()
        port = free_port()
        process = subprocess.Popen([sys.executable, str(REPO / "build.py"), "attend", "-f", str(hub / "site_config.yml"),
                                    "--port", str(port)], env={**os.environ, "KITE_DB": db},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if httpx.get(url + "/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            times: dict[str, list[float]] = {"wrong password": [], "unknown login": []}
            with httpx.Client(base_url=url, timeout=30) as client:
                for n in range(count):
                    for kind, login in (("wrong password", f"user{n}"), ("unknown login", f"nobody{n}")):
                        token = TOKEN.search(client.get("/desk/login").text)[1]
                        began = time.perf_counter()
                        answer = client.post("/desk/login", data={"login": login, "password": "a-wrong-password",
                                                                   "csrf": token})
                        times[kind].append(time.perf_counter() - began)
                        assert answer.status_code == 401, answer.status_code
        finally:
            process.terminate()
            process.wait(10)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {count} of each, interleaved")
    for kind, values in times.items():
        quartiles = ", ".join(f"{value * 1000:.1f}" for value in statistics.quantiles(values))
        print(f"{kind:15} median {statistics.median(values) * 1000:6.1f} ms  (quartiles {quartiles} ms)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
