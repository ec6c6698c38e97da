"""Fixtures: tiny hubs in tmp_path, a static server on loopback, the endpoint, a real Chromium,
a real PostgreSQL server, and a database of each kind for the endpoint's tests.

Shared names that are not fixtures live in ``helpers.py``; import them from there.
"""

from __future__ import annotations

import functools
import http.server
import itertools
import threading
import time
from pathlib import Path

import pytest

# Re-exported only for test modules that still import them from here (test_attendance.py);
# new tests import from helpers.
from postgres_server import PostgresServer

from helpers import CHROMIUM_FLAGS, CONFIG, PHONE, REPO, HubFolder, chromium_path, free_port  # noqa: F401


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


@pytest.fixture
def start_endpoint():
    """Start the check-in endpoint (uvicorn) in a thread; returns its base URL."""
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


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser):
    """A 360 px wide phone-sized browser context: for tests that take it offline or open several pages."""
    context = browser.new_context(**PHONE)
    yield context
    context.close()


@pytest.fixture
def phone(context):
    """A page in a 360 px wide phone-sized context."""
    return context.new_page()
