"""The MkDocs + Material engine: renders page specs into HTML files.

Everything MkDocs-specific lives here, so the engine can change (Material 9 reaches
end of life in 2027; its successors read the same configuration).  Pages are given
to MkDocs as generated files; nothing is written into a docs folder, and the
navigation holds only the section lists, so no page carries the whole site.
"""

from __future__ import annotations

import io
import logging
import tempfile
from html import escape
from pathlib import Path
from typing import Any, Iterable

from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files
from pymdownx.slugs import slugify

from . import formatting
from .loader import Hub
from .pages import SECTIONS, PageSpec

THEME_DIR = Path(__file__).parent / "theme"

# Material's JavaScript is left out: it lazy-loads polyfills and mermaid from unpkg.com,
# which members' networks cannot reach.  Pages work with CSS alone; Kite adds small
# scripts of its own where a page needs one.
_DROPPED_THEME_FILES = ("assets/javascripts/", "assets/images/favicon.png")

def markdown_extensions() -> list[Any]:
    # A fresh list each build: MkDocs consumes the dictionaries it is given.
    return [
        {"toc": {"slugify": slugify(case="lower"), "toc_depth": 3}},
        "tables",
        "admonition",
        "attr_list",
        "md_in_html",
        "footnotes",
        "def_list",
        "sane_lists",
        "pymdownx.superfences",
        "pymdownx.tilde",
        "pymdownx.mark",
        # Editors paste bare addresses; members should be able to tap them.
        {"pymdownx.magiclink": {"hide_protocol": False}},
    ]


class Warnings(logging.Handler):
    """Collects MkDocs's warnings so the build can report them to the editor."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class KitePlugin(BasePlugin):
    """Feeds Kite's pages and shared template data into a MkDocs build."""

    def __init__(self, hub: Hub, specs: Iterable[PageSpec], globals_: dict[str, Any]):
        super().__init__()
        self.hub = hub
        self.specs = {spec.path: spec for spec in specs}
        self.globals = globals_

    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        for file in list(files):
            if file.src_uri.startswith(_DROPPED_THEME_FILES) or file.src_uri.endswith(".map"):
                files.remove(file)
        for path in self.specs:
            files.append(File.generated(config, path, content=""))
        return files

    def on_env(self, env, *, config: MkDocsConfig, files: Files):
        env.filters.update(formatting.FILTERS)
        env.tests.update(formatting.TESTS)
        env.globals.update(self.globals)
        return env

    def on_page_markdown(self, markdown: str, *, page, config: MkDocsConfig, files: Files) -> str:
        spec = self.specs[page.file.src_uri]
        # Material prints page.meta.title as HTML; the title is text, so it is escaped here once.
        page.meta = {"template": spec.template, "title": escape(spec.title)}
        return spec.markdown

    def on_page_context(self, context: dict[str, Any], *, page, config: MkDocsConfig, nav) -> dict[str, Any]:
        spec = self.specs[page.file.src_uri]
        context.update(spec.context)
        context["spec"] = spec
        return context


def mkdocs_config(hub: Hub, specs: list[PageSpec], site_dir: Path, docs_dir: Path, globals_: dict[str, Any]) -> MkDocsConfig:
    nav = [{"首页": "index.md"}] + [{title: f"{section}/index.md"} for section, title in SECTIONS.items()]
    nav.append({"搜索": "search/index.md"})
    config = load_config(
        config_file=io.StringIO(""),
        config_file_path=str(hub.config_path),
        site_name=hub.config.site_name,
        site_url=hub.config.site_url,
        site_description=hub.config.site_description,
        copyright=hub.config.copyright,
        docs_dir=str(docs_dir),
        site_dir=str(site_dir),
        use_directory_urls=True,
        nav=nav,
        theme={
            "name": "material",
            "custom_dir": str(THEME_DIR),
            "language": "zh",
            "font": False,
            "favicon": "assets/kite.svg",
            "logo": "assets/kite.svg",
            "palette": {"scheme": "default", "primary": "red", "accent": "red"},
        },
        markdown_extensions=markdown_extensions(),
        extra_css=["assets/kite.css"],
        plugins=[],
        extra={"generator": False},
        validation={"nav": {"omitted_files": "ignore"}, "links": {"unrecognized_links": "ignore", "anchors": "ignore"}},
    )
    hub_templates = hub.root / "templates"
    if hub_templates.is_dir():
        # A hub's own templates override the built-in ones file by file.
        config.theme.dirs.insert(0, str(hub_templates))
    config.plugins["kite"] = KitePlugin(hub, specs, globals_)
    return config


def render(hub: Hub, specs: list[PageSpec], site_dir: Path, globals_: dict[str, Any]) -> list[str]:
    """Render every page into ``site_dir``; return MkDocs's warnings."""
    warnings = Warnings()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(warnings)
    previous_level = logger.level
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        with tempfile.TemporaryDirectory(prefix="kite-docs-") as docs_dir:
            config = mkdocs_config(hub, specs, site_dir, Path(docs_dir), globals_)
            mkdocs_build(config)
    finally:
        logger.removeHandler(warnings)
        logger.setLevel(previous_level)
    return warnings.messages
