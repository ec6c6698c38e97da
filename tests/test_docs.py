"""Documentation keeps up with the code: a command, field or template left undocumented fails."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from conftest import REPO
from kite import cli
from kite.config import Attendance, BranchGroup, Podcast, SiteConfig
from kite.models import AnnouncementFront, EpisodeFront, LessonFront

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def documentation() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in DOCS)


def commands() -> list[str]:
    parser = cli.make_parser()
    (subcommands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(subcommands.choices)


def test_every_command_is_documented_in_the_readme():
    names = commands()
    assert set(names) == {"build", "check", "serve", "new", "attend", "backup"}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in names:
        assert f"build.py {name}" in readme, f"README does not show `build.py {name}`"


def test_every_environment_variable_the_endpoint_reads_is_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for variable in ("KITE_DB", "ATTENDANCE_EXPORT_TOKEN"):
        assert f"`{variable}`" in readme, f"README does not mention {variable}"


@pytest.mark.parametrize("schema", [LessonFront, EpisodeFront, AnnouncementFront])
def test_every_front_matter_field_is_documented(schema):
    text = documentation()
    for name in schema.model_fields:
        assert re.search(rf"(?<![\w]){name}(?![\w])", text), f"{schema.__name__}.{name} is not documented"


@pytest.mark.parametrize("schema", [SiteConfig, Attendance, Podcast, BranchGroup])
def test_every_config_key_is_documented(schema):
    text = documentation()
    for name in schema.model_fields:
        assert re.search(rf"(?<![\w]){name}(?![\w])", text), f"config key {schema.__name__}.{name} is not documented"


def test_every_template_is_listed_and_says_what_it_receives():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    theme = REPO / "kite/theme"
    for template in sorted(theme.glob("*.html")):
        if template.name in ("404.html",):
            continue
        assert template.name in readme, f"{template.name} missing from the README's template table"
        head = template.read_text(encoding="utf-8")[:600]
        if template.name != "main.html":
            assert "Receives" in head, f"{template.name} does not say what it receives"


def test_guides_exist_in_chinese():
    for name in ("editor-guide.md", "deployment.md"):
        text = (REPO / "docs" / name).read_text(encoding="utf-8")
        assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 1500, name
