"""The reference that issue 16 measures Kite's endpoint against: bare Starlette + SQLite.

It parses the form, does one ``INSERT OR IGNORE`` in Starlette's thread pool and answers
201 (new) or 200 (already there).  WAL, ``synchronous=FULL``: one fsync per check-in, so
an answered check-in is on disk, the same promise Kite makes.  No validation, no roster,
no CORS: what a careful programmer would write in an afternoon, served by uvicorn with its
defaults (uvloop and httptools when installed, as they are here) and the access log off.

One connection shared under a lock: SQLite has one writer at a time anyway, and a
connection per thread makes the threads poll the file lock with busy_timeout's sleeps,
which is slower and gives this reference a worse tail than it deserves.

    .venv/bin/python bench/reference_endpoint.py DB PORT
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from datetime import datetime, timezone

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkins (
    id INTEGER PRIMARY KEY,
    session TEXT NOT NULL,
    branch TEXT NOT NULL,
    name TEXT NOT NULL,
    checked_in_at TEXT NOT NULL,
    UNIQUE (session, branch, name)
)
"""


def create_app(path: str) -> Starlette:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA busy_timeout = 5000")
    connection.execute(SCHEMA)
    lock = threading.Lock()

    def insert(session: str, branch: str, name: str) -> bool:
        with lock:
            cursor = connection.execute(
                "INSERT OR IGNORE INTO checkins (session, branch, name, checked_in_at) VALUES (?, ?, ?, ?)",
                (session, branch, name, datetime.now(timezone.utc).isoformat()))
            return cursor.rowcount == 1

    async def checkin(request: Request) -> JSONResponse:
        form = await request.form()
        fields = [str(form.get(key, "")) for key in ("session", "branch", "name")]
        if not all(fields):
            return JSONResponse({"error": "missing field"}, status_code=400)
        new = await run_in_threadpool(insert, *fields)
        return JSONResponse({"status": "recorded" if new else "duplicate"}, status_code=201 if new else 200)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/checkin", checkin, methods=["POST"]), Route("/health", health)])


if __name__ == "__main__":
    uvicorn.run(create_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), access_log=False, log_level="warning")
