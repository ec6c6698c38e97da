"""The settings the desk reads: late_after, code_seconds, points, and announcements' attendance and review."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from kite.attendance.sessions import Roster
from kite.build import build
from kite.config import Points
from kite.errors import ContentErrors
from kite.loader import load_hub

REPO = Path(__file__).resolve().parent.parent

CONFIG = """\
site_name: 测试云课堂
site_url: https://example.org/hub/
attendance:
  endpoint: https://example.org/checkin
{attendance}branches:
  - name: 驻宁流动党员联合党委
    branches: [鼓韵堂党支部, 栖息栈党支部]
{points}"""


def problems(hub) -> list[str]:
    with pytest.raises(ContentErrors) as caught:
        load_hub(hub.config)
    return [str(p) for p in caught.value.problems]


def configure(hub, attendance: str = "", points: str = "") -> None:
    hub.write("site_config.yml", CONFIG.format(attendance=attendance, points=points))


def test_defaults_are_the_contracts(hub):
    configure(hub)
    config = load_hub(hub.config).config
    assert config.attendance.late_after == timedelta(minutes=10)
    assert config.attendance.code_seconds == 120
    assert (config.points.study, config.points.report, config.points.suggestion, config.points.review) == (1, 2, 1, 2)


def test_settings_are_read(hub):
    configure(hub, attendance="  late_after: 15\n  code_seconds: 60\n",
              points="points:\n  study: 3\n  report: 0\n  suggestion: 5\n  review: 10\n")
    config = load_hub(hub.config).config
    assert config.attendance.late_after == timedelta(minutes=15)
    assert config.attendance.code_seconds == 60
    assert config.points == Points(study=3, report=0, suggestion=5, review=10)


def test_bad_settings_name_their_line_and_field(hub):
    configure(hub, attendance="  late_after: 十分钟\n  code_seconds: 0\n",
              points="points:\n  study: -1\n  report: 2.5\n  sugestion: 1\n")
    assert problems(hub) == [
        "site_config.yml:5: attendance.late_after: 应为分钟数（0 到 10080 之间的整数），实际为'十分钟'",
        "site_config.yml:6: attendance.code_seconds: 应为 1 到 86400 之间的整数（秒），实际为'0'",
        "site_config.yml:11: points.study: 应为 0 到 1000 之间的整数，实际为'-1'",
        "site_config.yml:12: points.report: 应为 0 到 1000 之间的整数，实际为'2.5'",
        "site_config.yml:13: points.sugestion: 未知字段。是不是想写 suggestion？可用的字段有：study, report, suggestion, review",
    ]


def test_an_announcement_takes_true_false_or_code_and_review(hub):
    configure(hub)
    for slug, attendance in (("a", "true"), ("b", "false"), ("c", "code"), ("d", " Code ")):
        hub.announcement(slug, f"title: 活动{slug}\ndate: 2026-03-01\nstarts: 2026-03-02 19:00\n"
                               f"attendance: '{attendance}'\nreview: {'true' if slug == 'c' else 'no'}")
    loaded = {item.slug: item for item in load_hub(hub.config).announcements}
    assert {slug: item.attendance for slug, item in loaded.items()} == {"a": True, "b": False, "c": "code", "d": "code"}
    assert {slug: item.review for slug, item in loaded.items()} == {"a": False, "b": False, "c": True, "d": False}


def test_bad_attendance_and_review_name_their_line(hub):
    configure(hub)
    hub.announcement("a", "title: 活动\ndate: 2026-03-01\nstarts: 2026-03-02 19:00\nattendance: 扫码\nreview: 评议")
    hub.lesson("b", "title: 课\ndate: 2026-03-01\nattendance: code")
    assert problems(hub) == [
        "content/announcements/a.md:5: attendance: 应为 true、false 或 code（现场签到码），实际为'扫码'",
        "content/announcements/a.md:6: review: 应为 true 或 false，实际为'评议'",
        "lessons/b.md:4: attendance: 现场签到码（code）只用于活动通知；党课请写 true 或 false",
    ]


def test_a_lesson_still_takes_a_plain_flag(hub):
    configure(hub)
    hub.lesson("a", "title: 课\ndate: 2026-03-01\nattendance: yes")
    (lesson,) = load_hub(hub.config).lessons
    assert lesson.attendance is True


def test_a_code_announcement_is_a_checkin_session_with_its_form(hub, tmp_path):
    configure(hub)
    hub.announcement("live", "title: 现场活动\ndate: 2026-03-01\nstarts: 2026-03-02 19:00\nattendance: code")
    hub.announcement("plain", "title: 通知\ndate: 2026-03-01\nstarts: 2026-03-02 19:00")
    loaded = load_hub(hub.config)
    assert set(Roster.from_hub(loaded).sessions) == {"announcements/live"}
    site = tmp_path / "site"
    build(hub.config, site)
    live = (site / "announcements/live/index.html").read_text(encoding="utf-8")
    assert 'action="https://example.org/checkin/checkin"' in live
    assert 'value="announcements/live"' in live
    assert "可签到" in (site / "announcements/index.html").read_text(encoding="utf-8")
    assert 'name="session"' not in (site / "announcements/plain/index.html").read_text(encoding="utf-8")


def test_every_points_key_is_documented_in_the_readme_and_editor_guide():
    for path in (REPO / "README.md", REPO / "docs/editor-guide.md"):
        text = path.read_text(encoding="utf-8")
        for name in [*Points.model_fields, "late_after", "code_seconds", "review"]:
            assert re.search(rf"(?<![\w]){name}(?![\w])", text), f"{name} is not documented in {path.name}"
