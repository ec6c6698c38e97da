"""The MkDocs + Material engine: renders page specs into HTML files.

Everything MkDocs-specific lives here, so the engine can change (Material 9 reaches
end of life in 2027; its successors read the same configuration).  Pages are given
to MkDocs as generated files; nothing is written into a docs folder, and the
navigation holds only the section lists, so no page carries the whole site.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Callable, Iterable

import material
from jinja2 import FileSystemBytecodeCache
from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files
from pymdownx.slugs import slugify

from . import formatting
from .loader import Hub
from .media import point_media_links
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
        "kite.markup",
    ]


# MkDocs's warnings about a page's links, said again in the editor's terms.
_LINK_WARNINGS = [
    (re.compile(r"Doc file '(?P<page>[^']+)' contains a link '(?P<link>[^']+)', but the target.* is not found"),
     "链接 {link} 指向的页面或文件不存在"),
    (re.compile(r"Doc file '(?P<page>[^']+)' contains an absolute link '(?P<link>[^']+)'"),
     "链接 {link} 以 / 开头，网站放在子路径下时会失效，请改用相对地址"),
    (re.compile(r"Doc file '(?P<page>[^']+)' contains a link '(?P<link>[^']+)', but the doc '[^']+' does not contain an anchor"),
     "链接 {link} 指向的小标题不存在"),
]


class Warnings(logging.Handler):
    """Collects MkDocs's warnings so the build can report them to the editor."""

    def __init__(self, sources: dict[str, str]) -> None:
        super().__init__(logging.WARNING)
        self.sources = sources  # engine path -> the editor's file
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "'dirty' build" in message:  # a partial run is Kite's choice, not the editor's problem
            return
        for pattern, text in _LINK_WARNINGS:
            if found := pattern.search(message):
                page = self.sources.get(found["page"], found["page"])
                message = f"{page}: {text.format(link=found['link'])}"
                break
        self.messages.append(message)


class _PlacedElsewhere(File):
    """A file MkDocs may link to but does not copy."""

    def copy_file(self, dirty: bool = False) -> None:
        pass


class KitePlugin(BasePlugin):
    """Feeds Kite's pages and shared template data into a MkDocs build."""

    def __init__(self, specs: Iterable[PageSpec], globals_: dict[str, Any], job: "Job"):
        super().__init__()
        self.specs = {spec.path: spec for spec in specs}
        self.globals = globals_
        self.job = job

    def _writes(self, page) -> bool:
        return self.job.write is None or page.file.src_uri in self.job.write

    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        self.assets = fingerprint_assets(files, config)
        for file in list(files):
            if (not self.job.static or file.src_uri.startswith(_DROPPED_THEME_FILES)
                    or file.src_uri.endswith(".map")):
                files.remove(file)
        for path in self.specs:
            files.append(File.generated(config, path, content=""))
        # Media are linked into place by the build; MkDocs only needs to know they exist,
        # so that links to them are resolved relative to each page.
        for name in self.globals.get("media_names", ()):
            files.append(_PlacedElsewhere.generated(config, f"media/{name}", content=b""))
        return files

    def on_env(self, env, *, config: MkDocsConfig, files: Files):
        env.filters.update(formatting.FILTERS)
        env.tests.update(formatting.TESTS)
        env.globals.update(self.globals)
        assets = self.assets
        env.globals["asset"] = lambda name: assets.get(name, name)
        # Compiled templates are kept between runs and processes (keyed by their source).
        env.bytecode_cache = FileSystemBytecodeCache(_bytecode_folder())
        return env

    def on_page_markdown(self, markdown: str, *, page, config: MkDocsConfig, files: Files) -> str:
        spec = self.specs[page.file.src_uri]
        # Material prints page.meta.title as HTML; the title is text, so it is escaped here once.
        page.meta = {"template": spec.template, "title": escape(spec.title)}
        # A page this job only needs for the navigation is not converted.
        if not self._writes(page):
            return ""
        # Bodies refer to content/media/ as editors see it; the site has it at media/.
        depth = spec.path.count("/")  # 'lessons/slug.md' is served as lessons/slug/, one level deeper
        return point_media_links(spec.markdown, "../" * depth + "media/", "../" * (depth + 1) + "media/")

    def on_post_page(self, output: str, *, page, config: MkDocsConfig) -> str:
        if not self._writes(page):
            return ""  # MkDocs writes nothing for empty output
        self.job.on_page()
        return output

    def on_page_context(self, context: dict[str, Any], *, page, config: MkDocsConfig, nav) -> dict[str, Any]:
        spec = self.specs[page.file.src_uri]
        context.update(spec.context)
        context["spec"] = spec
        return context


# Kite's own assets get their content's hash in their names, so servers can let phones
# cache them for a year: a changed file is a new URL.
FINGERPRINTED = ("assets/kite.css", "assets/search.js", "assets/checkin.js", "assets/offline.js", "assets/kite.svg")


def fingerprint_assets(files: Files, config: MkDocsConfig) -> dict[str, str]:
    names: dict[str, str] = {}
    for name in FINGERPRINTED:
        original = files.get_file_from_path(name)
        if original is None or original.abs_src_path is None:
            continue
        digest = hashlib.sha256(Path(original.abs_src_path).read_bytes()).hexdigest()[:10]
        stem, suffix = name.rsplit(".", 1)
        names[name] = f"{stem}.{digest}.{suffix}"
        files.remove(original)
        files.append(File.generated(config, names[name], abs_src_path=original.abs_src_path))
    config.theme["favicon"] = config.theme["logo"] = names.get("assets/kite.svg", "assets/kite.svg")
    config["extra_css"] = [names.get("assets/kite.css", "assets/kite.css")]
    return names


def theme_language(language: str) -> str:
    """The hub's language where Material has its words, else Chinese (Kite's own text is Chinese)."""
    languages = Path(material.__file__).parent / "templates/partials/languages"
    return language if (languages / f"{language}.html").is_file() else "zh"


def _bytecode_folder() -> str:
    folder = Path(tempfile.gettempdir()) / f"kite-jinja-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return str(folder)


@dataclass
class Job:
    """What one engine run does besides rendering its pages."""

    write: set[str] | None = None  # source paths to write; None: all given
    static: bool = True  # copy the theme's files and write 404.html
    clean: bool = True  # empty the site folder first
    on_page: Callable[[], None] = lambda: None


NAV = [("首页", "index.md"), *((title, f"{section}/index.md") for section, title in SECTIONS.items()), ("搜索", "search/index.md")]
NAV_SOURCES = frozenset(path for _, path in NAV)


def mkdocs_config(hub: Hub, specs: list[PageSpec], site_dir: Path, docs_dir: Path, globals_: dict[str, Any],
                  job: Job) -> MkDocsConfig:
    nav = [{title: path} for title, path in NAV]
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
            "language": theme_language(hub.config.language),
            "font": False,
            "favicon": "assets/kite.svg",
            "logo": "assets/kite.svg",
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
    # Kite writes its own sitemap.xml (see feeds.sitemap) so that parallel jobs agree on it.
    # offline.html is the page the service worker shows offline (kite/offline.py).
    config.theme.static_templates.intersection_update({"404.html"} if job.static else set())
    if job.static:
        config.theme.static_templates.add("offline.html")
    config.plugins["kite"] = KitePlugin(specs, globals_, job)
    return config


def render(hub: Hub, specs: list[PageSpec], site_dir: Path, globals_: dict[str, Any], job: Job | None = None) -> list[str]:
    """Render pages into ``site_dir``; return MkDocs's warnings.

    ``specs`` must include the navigation's pages (``NAV_SOURCES``); ``job.write`` may
    restrict which pages are written, for a partial or parallel run.
    """
    job = job or Job()
    warnings = Warnings({spec.path: spec.context["item"].source for spec in specs if "item" in spec.context})
    logger = logging.getLogger("mkdocs")
    logger.addHandler(warnings)
    previous_level = logger.level
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        with tempfile.TemporaryDirectory(prefix="kite-docs-") as docs_dir:
            config = mkdocs_config(hub, specs, site_dir, Path(docs_dir), globals_, job)
            mkdocs_build(config, dirty=not job.clean)
    finally:
        logger.removeHandler(warnings)
        logger.setLevel(previous_level)
    return warnings.messages
