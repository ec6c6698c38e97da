"""What the desk's tests share: a hub with two joint committees, accounts of every kind of
scope, and a client that logs in and posts forms the way a browser does."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import httpx

from kite.desk.passwords import hash_password
from kite.storage.desk import DeskStore

DESK_CONFIG = """\
site_name: 测试云课堂
site_url: https://example.org/hub/
attendance:
  endpoint: {endpoint}
branches:
  - name: 驻宁流动党员联合党委
    branches: [鼓韵堂党支部, 栖息栈党支部]
  - name: 驻沪流动党员联合党委
    branches: [浦东项目部党支部]
"""

PASSWORD = "correct-horse-电池"
# login -> scope; every kind of scope the contract names.
ACCOUNTS = {
    "admin": "all",
    "ningbo": "驻宁流动党员联合党委",
    "guyun": "鼓韵堂党支部",
    "pudong": "浦东项目部党支部",
}
TOKEN_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def write_hub(hub, endpoint: str = "https://example.org/checkin") -> None:
    hub.write("site_config.yml", DESK_CONFIG.format(endpoint=endpoint))
    hub.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true")
    # A live activity the desk can host (/desk/live/announcements/现场会).
    hub.announcement("现场会", "title: 现场签到的活动\ndate: 2026-03-01\nstarts: 2026-03-01 19:30\nattendance: code")


def add_accounts(desk: DeskStore, accounts: dict[str, str] = ACCOUNTS) -> None:
    # One hash for all: Argon2 is slow on purpose, and every account has the same password.
    hashed = hash_password(PASSWORD)
    for login, scope in accounts.items():
        desk.add_account(login, hashed, scope, datetime.now(timezone.utc))


def csrf_in(html: str) -> str:
    found = TOKEN_FIELD.search(html)
    assert found, "the page has no CSRF field"
    return found[1]


class DeskClient:
    """A browser's view of the desk: cookies kept, forms posted with the token the page gave."""

    def __init__(self, client: httpx.Client):
        self.http = client

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def login(self, login: str, password: str = PASSWORD) -> httpx.Response:
        token = csrf_in(self.http.get("/desk/login").text)
        return self.http.post("/desk/login", data={"login": login, "password": password, "csrf": token})

    def logged_in(self, login: str) -> "DeskClient":
        answer = self.login(login)
        assert answer.status_code == 303, answer.text
        return self

    def token(self) -> str:
        return csrf_in(self.http.get("/desk/").text)

    def post(self, path: str, data: dict | None = None, *, files=None, token: bool = True,
             headers: dict | None = None) -> httpx.Response:
        fields = dict(data or {})
        if token:
            fields["csrf"] = self.token()
        return self.http.post(path, data=fields, files=files, headers=headers or {})


class DeskApp:
    """The endpoint in-process over one database, with the desk's accounts made."""

    def __init__(self, hub, database: str, **app_options):
        """``app_options`` go to ``create_app`` (a clock, a secret key)."""
        from kite.attendance.sessions import RosterSource
        from kite.attendance.web import create_app
        from kite.storage import open_store

        self.hub = hub
        self.store = open_store(database)
        self.desk = DeskStore(self.store)
        add_accounts(self.desk)
        self.source = RosterSource(hub.config)
        self.app = create_app(self.store, lambda: self.source.roster, **app_options)
        self._clients = []

    def client(self, login: str | None = None, **options) -> DeskClient:
        """A new browser (its own cookies), logged in as ``login`` if given."""
        from starlette.testclient import TestClient

        http = TestClient(self.app, base_url="http://127.0.0.1:8001", follow_redirects=False, **options)
        self._clients.append(http)
        client = DeskClient(http)
        return client.logged_in(login) if login else client

    def close(self) -> None:
        for http in self._clients:
            http.close()
        self.store.close()


def desk_app_fixture(hub, database):
    write_hub(hub, "http://127.0.0.1:8001")
    app = DeskApp(hub, database)
    yield app
    app.close()
