"""Documentation keeps up with the code: a command, field, key or template left undocumented fails.

Each check is a function from the documents' text to what is missing, tested once on the
real documents and once on a copy with something taken out, so that none passes on nothing.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from helpers import REPO
from kite import cli
from kite.config import Attendance, BranchGroup, Podcast, SiteConfig
from kite.models import AnnouncementFront, EpisodeFront, LessonFront

README = REPO / "README.md"
DOCS = [README, *sorted((REPO / "docs").glob("*.md"))]
KINDS = {"党课": LessonFront, "乡音e课堂": EpisodeFront, "活动通知": AnnouncementFront}
CONFIG_SCHEMAS = [SiteConfig, Attendance, Podcast, BranchGroup]
THEME = REPO / "kite/theme"
ENDPOINT_TEMPLATES = REPO / "kite/attendance/templates"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def documentation() -> str:
    return "\n".join(read(path) for path in DOCS)


def commands() -> list[str]:
    parser = cli.make_parser()
    (subcommands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(subcommands.choices)


def undocumented_commands(readme: str) -> set[str]:
    return {name for name in commands() if f"build.py {name}" not in readme}


def content_table_fields(readme: str, kind: str) -> set[str]:
    """The fields the README's content table lists for ``kind`` (required and optional)."""
    row = re.search(rf"^\| {re.escape(kind)} \|(.*)$", readme, re.M)
    if row is None:
        return set()
    required, optional = row[1].split("|")[1:3]
    text = re.sub(r"（[^）]*）", "", required + "," + optional)  # drop notes such as （列表）
    return {name.strip() for name in text.split(",") if name.strip()}


def undocumented_fields(readme: str) -> dict[str, set[str]]:
    """Per kind: front-matter fields missing from the table, and names listed that are no field."""
    found = {}
    for kind, schema in KINDS.items():
        listed = content_table_fields(readme, kind)
        wrong = (set(schema.model_fields) ^ listed)
        if wrong:
            found[kind] = wrong
    return found


def undocumented_keys(text: str) -> set[str]:
    # Written as code (`key`), so that an ordinary word in a sentence does not count.
    return {f"{schema.__name__}.{name}" for schema in CONFIG_SCHEMAS for name in schema.model_fields
            if f"`{name}`" not in text}


def templates_without_notes(readme: str) -> list[str]:
    """Templates missing from the README, or whose first comment does not say what they receive."""
    found = []
    for template in sorted(THEME.glob("*.html")) + sorted(ENDPOINT_TEMPLATES.glob("*.html")):
        if template.name == "404.html":
            continue
        if template.name not in readme:
            found.append(f"{template.name} is not in the README")
        if template.name != "main.html" and "Receives" not in read(template)[:800]:
            found.append(f"{template.name} does not say what it receives")
    return found


def test_every_command_is_documented_in_the_readme():
    assert {"build", "serve", "attend", "backup"} <= set(commands())
    assert undocumented_commands(read(README)) == set()
    assert undocumented_commands(read(README).replace("build.py serve", "build.py preview")) == {"serve"}


def test_every_environment_variable_the_endpoint_reads_is_in_the_readme():
    readme = read(README)
    for variable in ("KITE_DB", "ATTENDANCE_EXPORT_TOKEN", "KITE_SECRET_KEY"):
        assert f"`{variable}`" in readme, f"README does not mention {variable}"


def test_the_content_table_lists_every_front_matter_field():
    readme = read(README)
    assert undocumented_fields(readme) == {}
    without_speaker = readme.replace("| slug, speaker, series,", "| slug, series,")
    assert undocumented_fields(without_speaker) == {"党课": {"speaker"}}
    with_a_stranger = readme.replace("| slug, ends,", "| slug, finishes, ends,")
    assert undocumented_fields(with_a_stranger) == {"活动通知": {"finishes"}}


@pytest.mark.parametrize("kind", KINDS)
def test_the_editor_guide_has_a_row_for_every_field(kind):
    guide = read(REPO / "docs/editor-guide.md")
    for name in KINDS[kind].model_fields:
        assert f"| `{name}` |" in guide, f"{kind}: `{name}` has no row in the editor guide"


def test_every_config_key_is_documented():
    text = documentation()
    assert undocumented_keys(text) == set()
    assert undocumented_keys(text.replace("`opens_before`", "opens_before")) == {"Attendance.opens_before"}


def test_every_template_is_listed_and_says_what_it_receives():
    readme = read(README)
    assert templates_without_notes(readme) == []
    assert templates_without_notes(readme.replace("checkin_done.html", "")) == ["checkin_done.html is not in the README"]


def test_guides_exist_in_chinese():
    for name in ("editor-guide.md", "deployment.md"):
        text = (REPO / "docs" / name).read_text(encoding="utf-8")
        assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 1500, name


def architecture(readme: str) -> str:
    return readme.split("## 代码结构", 1)[1].split("\n## ", 1)[0] if "## 代码结构" in readme else ""


def architecture_gaps(readme: str) -> list[str]:
    """Modules the README's architecture section names that do not exist, and modules of
    kite/ and kite/engine/ it does not name."""
    section = architecture(readme)
    named = set(re.findall(r"`([\w/]+\.py)`", section))
    existing = {path.name for path in (REPO / "kite").rglob("*.py")}
    # A bare name is a module somewhere under kite/; a path is relative to the repository.
    gaps = [f"{name} does not exist" for name in sorted(named)
            if not ((REPO / name).is_file() if "/" in name else name in existing)]
    for folder in (REPO / "kite", REPO / "kite/engine"):
        gaps += [f"{path.relative_to(REPO)} is not named" for path in sorted(folder.glob("*.py"))
                 if path.name != "__init__.py" and path.name not in named]
    return gaps


def test_the_architecture_section_names_every_module_and_only_real_ones():
    readme = read(README)
    assert architecture_gaps(readme) == []
    assert architecture_gaps(readme.replace("`ics.py`", "`calendar.py`")) == ["calendar.py does not exist", "kite/ics.py is not named"]
