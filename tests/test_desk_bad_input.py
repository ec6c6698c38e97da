"""Bad input to the desk: clear 4xx answers, nothing changed, never a 5xx; 503 when the database is away;
and nothing personal in the logs."""

from __future__ import annotations

import io
import logging
import socket
import zipfile
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from attend_process import AttendProcess
from desk_client import PASSWORD, DeskApp, DeskClient, add_accounts, desk_app_fixture, write_hub
from kite.storage import open_store
from kite.storage.desk import DeskStore
from kite.storage.schema import members

desk = pytest.fixture(desk_app_fixture)


def member_count(desk) -> int:
    with desk.store.reading() as connection:
        return connection.execute(select(func.count()).select_from(members)).scalar()


def zip_bomb() -> bytes:
    """A workbook-shaped zip whose one entry unpacks to 200 MB of zeros (about 200 KB packed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/workbook.xml", "w", force_zip64=True) as entry:
            for _ in range(200):
                entry.write(bytes(1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize("filename, data, words", [
    ("名册.xlsx", zip_bomb(), "解压后太大"),
    ("照片.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(5000), "不是有效的 Excel 工作簿"),
    ("名册.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(5000), "旧版 Excel"),
    ("名册.csv", "名字,单位\n王建军,鼓韵堂党支部\n".encode(), "找不到表头"),
    # UTF-16 without its byte-order mark (with one it is Excel's "Unicode text", which is read).
    ("名册.csv", "姓名,支部\n王建军,鼓韵堂党支部\n".encode("utf-16-le"), "无法识别文件的编码"),
    ("名册.csv", b"", "请先选择名册文件"),
    ("名\x1b册\u202e.csv", "姓名\n王建军\n".encode(), "缺少“支部”列"),
])
def test_files_that_are_not_rosters_get_a_clear_400_and_nothing_is_imported(desk, filename, data, words):
    answer = desk.client("admin").post("/desk/roster", files={"file": (filename, data, "application/octet-stream")})
    assert answer.status_code == 400
    assert words in answer.text
    assert "\x1b" not in answer.text and "\u202e" not in answer.text
    assert member_count(desk) == 0


def test_an_upload_without_a_file_field_is_a_clear_400(desk):
    answer = desk.client("admin").post("/desk/roster", files={"other": ("a.csv", b"x", "text/csv")})
    assert answer.status_code == 400 and "请先选择名册文件" in answer.text


def test_a_20_mb_upload_is_413_in_process(desk):
    client = desk.client("admin")
    answer = client.post("/desk/roster", files={"file": ("名册.csv", b"a" * (20 * 1024 * 1024), "text/csv")})
    assert answer.status_code == 413
    assert "最多" in answer.text
    assert member_count(desk) == 0


@pytest.mark.parametrize("body, content_type", [
    (b"csrf=x&login=%FF%FE", "application/x-www-form-urlencoded"),
    (b"--nope\r\nbroken", "multipart/form-data"),
    (b"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nx\r\n", "multipart/form-data; boundary=b"),
])
def test_malformed_bodies_are_4xx_never_5xx(desk, body, content_type):
    client = desk.client("admin")
    answer = client.http.post("/desk/roster", content=body, headers={"Content-Type": content_type})
    assert 400 <= answer.status_code < 500


def test_a_field_sent_twice_is_refused(desk):
    client = desk.client("admin")
    token = client.token()
    answer = client.http.post("/desk/logout", content=f"csrf={token}&csrf={token}",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400 and "同一个字段提交了多次" in answer.text
    assert client.get("/desk/").status_code == 200


@pytest.mark.parametrize("fields", [
    {"record": "1" * 40, "member": "1"},
    {"record": "-1", "member": "1"},
    {"record": "一", "member": "1"},
    {"record": "1", "member": "x" * 10000},
    {"record": [str(n) for n in range(501)], "member": "1"},
    {},
])
def test_bad_attach_fields_are_a_clear_400(desk, fields):
    answer = desk.client("guyun").post("/desk/branches/鼓韵堂党支部/attach", fields)
    assert answer.status_code == 400 and "请先勾选" in answer.text


@pytest.mark.parametrize("path", [
    "/desk/branches/" + "支" * 5000,
    "/desk/branches/%00%01",
    "/desk/branches/鼓韵堂党支部%0A",
    "/desk/checkins.csv?session=" + "x" * 5000,
    "/desk/checkins.csv?session=lessons/%00",
    "/desk/branches/鼓韵堂党支部/record.csv?year=%FF",
])
def test_strange_addresses_are_4xx_never_5xx(desk, path):
    answer = desk.client("admin").get(path)
    assert 400 <= answer.status_code < 500, (path, answer.status_code)


def test_the_database_going_away_is_503_and_the_desk_recovers(hub, postgres, postgres_url):
    write_hub(hub, "http://127.0.0.1:8001")
    app = DeskApp(hub, postgres_url)
    try:
        client = app.client("admin")
        postgres.stop()
        try:
            for answer in (client.get("/desk/"), client.get("/desk/branches/鼓韵堂党支部"),
                           client.http.post("/desk/logout", data={"csrf": "x"})):
                assert answer.status_code == 503
                assert answer.headers["retry-after"].isdigit()
                assert "数据库暂时无法使用" in answer.text
            fresh = DeskClient(app.client().http)
            form = fresh.get("/desk/login")
            assert form.status_code == 200  # the form itself needs no database
            assert fresh.login("admin").status_code == 503
        finally:
            postgres.start()
        assert client.get("/desk/").status_code == 200
    finally:
        app.close()


def test_logs_hold_no_names_passwords_or_tokens(desk, caplog):
    caplog.set_level(logging.DEBUG)
    desk.client().login("admin", "the-wrong-password-99")
    client = desk.client("admin")
    roster = "姓名,支部\n欧阳秘密,鼓韵堂党支部\n".encode()
    assert client.post("/desk/roster", files={"file": ("名册.csv", roster, "text/csv")}).status_code == 200
    desk.store.record_checkin("lessons/签到课", "鼓韵堂党支部", "司马隐私")
    assert client.get("/desk/branches/鼓韵堂党支部/record.csv").status_code == 200
    assert client.get("/desk/checkins.csv").status_code == 200
    secrets = ["欧阳秘密", "司马隐私", PASSWORD, "the-wrong-password-99", client.http.cookies.get("kite_desk"),
               client.token()]
    logged = "\n".join(record.getMessage() + repr(record.args) for record in caplog.records)
    assert logged  # something was captured, so the check below checked something
    for secret in secrets:
        assert secret not in logged


def test_a_real_endpoint_refuses_a_20_mb_upload_after_reading_no_more_than_its_limit(hub, tmp_path):
    write_hub(hub, "http://127.0.0.1:8001")
    db = str(tmp_path / "a.sqlite3")
    store = open_store(db)
    add_accounts(DeskStore(store))
    store.close()
    process = AttendProcess(hub.config, db).wait_until_serving()
    try:
        import httpx

        with httpx.Client(base_url=process.url, follow_redirects=False, timeout=30) as http:
            client = DeskClient(http).logged_in("admin")
            token = client.token()
            cookie = http.cookies.get("kite_desk")
        host, port = urlsplit(process.url).hostname, urlsplit(process.url).port
        # Announced as 20 MB; only the headers and a first part are ever sent.
        head = (f"POST /desk/roster HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: kite_desk={cookie}\r\n"
                f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {20 * 1024 * 1024}\r\n\r\n")
        with socket.create_connection((host, port), timeout=10) as raw:
            raw.sendall(head.encode() + f"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n".encode())
            answer = raw.recv(65536).decode("utf-8", "replace")
        assert answer.startswith("HTTP/1.1 413"), answer[:200]
        # Sent in chunks without a length, it is cut off at the limit just the same.
        def chunks():
            yield f"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n".encode()
            for _ in range(20):
                yield b"x" * (1024 * 1024)

        with httpx.Client(base_url=process.url, timeout=30) as http:
            http.cookies.set("kite_desk", cookie)
            answer = http.post("/desk/roster", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert answer.status_code == 413
        assert httpx.get(process.url + "/health").status_code == 200
        assert "Traceback" not in process.output()
    finally:
        process.stop()
