"""POST /report, POST /suggestion and GET /suggestion/REF over HTTP (contract, section 6), in-process
through Starlette's TestClient, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import logging
import random
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode, urljoin, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.testclient import TestClient

from kite.attendance.refs import ALPHABET
from kite.attendance.sessions import RosterSource
from kite.attendance.web import create_app
from kite.desk.scope import Scope
from kite.storage import Submissions, open_store

SITE_ORIGIN = "https://example.org"
JSON = {"Accept": "application/json"}
EVERYTHING = Scope("all", (), everything=True)
REPORT = {"name": "王建军", "branch": "鼓韵堂党支部", "text": "本季度参加党课三次，在工地带头落实安全生产责任。"}
SUGGESTION = {"branch": "栖息栈党支部", "category": "民生实事", "text": "希望工地宿舍能装上热水器。",
              "name": "李秀英", "contact": "13912345678"}
REF = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2}$")


class Endpoint:
    def __init__(self, client: TestClient, store):
        self.client = client
        self.store = store
        self.submissions = Submissions(store)

    def post(self, path: str, fields, **headers) -> httpx.Response:
        return self.client.post(path, json=fields, headers={**JSON, **headers})

    def form(self, path: str, fields, **headers) -> httpx.Response:
        return self.client.post(path, data=fields, headers=headers)

    def follow(self, response: httpx.Response, posted_to: str) -> httpx.Response:
        # The form posts to …/report or …/suggestion; a relative Location resolves against that.
        return self.client.get(urljoin(f"http://127.0.0.1:8001{posted_to}", response.headers["location"]))

    def reports(self) -> list[tuple]:
        return [(r.branch, r.name, r.text) for r in self.submissions.reports(EVERYTHING)]

    def suggestions(self) -> list:
        return self.submissions.suggestions(EVERYTHING)


@pytest.fixture
def endpoint(hub, database):
    store = open_store(database)
    source = RosterSource(hub.config)
    app = create_app(store, lambda: source.roster, export_token="t", secret_key="test-key")
    with TestClient(app, base_url="http://127.0.0.1:8001", follow_redirects=False) as client:
        yield Endpoint(client, store)
    store.close()


def this_quarter() -> str:
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


# ---- Reports.

def test_a_report_is_recorded_once_in_this_quarter(endpoint):
    first = endpoint.post("/report", REPORT)
    assert first.status_code == 201
    assert first.json() == {"status": "recorded", "quarter": this_quarter()}  # exactly the contract's answer
    again = endpoint.post("/report", {**REPORT, "name": " 王建军  ", "text": f"\n{REPORT['text']}  \r\n"})
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate" and again.json()["quarter"] == this_quarter()
    assert endpoint.post("/report", {**REPORT, "name": "李秀英"}).status_code == 201
    assert endpoint.post("/report", {**REPORT, "text": REPORT["text"] + "下季度继续。"}).status_code == 201
    assert len(endpoint.reports()) == 3


def test_a_report_by_form_goes_to_a_signed_receipt(endpoint):
    response = endpoint.form("/report", REPORT)
    assert response.status_code == 303
    assert urlsplit(urljoin("http://x/report", response.headers["location"])).path == "/report/done"
    page = endpoint.follow(response, "/report")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "<h1>汇报已收到</h1>" in page.text
    year, quarter = this_quarter().split("Q")
    assert f"{year}年第{'一二三四'[int(quarter) - 1]}季度" in page.text
    assert "王建军" in page.text and "鼓韵堂党支部" in page.text and "北京时间" in page.text
    assert "https://example.org/hub/report/" in page.text
    again = endpoint.follow(endpoint.form("/report", REPORT), "/report")
    assert "这份汇报已经收到过了" in again.text and "汇报已收到</h1>" not in again.text
    assert len(endpoint.reports()) == 1


def test_a_made_up_receipt_shows_nothing(endpoint):
    token = urlsplit(endpoint.form("/report", REPORT).headers["location"]).query.split("t=", 1)[1]
    forged = endpoint.client.get("/report/done?" + urlencode({"t": token[:-3] + "AAA"}))
    assert forged.status_code == 400
    assert "王建军" not in forged.text and "汇报已收到" not in forged.text
    assert endpoint.client.get("/report/done").status_code == 400


def test_the_limits_of_a_report_text_are_exact(endpoint):
    assert endpoint.post("/report", {**REPORT, "text": "党" * 10}).status_code == 201
    assert endpoint.post("/report", {**REPORT, "text": "群" * 5000}).status_code == 201
    # Emoji joined by zero-width joiners, line breaks and tabs are a member's own writing.
    family = "一家人👨‍👩‍👧在工地过年。\n\t第二段。"
    assert endpoint.post("/report", {**REPORT, "text": family}).status_code == 201
    # Invisible characters pasted from an article are dropped, and not counted.
    pasted = endpoint.post("/report", {**REPORT, "name": "陈国华", "text": "\u200b" * 5 + "党" * 9 + "\ufeff"})
    assert pasted.status_code == 400 and "现在 9 个字" in pasted.json()["error"]
    assert sorted(len(text) for _, _, text in endpoint.reports()) == [10, len(family), 5000]


REPORT_REFUSALS = [
    ("missing name", {k: v for k, v in REPORT.items() if k != "name"}, "name"),
    ("blank name", {**REPORT, "name": "  "}, "name"),
    ("long name", {**REPORT, "name": "王" * 41}, "name"),
    ("bidi in name", {**REPORT, "name": "王\u202e军"}, "name"),
    ("missing branch", {k: v for k, v in REPORT.items() if k != "branch"}, "branch"),
    ("unknown branch", {**REPORT, "branch": "不存在党支部"}, "branch"),
    ("joint committee as branch", {**REPORT, "branch": "驻宁流动党员联合党委"}, "branch"),
    ("missing text", {k: v for k, v in REPORT.items() if k != "text"}, "text"),
    ("empty text", {**REPORT, "text": ""}, "text"),
    ("blank text", {**REPORT, "text": " \n\t "}, "text"),
    ("9 characters", {**REPORT, "text": "党" * 9}, "text"),
    ("5001 characters", {**REPORT, "text": "党" * 5001}, "text"),
    ("number text", {**REPORT, "text": 1234567890123}, "text"),
    ("list text", {**REPORT, "text": ["本季度参加党课三次"]}, "text"),
    ("nul in text", {**REPORT, "text": "本季度参加党课\x00三次，带头"}, "text"),
    ("escape in text", {**REPORT, "text": "本季度参加党课\x1b[31m三次，带头"}, "text"),
    ("bidi override in text", {**REPORT, "text": "本季度参加党课\u202e三次，带头"}, "text"),
    ("bidi isolate in text", {**REPORT, "text": "本季度参加党课\u2066三次，带头"}, "text"),
    ("lone surrogate in text", {**REPORT, "text": "本季度参加党课\ud800三次，带头"}, "text"),
]


@pytest.mark.parametrize("label, fields, field", REPORT_REFUSALS, ids=[r[0] for r in REPORT_REFUSALS])
def test_a_bad_report_is_refused_naming_the_field(endpoint, label, fields, field):
    response = endpoint.client.post("/report", content=json.dumps(fields), headers={**JSON, "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field and response.json()["error"]
    assert endpoint.reports() == []


def test_a_refused_form_gets_a_page_saying_what_to_fix_and_that_back_keeps_the_text(endpoint):
    page = endpoint.form("/report", {**REPORT, "text": "太短了"})
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "汇报内容太短：至少 10 个字，现在 3 个字" in page.text
    assert "返回" in page.text and "内容还在" in page.text
    long = endpoint.form("/report", {**REPORT, "text": "党" * 5003})
    assert "最多 5000 个字，现在 5003 个字，请删减 3 个字" in long.text
    assert endpoint.reports() == []


def test_the_body_limit_is_64_kib_here_and_16_kib_for_check_ins(endpoint):
    # A 5,000-character Chinese report by a plain form is about 45 KB: taken.
    report = {**REPORT, "text": "汇" * 5000}
    body = urlencode(report).encode()
    assert 40_000 < len(body) < 64 * 1024
    response = endpoint.client.post("/report", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 303
    too_big = urlencode({**REPORT, "text": "汇" * 8000}).encode()
    assert len(too_big) > 64 * 1024
    refused = endpoint.client.post("/report", content=too_big, headers={**JSON, "Content-Type": "application/x-www-form-urlencoded"})
    assert refused.status_code == 413
    streamed = endpoint.client.post("/suggestion", content=(b"x" * 1024 for _ in range(70)),
                                    headers={**JSON, "Content-Type": "application/json"})
    assert streamed.status_code == 413
    checkin = endpoint.client.post("/checkin", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert checkin.status_code == 413
    assert len(endpoint.reports()) == 1 and endpoint.suggestions() == []


def test_honeypots_look_successful_but_store_nothing(endpoint):
    report = endpoint.post("/report", {**REPORT, "website": "http://spam.example"})
    assert (report.status_code, report.json()["status"]) == (201, "recorded")
    suggestion = endpoint.post("/suggestion", {**SUGGESTION, "website": "http://spam.example"})
    assert suggestion.status_code == 201 and REF.match(suggestion.json()["ref"])
    assert endpoint.client.get("/suggestion/" + suggestion.json()["ref"], headers=JSON).status_code == 404
    assert endpoint.reports() == [] and endpoint.suggestions() == []


@pytest.mark.parametrize("path, fields", [("/report", REPORT), ("/suggestion", SUGGESTION)])
def test_cors_for_the_site_and_refusal_for_other_sites(endpoint, path, fields):
    ok = endpoint.post(path, fields, Origin=SITE_ORIGIN)
    assert ok.status_code == 201 and ok.headers["access-control-allow-origin"] == SITE_ORIGIN
    preflight = endpoint.client.options(path, headers={
        "Origin": SITE_ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == SITE_ORIGIN
    foreign = endpoint.post(path, {**fields, "text": fields["text"] + "另一份"}, Origin="https://evil.example")
    assert foreign.status_code == 403 and foreign.json()["field"] == "origin"
    assert "access-control-allow-origin" not in foreign.headers
    assert len(endpoint.reports()) + len(endpoint.suggestions()) == 1


# ---- Suggestions.

def test_a_suggestion_gets_a_reference_and_a_repeat_the_same_one(endpoint):
    first = endpoint.post("/suggestion", SUGGESTION)
    assert first.status_code == 201 and first.json()["status"] == "recorded"
    assert set(first.json()) == {"status", "ref"}  # the contract's fields, nothing that could name anyone
    ref = first.json()["ref"]
    assert REF.match(ref), ref
    # The same text from the same branch again at once, even in another category and without a name.
    again = endpoint.post("/suggestion", {"branch": SUGGESTION["branch"], "category": "其他", "text": SUGGESTION["text"]})
    assert (again.status_code, again.json()["status"], again.json()["ref"]) == (200, "duplicate", ref)
    other = endpoint.post("/suggestion", {**SUGGESTION, "branch": "鼓韵堂党支部"})
    assert other.status_code == 201 and other.json()["ref"] != ref
    (stored, *_) = [s for s in endpoint.suggestions() if s.branch == "栖息栈党支部"]
    assert (stored.name, stored.contact, stored.category, stored.status) == ("李秀英", "13912345678", "民生实事", "received")


def test_an_anonymous_suggestion_is_taken(endpoint):
    response = endpoint.post("/suggestion", {**SUGGESTION, "name": "", "contact": "   "})
    assert response.status_code == 201
    (stored,) = endpoint.suggestions()
    assert (stored.name, stored.contact) == (None, None)


def test_references_are_random_not_counted(endpoint):
    found = [endpoint.post("/suggestion", {**SUGGESTION, "text": f"第{n}条建议：希望多办夜校"}).json()["ref"] for n in range(40)]
    assert len(set(found)) == 40
    numbers = [sum(ALPHABET.index(ch) << (5 * n) for n, ch in enumerate(reversed(ref.replace("-", "")))) for ref in found]
    assert len({b - a for a, b in zip(numbers, numbers[1:])}) == 39  # no fixed step between neighbours


def test_a_suggestion_by_form_lands_on_its_reference(endpoint):
    response = endpoint.form("/suggestion", SUGGESTION)
    assert response.status_code == 303
    target = urljoin("http://127.0.0.1:8001/suggestion", response.headers["location"])
    assert urlsplit(target).path.startswith("/suggestion/")
    page = endpoint.follow(response, "/suggestion")
    ref = endpoint.suggestions()[0].ref
    shown = f"{ref[:4]}-{ref[4:8]}-{ref[8:]}"
    assert page.status_code == 200
    assert "<h1>建议已收到</h1>" in page.text and f'<p class="k-ref">{shown}</p>' in page.text
    assert "已收到" in page.text and "民生实事" in page.text
    for private in ("李秀英", "13912345678", "热水器"):
        assert private not in page.text
    again = endpoint.follow(endpoint.form("/suggestion", SUGGESTION), "/suggestion")
    assert "这条建议已经收到了" in again.text and shown in again.text
    assert len(endpoint.suggestions()) == 1


SUGGESTION_REFUSALS = [
    ("missing branch", {k: v for k, v in SUGGESTION.items() if k != "branch"}, "branch"),
    ("unknown branch", {**SUGGESTION, "branch": "火星党支部"}, "branch"),
    ("missing category", {k: v for k, v in SUGGESTION.items() if k != "category"}, "category"),
    ("unknown category", {**SUGGESTION, "category": "投诉"}, "category"),
    ("category with spaces inside", {**SUGGESTION, "category": "民生 实事"}, "category"),
    ("4 characters", {**SUGGESTION, "text": "装热水器"}, "text"),
    ("2001 characters", {**SUGGESTION, "text": "建" * 2001}, "text"),
    ("bidi in text", {**SUGGESTION, "text": "希望工地\u202d宿舍装热水器"}, "text"),
    ("control in text", {**SUGGESTION, "text": "希望工地\x07宿舍装热水器"}, "text"),
    ("long name", {**SUGGESTION, "name": "李" * 41}, "name"),
    ("number name", {**SUGGESTION, "name": 42}, "name"),
    ("long contact", {**SUGGESTION, "contact": "1" * 101}, "contact"),
    ("control in contact", {**SUGGESTION, "contact": "139\x0012345678"}, "contact"),
    ("bidi in contact", {**SUGGESTION, "contact": "139\u202e12345678"}, "contact"),
]


@pytest.mark.parametrize("label, fields, field", SUGGESTION_REFUSALS, ids=[r[0] for r in SUGGESTION_REFUSALS])
def test_a_bad_suggestion_is_refused_naming_the_field(endpoint, label, fields, field):
    response = endpoint.post("/suggestion", fields)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field and response.json()["error"]
    assert endpoint.suggestions() == []


def test_the_limits_of_a_suggestion_text_are_exact(endpoint):
    assert endpoint.post("/suggestion", {**SUGGESTION, "text": "多办夜校。"}).status_code == 201
    assert endpoint.post("/suggestion", {**SUGGESTION, "text": "建" * 2000}).status_code == 201


def test_a_repeated_field_in_a_form_names_that_field(endpoint):
    body = urlencode([("branch", "鼓韵堂党支部"), ("category", "其他"), ("text", "一条建议的内容"), ("text", "另一条")]).encode()
    response = endpoint.client.post("/suggestion", content=body, headers={**JSON, "Content-Type": "application/x-www-form-urlencoded"})
    assert (response.status_code, response.json()["field"]) == (400, "text")


# ---- Looking a suggestion up.

def test_the_lookup_shows_status_and_reply_never_name_or_contact(endpoint):
    ref = endpoint.post("/suggestion", SUGGESTION).json()["ref"]
    found = endpoint.client.get(f"/suggestion/{ref}", headers=JSON)
    assert found.status_code == 200
    assert found.json()["status"] == "已收到" and found.json()["reply"] is None and found.json()["ref"] == ref
    assert not {"李秀英", "13912345678", SUGGESTION["text"]} & set(map(str, found.json().values()))
    (suggestion,) = endpoint.suggestions()
    endpoint.submissions.answer(EVERYTHING, suggestion.id, status="in_progress", reply=None, by="qixi",
                                at=datetime.now(timezone.utc))
    assert endpoint.client.get(f"/suggestion/{ref}", headers=JSON).json()["status"] == "办理中"
    endpoint.submissions.answer(EVERYTHING, suggestion.id, status="answered", reply="热水器已经装好。\n请大家节约用电。",
                                by="qixi", at=datetime.now(timezone.utc))
    answered = endpoint.client.get(f"/suggestion/{ref}", headers=JSON).json()
    assert (answered["status"], answered["reply"]) == ("已答复", "热水器已经装好。\n请大家节约用电。")
    assert "qixi" not in json.dumps(answered)
    page = endpoint.client.get(f"/suggestion/{ref}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h1>意见建议办理情况</h1>" in page.text and "已答复" in page.text and "热水器已经装好。" in page.text
    assert "答复时间" in page.text
    made_up = endpoint.client.get(f"/suggestion/{ref}?sent=made-up").text
    assert "<h1>意见建议办理情况</h1>" in made_up and "刚才已经收到" not in made_up and 'class="k-ref"' not in made_up
    for private in ("李秀英", "13912345678", "希望工地宿舍", "qixi"):
        assert private not in page.text


def test_a_reference_is_read_back_in_any_case_and_with_or_without_dashes(endpoint):
    ref = endpoint.post("/suggestion", SUGGESTION).json()["ref"]
    bare = ref.replace("-", "")
    for typed in (ref, bare, bare.lower(), f"{bare[:4]} {bare[4:8]} {bare[8:]}".lower(),
                  "".join(chr(ord(c) + 0xFEE0) for c in bare)):  # full-width, from a Chinese keyboard
        assert endpoint.client.get("/suggestion/" + typed, headers=JSON).status_code == 200, typed


@pytest.mark.parametrize("typed", ["K7Q2-M9XD-4R", "0000000000", "short", "K7Q2-M9XD-4R-EXTRA", "%E2%80%AE", "x" * 300])
def test_an_unknown_reference_is_404(endpoint, typed):
    endpoint.post("/suggestion", SUGGESTION)
    response = endpoint.client.get("/suggestion/" + typed, headers=JSON)
    assert response.status_code == 404 and response.json()["field"] == "ref"
    page = endpoint.client.get("/suggestion/" + typed)
    assert page.status_code == 404 and "没有查询号为" in page.text and 'name="ref"' in page.text


def test_the_lookup_form_goes_on_to_the_suggestion(endpoint):
    ref = endpoint.post("/suggestion", SUGGESTION).json()["ref"]
    typed = ref.replace("-", " ").lower()
    response = endpoint.client.get("/suggestion", params={"ref": typed})
    assert response.status_code == 303
    target = urljoin("http://127.0.0.1:8001/suggestion", response.headers["location"])
    assert urlsplit(target).path == f"/suggestion/{ref}"
    assert endpoint.client.get(target).status_code == 200
    empty = endpoint.client.get("/suggestion", params={"ref": " "})
    assert empty.status_code == 400 and "请填写查询号" in empty.text
    wrong = endpoint.client.get("/suggestion", params={"ref": "不是查询号"})
    assert wrong.status_code == 404 and "10 位字母和数字" in wrong.text


def test_random_requests_never_get_a_5xx(endpoint):
    rng = random.Random(20261128)
    keys = ["name", "branch", "text", "category", "contact", "website", "", "text[]"]
    values = [None, True, 0, -1, 1.5, [], {}, "", " ", "\u0000", "\ud83d\ude00", "鼓韵堂党支部", "民生实事", "其他",
              "党" * 5, "党" * 6000, "a\u202eb", "\r\n" * 50]
    for _ in range(300):
        path = rng.choice(["/report", "/suggestion"])
        if rng.random() < 0.5:
            body = json.dumps({rng.choice(keys): rng.choice(values) for _ in range(rng.randrange(6))}).encode("utf-8", "surrogatepass")
            content_type = "application/json"
        else:
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(300)))
            content_type = rng.choice(["application/x-www-form-urlencoded", "application/json", "text/plain"])
        response = endpoint.client.post(path, content=body, headers={"Content-Type": content_type,
                                                                     "Accept": rng.choice(["application/json", "text/html"])})
        assert response.status_code < 500, (path, body[:200], response.text[:200])
    for typed in ["%FF", "%00", "..", "a/b", "%2F", "K7Q2%0AM9XD", "\u202e" * 3]:
        assert endpoint.client.get("/suggestion/" + typed).status_code < 500
        assert endpoint.client.get("/suggestion", params={"ref": typed}).status_code < 500
    assert endpoint.client.get("/report/done?t=%FF").status_code < 500
    assert endpoint.client.get("/health").status_code == 200


def test_nothing_personal_is_logged(endpoint, caplog):
    caplog.set_level(logging.DEBUG)
    endpoint.post("/report", REPORT)
    endpoint.form("/report", {**REPORT, "text": "太短"})
    ref = endpoint.post("/suggestion", SUGGESTION).json()["ref"]
    endpoint.client.get(f"/suggestion/{ref}")
    for private in ("王建军", "李秀英", "13912345678", "热水器", "安全生产"):
        assert private not in caplog.text


def test_the_endpoints_pages_are_valid_html(hub, tmp_path):
    from test_html_valid import answer_errors

    store = open_store(tmp_path / "attendance.sqlite3")
    source = RosterSource(hub.config)
    with TestClient(create_app(store, lambda: source.roster), base_url="http://127.0.0.1:8001", follow_redirects=False) as client:
        endpoint = Endpoint(client, store)
        pages = {
            "receipt": endpoint.follow(endpoint.form("/report", REPORT), "/report"),
            "refused": endpoint.form("/report", {**REPORT, "text": "短"}),
            "sent": endpoint.follow(endpoint.form("/suggestion", SUGGESTION), "/suggestion"),
            "missing": client.get("/suggestion/K7Q2-M9XD-4R"),
            "empty lookup": client.get("/suggestion?ref="),
        }
        (suggestion,) = endpoint.suggestions()
        endpoint.submissions.answer(EVERYTHING, suggestion.id, status="answered", reply="已解决。\n谢谢。", by="x",
                                    at=datetime.now(timezone.utc))
        pages["answered"] = client.get(f"/suggestion/{suggestion.ref}")
    store.close()
    assert answer_errors(pages, tmp_path) == []
