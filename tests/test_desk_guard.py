"""Every route under /desk/, taken from the app's own router, asked by everyone who must be turned away.

A page added tomorrow is in the list the moment it is routed: without a session it must send
people to the login page, a POST must need the page's token and the endpoint's own origin, and
a branch outside the account's scope must not exist.  A route with a path parameter or form this
file does not know fails until a sample is added below.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from starlette.routing import Mount

from desk_client import desk_app_fixture
from kite.storage.schema import (accounts, audit_log, checkins, desk_sessions, login_failures, members,
                                 record_links)

desk = pytest.fixture(desk_app_fixture)

GUYUN, QIXI, PUDONG = "鼓韵堂党支部", "栖息栈党支部", "浦东项目部党支部"
PUBLIC = {("GET", "/desk/login"), ("POST", "/desk/login")}
# Names that only an account whose scope holds 浦东 may ever see.
FOREIGN = ["周立新", "浦东外人", PUDONG]
# Path parameters: a value inside the guyun account's scope, and one outside it.
SAMPLES = {"branch": (GUYUN, PUDONG)}


def desk_routes(app) -> list[tuple[str, str]]:
    (mount,) = [route for route in app.routes if isinstance(route, Mount) and route.path == "/desk"]
    return sorted((method, "/desk" + route.path) for route in mount.routes for method in route.methods - {"HEAD"})


def fill(path: str, which: int) -> str:
    def value(match: re.Match) -> str:
        name = match[1].split(":")[0]
        assert name in SAMPLES, f"{path}: add a sample value for {{{name}}} to SAMPLES in test_desk_guard.py"
        return SAMPLES[name][which]

    return re.sub(r"\{([^}]+)\}", value, path)


def post_fields(desk, path: str) -> dict:
    """What a well-formed POST to ``path`` sends (besides the token), with ids of the 浦东 branch."""
    with desk.store.reading() as connection:
        foreign_checkin = connection.execute(select(checkins.c.id).where(checkins.c.branch == PUDONG)).scalar()
        foreign_member = connection.execute(select(members.c.id).where(members.c.branch == PUDONG)).scalar()
    samples = {
        "/desk/login": {"login": "guyun", "password": "x"},
        "/desk/logout": {},
        "/desk/roster": {},
        "/desk/branches/{branch}/attach": {"record": str(foreign_checkin), "member": str(foreign_member), "year": "2026"},
    }
    assert path in samples, f"{path}: add the fields of a well-formed POST to post_fields in test_desk_guard.py"
    return samples[path]


def fingerprint(desk) -> dict[str, object]:
    """What a refused request must leave exactly as it was."""
    with desk.store.reading() as connection:
        found = {table.name: connection.execute(select(func.count()).select_from(table)).scalar()
                 for table in (accounts, audit_log, checkins, login_failures, members, record_links)}
        found["sessions"] = sorted(connection.execute(select(desk_sessions.c.token_hash)).scalars())
        found["departed"] = sorted(connection.execute(
            select(members.c.name).where(members.c.departed_at.is_not(None))).scalars())
    return found


@pytest.fixture
def populated(desk):
    admin = desk.client("admin")
    answer = admin.post("/desk/roster", files={"file": ("名册.csv", "姓名,支部\n王建军,鼓韵堂党支部\n陈国华,栖息栈党支部\n"
                                                                   "周立新,浦东项目部党支部\n".encode(), "text/csv")})
    assert answer.status_code == 200
    desk.store.record_checkin("lessons/签到课", GUYUN, "王建军")
    desk.store.record_checkin("lessons/签到课", PUDONG, "周立新")
    desk.store.record_checkin("lessons/签到课", PUDONG, "浦东外人")
    return desk


def test_the_route_list_is_the_real_one(desk):
    routes = desk_routes(desk.app)
    assert {("GET", "/desk/"), ("GET", "/desk/branches/{branch}"), ("POST", "/desk/roster"), ("GET", "/desk/audit")} <= set(routes)
    assert len(routes) >= 12


def test_without_a_session_every_page_but_the_login_sends_people_to_it(populated):
    outsider = populated.client()
    for method, path in desk_routes(populated.app):
        if (method, path) in PUBLIC:
            continue
        answer = outsider.http.request(method, fill(path, 0))
        assert answer.status_code == 303, (method, path, answer.status_code)
        assert answer.headers["location"] == "/desk/login", (method, path)
    assert outsider.get("/desk/login").status_code == 200
    assert outsider.get("/desk/no-such-page").status_code == 303


def test_every_post_without_the_pages_token_is_403_and_changes_nothing(populated):
    client = populated.client("admin")
    before = fingerprint(populated)
    for method, path in desk_routes(populated.app):
        if method != "POST":
            continue
        fields = post_fields(populated, path)
        for token in (None, "", "not-the-token", client.token() + "x"):
            data = dict(fields) if token is None else {**fields, "csrf": token}
            answer = client.http.post(fill(path, 0), data=data)
            assert answer.status_code == 403, (path, token, answer.status_code)
        assert fingerprint(populated) == before, path
    assert client.get("/desk/").status_code == 200  # the refused logout did not log anyone out


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:8002", "https://example.org"])
def test_every_post_from_another_origin_is_403_even_with_the_token(populated, origin):
    client = populated.client("admin")
    before = fingerprint(populated)
    for method, path in desk_routes(populated.app):
        if method != "POST":
            continue
        answer = client.post(fill(path, 0), post_fields(populated, path), headers={"Origin": origin})
        assert answer.status_code == 403, (path, origin, answer.status_code)
    assert fingerprint(populated) == before


def test_the_endpoints_public_origin_and_the_requests_own_are_accepted(populated):
    populated.hub.write("site_config.yml", populated.hub.config.read_text(encoding="utf-8").replace(
        "endpoint: http://127.0.0.1:8001", "endpoint: http://dangke.example.org/checkin"))
    populated.source.refresh()
    for origin in ("http://dangke.example.org", "http://127.0.0.1:8001"):
        client = populated.client("guyun")
        assert client.post("/desk/logout", headers={"Origin": origin}).status_code == 303, origin
        assert client.get("/desk/").status_code == 303


def test_every_page_of_a_branch_outside_the_scope_is_404_as_if_it_did_not_exist(populated):
    client = populated.client("guyun")
    before = fingerprint(populated)
    for method, path in desk_routes(populated.app):
        if "{" not in path:
            continue
        for url in (fill(path, 1), path.replace("{branch}", "没有这个支部")):
            if method == "GET":
                answer = client.get(url)
            else:
                answer = client.post(url, post_fields(populated, path))
            assert answer.status_code == 404, (method, url, answer.status_code)
            assert not any(name in answer.text for name in FOREIGN), url
    assert fingerprint(populated) == before
    for method, path in desk_routes(populated.app):
        if "{" in path and method == "GET":
            assert client.get(fill(path, 0)).status_code == 200, path  # the same pages exist in scope
    # Out of scope and nonexistent look exactly alike.
    assert client.get("/desk/branches/浦东项目部党支部").text.replace(PUDONG, "X") == \
        client.get("/desk/branches/没有这个支部").text.replace("没有这个支部", "X")


def test_pages_without_a_branch_in_the_path_show_only_what_is_in_scope(populated):
    client = populated.client("guyun")
    for method, path in desk_routes(populated.app):
        if method != "GET" or "{" in path or (method, path) in PUBLIC:
            continue
        answer = client.get(path)
        assert answer.status_code in (200, 404), (path, answer.status_code)
        body = answer.content.decode("utf-8", "replace")
        assert not any(name in body for name in FOREIGN), path
    assert client.get("/desk/audit").status_code == 404  # only `all` accounts read the log
    assert populated.client("admin").get("/desk/audit").status_code == 200
