"""Shared fixtures: tiny hubs in tmp_path, a static server on loopback, a real Chromium,
a real PostgreSQL server, and a database of each kind for the endpoint's tests."""

from __future__ import annotations

import functools
import http.server
import itertools
import os
import shutil
import textwrap
import threading
from pathlib import Path

import pytest

from postgres_server import PostgresServer

REPO = Path(__file__).resolve().parent.parent

CONFIG = """\
site_name: 测试云课堂
site_url: https://example.org/hub/
attendance:
  endpoint: https://example.org/checkin
branches:
  - name: 驻宁流动党员联合党委
    branches: [鼓韵堂党支部, 栖息栈党支部]
podcast:
  author: 海安市委组织部
  image: cover.png
"""


class HubFolder:
    """A hub on disk that a test fills file by file."""

    def __init__(self, root: Path):
        self.root = root
        self.config = root / "site_config.yml"

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def lesson(self, name: str, front: str, body: str = "正文。\n") -> Path:
        return self.write(f"lessons/{name}.md", f"---\n{textwrap.dedent(front).strip()}\n---\n{body}")

    def episode(self, name: str, front: str, body: str = "文字稿。\n") -> Path:
        return self.write(f"content/episodes/{name}.md", f"---\n{textwrap.dedent(front).strip()}\n---\n{body}")

    def announcement(self, name: str, front: str, body: str = "活动说明。\n") -> Path:
        return self.write(f"content/announcements/{name}.md", f"---\n{textwrap.dedent(front).strip()}\n---\n{body}")

    def media(self, name: str, data: bytes) -> Path:
        path = self.root / "content/media" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path


@pytest.fixture
def hub(tmp_path: Path) -> HubFolder:
    folder = HubFolder(tmp_path / "hub")
    folder.write("site_config.yml", CONFIG)
    folder.media("cover.png", (REPO / "content/media/cover.png").read_bytes())
    return folder


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory) -> Path:
    """The repository's own sample hub, built once."""
    from kite.build import build

    site = tmp_path_factory.mktemp("sample") / "site"
    build(REPO / "site_config.yml", site)
    return site


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def serve_dir():
    """Serve a folder over HTTP on loopback; returns a function giving the base URL."""
    servers = []

    def serve(folder: Path) -> str:
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/"

    yield serve
    for server in servers:
        server.shutdown()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_pair() -> int:
    """A port whose next port is free too (the preview puts its check-in endpoint there)."""
    import socket

    while True:
        port = free_port()
        if port >= 65535:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


@pytest.fixture
def start_endpoint():
    """Start the check-in endpoint (uvicorn) in a thread; returns its base URL."""
    import time

    from kite.attendance.server import make_server

    servers = []

    def start(config: Path, db: Path, extra_origins: tuple[str, ...] = ()) -> str:
        port = free_port()
        server, _, store = make_server(config, db, "127.0.0.1", port, extra_origins=extra_origins)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        servers.append((server, thread, store))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread, store in servers:
        server.should_exit = True
        thread.join(5)
        store.close()


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the whole run, stopped and deleted whatever happens."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


_database_numbers = itertools.count(1)


@pytest.fixture
def postgres_url(postgres):
    """A new, empty PostgreSQL database for one test."""
    name = f"kite_test_{next(_database_numbers)}"
    url = postgres.create_database(name)
    yield url
    if not _answers(postgres):  # a fault test stopped it and failed before starting it again
        postgres.start()
    postgres.drop_database(name)


def _answers(server: PostgresServer) -> bool:
    import psycopg

    try:
        server.admin().close()
        return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> str:
    """The endpoint's database, once of each kind: a SQLite file path or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "attendance.sqlite3")
    return request.getfixturevalue("postgres_url")


def chromium_path() -> str:
    for candidate in (os.environ.get("KITE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome-stable", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    raise RuntimeError("没有找到 Chromium：请运行 make install，或设置 KITE_CHROMIUM")


CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture
def phone(browser):
    """A page in a 360 px wide phone-sized context."""
    context = browser.new_context(**PHONE)
    yield context.new_page()
    context.close()
