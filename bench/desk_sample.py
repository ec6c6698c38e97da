"""A desk (工作台) to audit or time: ``attend`` on a sample database behind the bench's nginx.

``SampleDesk`` copies the repository's hub with ``attendance.endpoint`` pointed at the nginx
address's ``/checkin`` (so the desk's links carry that prefix, as in production), fills a new
SQLite database with an ``all`` account, a roster for one branch and a year of check-ins
(some members behind, one misspelt name), starts ``build.py attend`` on a free port, and logs
in through nginx to get a session cookie for the pages that need one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from kite.desk.passwords import hash_password
from kite.desk.roster_file import RosterFile
from kite.desk.scope import Scope
from kite.ports import free_port
from kite.storage import open_store
from kite.storage.desk import DeskStore

REPO = Path(__file__).resolve().parent.parent
BRANCH = "鼓韵堂党支部"
LOGIN, PASSWORD = "lighthouse", "lighthouse-bench-2026"
ROSTER = ("王建军", "李秀英", "张海涛", "陈国华", "周立新", "阿依古丽·买买提", "刘德胜", "孙红梅", "赵志刚", "钱晓燕")
ZONE = ZoneInfo("Asia/Shanghai")
# The desk's pages, as paths under the nginx address; the login page is audited logged out.
PAGES = [("desk-login", "/checkin/desk/login"), ("desk-overview", "/checkin/desk/"),
         ("desk-branch", "/checkin/desk/branches/" + BRANCH)]
# Every desk page says noindex (nobody should find it by searching), which Lighthouse's SEO
# audit is-crawlable counts against it.
NOINDEX = {path for _, path in PAGES}


class SampleDesk:
    def __init__(self, work: Path, public_base: str):
        self.work = work
        self.public_base = public_base.rstrip("/")
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.cookie = ""

    def start(self) -> int:
        """Fill the database and start ``attend``; the port it listens on."""
        hub = self.work / "desk-hub"
        hub.mkdir(parents=True)
        shutil.copy2(REPO / "site_config.yml", hub / "site_config.yml")
        for name in ("lessons", "content"):
            shutil.copytree(REPO / name, hub / name)
        config = hub / "site_config.yml"
        text = re.sub(r"(?m)^  endpoint:.*$", f"  endpoint: {self.public_base}/checkin", config.read_text(encoding="utf-8"))
        config.write_text(text, encoding="utf-8")
        db = self.work / "desk.sqlite3"
        self._fill(str(db))
        log = (self.work / "attend.log").open("wb")
        self.process = subprocess.Popen([sys.executable, str(REPO / "build.py"), "attend", "-f", str(config),
                                         "--db", str(db), "--port", str(self.port)], stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return self.port
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("attend did not start: " + (self.work / "attend.log").read_text(errors="replace"))

    def _fill(self, db: str) -> None:
        store = open_store(db)
        try:
            desk = DeskStore(store)
            now = datetime.now(ZONE)
            desk.add_account(LOGIN, hash_password(PASSWORD), "all", now)
            desk.replace_roster(Scope("all", (BRANCH,), everything=True), RosterFile({BRANCH: ROSTER}), now,
                                actor=LOGIN, filename="名册.xlsx")
            for month in range(1, now.month + 1):
                for number, name in enumerate(ROSTER):
                    if (name == "张海涛" and month > 3) or (name == "周立新" and month % 3 == 0):
                        continue
                    at = datetime(now.year, month, 3, 20, 0, tzinfo=ZONE) + timedelta(minutes=number)
                    store.record_checkin(f"lessons/第{month}课", BRANCH, name, at)
            store.record_checkin("lessons/第1课", BRANCH, "王建君", datetime(now.year, 1, 4, 21, 0, tzinfo=ZONE))
        finally:
            store.close()

    def login(self) -> str:
        """Log in through nginx, as a browser would; the session cookie, as a Cookie header."""
        with httpx.Client(base_url=self.public_base, follow_redirects=False, timeout=30) as client:
            form = client.get("/checkin/desk/login")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]
            answer = client.post("/checkin/desk/login", data={"login": LOGIN, "password": PASSWORD, "csrf": token})
            if answer.status_code != 303:
                raise RuntimeError(f"desk login answered {answer.status_code}")
            self.cookie = f"kite_desk={client.cookies.get('kite_desk')}"
        return self.cookie

    def headers_for(self, path: str) -> dict[str, str]:
        """What Lighthouse sends with ``path``: the session cookie, except on the login page."""
        return {} if path.endswith("/login") else {"Cookie": self.cookie}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

