"""`build.py new`: drafts that pass `check` as written, with every field of their kind."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from helpers import REPO
from kite.loader import load_hub
from kite.models import AnnouncementFront, EpisodeFront, LessonFront
from kite.scaffold import new_draft, slug_from_title

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize("kind, schema", [("lesson", LessonFront), ("episode", EpisodeFront), ("announcement", AnnouncementFront)])
def test_new_draft_passes_check_and_lists_every_field(hub, kind, schema):
    path = new_draft(kind, "抓牢引线：放飞 & 回家", hub.config, now=NOW)
    loaded = load_hub(hub.config)  # raises if the draft has any problem
    assert loaded.drafts == 1
    text = path.read_text(encoding="utf-8")
    assert 'title: "抓牢引线：放飞 & 回家"' in text and "date: 2026-11-27" in text and "draft: true" in text
    for name in schema.model_fields:
        assert f"\n{name}:" in text or f"\n# {name}:" in text, f"{kind} draft lacks {name}"


def test_uncommenting_the_examples_still_passes(hub):
    path = new_draft("lesson", "第一课", hub.config, now=NOW)
    text = path.read_text(encoding="utf-8").replace("\n# ", "\n").replace("draft: true", "draft: false")
    path.write_text(text, encoding="utf-8")
    (lesson,) = load_hub(hub.config).lessons
    assert lesson.series == "党的基本知识" and lesson.tags == ["党章", "流动党员"] and lesson.attendance


def test_slugs_are_made_from_titles_and_kept_unique(hub):
    first = new_draft("lesson", "冬季 施工/安全?", hub.config, now=NOW)
    second = new_draft("lesson", "冬季 施工/安全?", hub.config, now=NOW)
    hub.lesson("taken", "title: 已有\ndate: 2026-01-01\nslug: 第三课")
    third = new_draft("lesson", "第三课", hub.config, now=NOW)
    assert (first.name, second.name, third.name) == ("冬季-施工-安全.md", "冬季-施工-安全-2.md", "第三课-2.md")
    assert slug_from_title("Index") == "Index"
    assert new_draft("lesson", "index", hub.config, now=NOW).name == "index-2.md"
    assert slug_from_title("？？？") == "untitled"


def test_new_command_prints_the_path(hub):
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "new", "announcement", "12月主题党日", "-f", str(hub.config)],
                            capture_output=True, text=True, cwd=hub.root)
    assert result.returncode == 0, result.stderr
    path = hub.root / result.stdout.strip()
    assert path.is_file() and path.parent.name == "announcements"
    checked = subprocess.run([sys.executable, str(REPO / "build.py"), "check", "-f", str(hub.config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
