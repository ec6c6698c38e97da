"""Running the endpoint: ``python build.py attend``, and beside the editors' preview."""

from __future__ import annotations

import gc
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn

from ..loader import ItemCache
from ..storage import Store, database_url, describe, open_store
from .sessions import RosterSource
from .web import TOKEN_VARIABLE, create_app

DEFAULT_DB = "attendance.sqlite3"


def make_server(config_path: Path, db: str | Path, host: str, port: int, extra_origins: tuple[str, ...] = (),
                endpoint: str | None = None, cache: ItemCache | None = None) -> tuple[uvicorn.Server, RosterSource, Store]:
    """The endpoint, its roster and its store; the database is created or upgraded first.
    ``endpoint``: its public address, in place of the config's (the preview's own).
    ``cache``: the hub's items as read so far (``RosterSource``).

    Raises StorageError when the database must not or cannot be used.
    """
    source = RosterSource(config_path, endpoint=endpoint, cache=cache)
    store = open_store(db, background_checkpoints=True)
    app = create_app(store, lambda: source.roster, extra_origins=extra_origins)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        # No access log: the endpoint keeps no record of who connected from where.
        access_log=False,
        log_level="warning",
        timeout_keep_alive=15,
        server_header=False,
    )
    return uvicorn.Server(config), source, store


def run(config_path: Path, db: str | Path, host: str, port: int) -> int:
    server, source, store = make_server(config_path, db, host, port)
    source.start()
    # Under attendance.endpoint's path, as the built pages and the desk's links use it.
    attendance = source.roster.config.attendance
    here = f"http://{host}:{port}" + (urlsplit(attendance.endpoint).path.rstrip("/") if attendance else "")
    print(f"签到服务已启动：{here}/checkin  工作台：{here}/desk/  数据库：{describe(database_url(db))}  （按 Ctrl+C 停止）",
          flush=True)
    if not os.environ.get(TOKEN_VARIABLE):
        print(f"提示：没有设置环境变量 {TOKEN_VARIABLE}，导出名单（/export.csv）已关闭。", flush=True)
    # Everything loaded so far (SQLAlchemy, Alembic, the hub) lives as long as the process:
    # leave it out of the garbage collector's full passes, which would otherwise walk it
    # again and again under load.
    gc.freeze()
    try:
        server.run()
    finally:
        source.stop()
        store.close()
    return 0


@dataclass
class InBackground:
    """The endpoint serving from a thread of this process."""

    server: uvicorn.Server
    thread: threading.Thread
    roster: RosterSource  # follows what the preview hands it (``RosterSource.follow``)

    @property
    def started(self) -> bool:
        return self.server.started

    def stop(self, timeout: float = 5) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def run_in_background(config_path: Path, db: str | Path, host: str, port: int,
                      extra_origins: tuple[str, ...], endpoint: str | None = None,
                      cache: ItemCache | None = None) -> InBackground:
    """For the preview: the endpoint in a thread beside the live-reload server.

    Its roster does not reload the hub by itself: the preview loads it after every save and hands
    it over (``InBackground.roster``).  A second reader in the same process would take the GIL from
    the save being shown (on a hub of 10,000 lessons, a save then took twice as long).
    """
    server, source, _ = make_server(config_path, db, host, port, extra_origins, endpoint, cache)
    thread = threading.Thread(target=server.run, name="kite-attendance", daemon=True)
    thread.start()
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    return InBackground(server, thread, source)
