"""Render page specs into HTML files with MkDocs and Material.

Pages are given to MkDocs as generated files; nothing is written into a docs folder,
and the navigation holds only the section lists, so no page carries the whole site.
"""

from __future__ import annotations

import io
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import material
from jinja2 import TemplateError
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from pymdownx.slugs import slugify

from ..errors import Problem, template_failure, template_place
from ..models import Hub
from ..pages import SECTIONS, PageSpec, TemplateData
from . import pipeline
from .plugin import KitePlugin

THEME_DIR = Path(__file__).resolve().parent.parent / "theme"

# The tabs in every page's header.  MkDocs needs these pages in every run that writes
# a page, even when it writes only one, to link the tabs.
NAV = [("首页", "index.md"), *((title, f"{section}/index.md") for section, title in SECTIONS.items()), ("搜索", "search/index.md")]
NAV_SOURCES = frozenset(path for _, path in NAV)


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


class RenderFailed(Exception):
    """A page could not be rendered; the message says where (a template's file and line)."""


@dataclass
class Job:
    """What one engine run does besides rendering its pages."""

    write: set[str] | None = None  # source paths of the pages to write; None: all
    static: bool = True  # copy the theme's files and write 404.html
    clean: bool = True  # empty the site folder first
    previous: str | None = None  # the published site: a page unchanged since is linked from there
    marked: str | None = None  # a folder where the written pages that mark something to index are listed
    on_page: Callable[[], None] = lambda: None


class _Warnings(logging.Handler):
    """MkDocs's own warnings during a run, passed on to the editor as they are."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _template_problem(error: TemplateError, root: Path) -> str:
    """``templates/lesson.html:1: No filter named 'x'.`` where Jinja knows the place."""
    filename, line = getattr(error, "filename", None), getattr(error, "lineno", None)
    if not filename:
        place = template_place(error, root / "site_config.yml")  # an undefined name: where it was used
        return f"{place[0]}:{place[1]}: {error}" if place else str(error)
    path = Path(filename)
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    return f"{shown}:{line}: {error.message}" if line else f"{shown}: {error.message}"


def theme_language(language: str) -> str:
    """The hub's language where Material has its words, else Chinese (Kite's own text is Chinese).

    Tags are matched as BCP 47 says, regardless of case (``ZH``, ``zh-tw``), and a region Material has no
    words for falls back to its language (``en-US`` is ``en``, not Chinese)."""
    languages = Path(material.__file__).parent / "templates/partials/languages"
    known = {path.stem.lower(): path.stem for path in languages.glob("*.html")}
    tag = language.strip().replace("_", "-").lower()
    return known.get(tag) or known.get(tag.split("-")[0]) or "zh"


def mkdocs_config(hub: Hub, plugin: KitePlugin, site_dir: Path, docs_dir: Path, static: bool) -> MkDocsConfig:
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
        nav=[{title: path} for title, path in NAV],
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
        # Links are checked by links.py, which says what is wrong in the editor's terms.
        validation={"nav": {"omitted_files": "ignore"},
                    "links": {"not_found": "ignore", "unrecognized_links": "ignore", "anchors": "ignore"}},
    )
    hub_templates = hub.root / "templates"
    if hub_templates.is_dir():
        # A hub's own templates override the built-in ones file by file.
        config.theme.dirs.insert(0, str(hub_templates))
    # Kite writes its own sitemap.xml (see feeds.sitemap) so that parallel jobs agree on it.
    config.theme.static_templates.intersection_update({"404.html"} if static else set())
    if static:
        # The page the service worker shows offline (kite/offline.py).
        config.theme.static_templates.add("offline.html")
    config.plugins["kite"] = plugin
    return config


def template_problems(hub: Hub, data: TemplateData) -> list[Problem]:
    """The hub's own templates compiled where pages are rendered, each one: an unknown filter or
    test is then found by ``check`` as by ``build`` (the loader sees only syntax).  A name a
    template uses is still known only when a page is rendered."""
    folder = hub.root / "templates"
    if not folder.is_dir():
        return []
    with tempfile.TemporaryDirectory(prefix="kite-docs-") as docs_dir:
        plugin = KitePlugin([], data, set(), lambda: None, static_files=False)
        (Path(docs_dir) / "docs").mkdir()
        config = mkdocs_config(hub, plugin, Path(docs_dir) / "site", Path(docs_dir) / "docs", False)
        environment = config.theme.get_env()
    environment.filters.update(data.filters)
    environment.tests.update(data.tests)
    found = []
    for path in sorted(folder.rglob("*.html")):
        if path.is_file() and not path.name.startswith("."):
            try:
                environment.get_template(path.relative_to(folder).as_posix())
            except TemplateError as error:
                failure = RenderFailed(_template_problem(error, hub.root))
                failure.__cause__ = error  # as a build says it: the place from the message, the words from Jinja
                found.append(template_failure(failure, hub.config_path))
    return [problem for problem in found if problem is not None]


def render(hub: Hub, specs: Sequence[PageSpec], site_dir: Path, data: TemplateData, job: Job | None = None) -> list[str]:
    """Render pages into ``site_dir``; return warnings for the editor.

    ``specs`` are all the site's pages; ``job.write`` may restrict which are written,
    for a partial or parallel run.
    """
    job = job or Job()
    given = list(specs) if job.write is None else [s for s in specs if s.path in job.write or s.path in NAV_SOURCES]
    # A link to another page's Markdown file (``../b1.md``) becomes that page's address only where
    # MkDocs knows the page: where a written page has such a link, the pages not written in this run
    # (the preview's unchanged ones, another worker's share) are known too, and never rendered.
    elsewhere = () if job.write is None or not any(".md" in spec.markdown for spec in given) else tuple(
        spec.path for spec in specs if spec.path not in job.write and spec.path not in NAV_SOURCES)
    plugin = KitePlugin(given, data, job.write, job.on_page, static_files=job.static, elsewhere=elsewhere)
    caught = _Warnings()
    logger = logging.getLogger("mkdocs")
    before = (logger.level, logger.propagate)
    logger.addHandler(caught)
    logger.setLevel(logging.WARNING)
    logger.propagate = False  # MkDocs's messages are the build's to report, not the terminal's
    try:
        with tempfile.TemporaryDirectory(prefix="kite-docs-") as docs_dir:
            pipeline.build(mkdocs_config(hub, plugin, site_dir, Path(docs_dir), job.static), clean=job.clean,
                           writes=plugin.writes, theme_files=job.static, previous=job.previous,
                           marked=job.marked)
    except TemplateError as error:
        raise RenderFailed(_template_problem(error, hub.root)) from error
    except Exception as error:
        # A hub template failing at run time (1 / 0, a macro calling itself) is the editor's to fix:
        # said with its place, also from a worker process, instead of a traceback.
        place = template_place(error, hub.config_path)
        if place is None:
            raise
        raise RenderFailed(f"{place[0]}:{place[1]}: {type(error).__name__}: {error}") from error
    finally:
        logger.removeHandler(caught)
        logger.setLevel(before[0])
        logger.propagate = before[1]
    return plugin.warnings + caught.messages
