"""The MkDocs plugin that feeds Kite's pages and shared template data into a build."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from html import escape
from pathlib import Path
from typing import Any, Callable, Iterable

from jinja2 import FileSystemBytecodeCache
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files, InclusionLevel

from ..errors import Problem
from ..media import point_media_links
from ..pages import PageSpec, TemplateData
from .links import LineFinder, LinkCollector, broken_links

# Material's JavaScript is left out: it lazy-loads polyfills and mermaid from unpkg.com,
# which members' networks cannot reach.  Pages work with CSS alone; Kite adds small
# scripts of its own where a page needs one.
_DROPPED_THEME_FILES = ("assets/javascripts/", "assets/images/favicon.png")
# The site names no other host, not even in a comment (CONTRACT.md section 3): the Font Awesome icon
# in Material's stylesheet carries its licence with two such addresses, kept as plain text.
_STYLESHEET_ADDRESSES = ("https://fontawesome.com", "fontawesome.com")

# Kite's own assets get their content's hash in their names, so servers can let phones
# cache them for a year: a changed file is a new URL.
FINGERPRINTED = ("assets/kite.css", "assets/search.js", "assets/checkin.js", "assets/offline.js", "assets/kite.svg",
                "assets/submit.js")


class _PlacedElsewhere(File):
    """A file MkDocs may link to but does not copy (media are linked into place by the publisher)."""

    def copy_file(self, dirty: bool = False) -> None:
        pass


# Material's base.html puts its drawer and search toggles on every page, outside any block a
# template can override; without Material's JavaScript they do nothing, and `autocomplete` on a
# checkbox is invalid HTML.
_UNUSED_TOGGLES = re.compile(r'<input class="md-toggle" data-md-toggle="(?:drawer|search)"[^>]*>'
                             r'|<label class="md-overlay" for="__drawer"></label>')


def drop_unused_toggles(html: str) -> str:
    """The toggles and the whitespace before each.  (A pattern that starts with ``\\s*`` is tried
    at every space of the page: a millisecond a page, more than the rest of the plugin.)"""
    parts, end = [], 0
    for found in _UNUSED_TOGGLES.finditer(html):
        parts.append(html[end:found.start()].rstrip())
        end = found.end()
    parts.append(html[end:])
    return "".join(parts)


class KitePlugin(BasePlugin):
    def __init__(self, specs: Iterable[PageSpec], data: TemplateData, write: set[str] | None,
                 on_page: Callable[[], None], *, static_files: bool, elsewhere: Iterable[str] = ()):
        super().__init__()
        self.specs = {spec.path: spec for spec in specs}
        self.elsewhere = elsewhere  # pages this run neither renders nor writes, known for links to them
        self.data = data
        self.write = write
        self.page_written = on_page  # (not on_*: MkDocs would take it for an event)
        self.static_files = static_files
        self.links = LinkCollector()
        self.markdown = ""  # the page being converted, as MkDocs was given it
        self.warnings: list[str] = []

    def writes(self, page) -> bool:
        """Whether this run writes ``page``; the others are there for the navigation only."""
        return self.write is None or page.file.src_uri in self.write

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        config.markdown_extensions.append(self.links)
        return config

    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        self.assets = fingerprint_assets(files, config)
        for file in list(files):
            if not self.static_files or file.src_uri.startswith(_DROPPED_THEME_FILES) or file.src_uri.endswith(".map"):
                files.remove(file)
            elif file.src_uri.startswith("assets/stylesheets/") and file.src_uri.endswith(".css"):
                text = Path(file.abs_src_path).read_text(encoding="utf-8")
                if _STYLESHEET_ADDRESSES[0] in text:
                    files.remove(file)
                    files.append(File.generated(config, file.src_uri, content=text.replace(*_STYLESHEET_ADDRESSES)))
        for path in self.specs:
            files.append(File.generated(config, path, content=""))
        for path in self.elsewhere:
            # Excluded: links to it resolve, but MkDocs makes no page of it.
            files.append(File.generated(config, path, content="", inclusion=InclusionLevel.EXCLUDED))
        # MkDocs only needs to know media exist, so that links to them resolve relative to each page.
        for name in self.data.media:
            files.append(_PlacedElsewhere.generated(config, f"media/{name}", content=b""))
        return files

    def on_env(self, env, *, config: MkDocsConfig, files: Files):
        env.filters.update(self.data.filters)
        env.tests.update(self.data.tests)
        env.globals.update(self.data.globals)
        assets = self.assets
        env.globals["asset"] = lambda name: assets.get(name, name)
        env.bytecode_cache = FileSystemBytecodeCache(bytecode_folder())
        return env

    def on_page_markdown(self, markdown: str, *, page, config: MkDocsConfig, files: Files) -> str:
        spec = self.specs[page.file.src_uri]
        # Material prints page.meta.title as HTML; the title is text, so it is escaped here once.
        page.meta = {"template": spec.template, "title": escape(spec.title)}
        self.links.start()
        # Bodies refer to content/media/ as editors see it; the site has it at media/.
        depth = spec.path.count("/")  # 'lessons/slug.md' is served as lessons/slug/, one level deeper
        self.markdown = point_media_links(spec.markdown, "../" * depth + "media/", "../" * (depth + 1) + "media/")
        return self.markdown

    def on_page_content(self, html: str, *, page, config: MkDocsConfig, files: Files) -> str:
        spec = self.specs[page.file.src_uri]
        broken = list(broken_links(self.links.found, page.file.src_uri, files))
        if broken:
            # Said as every other problem is, at the link's line in the editor's file (the body
            # starts below the front matter).
            item = spec.context.get("item")
            lines = LineFinder(self.markdown, getattr(item, "body_line", 1))
            shown = spec.source or spec.path
            self.warnings += [str(Problem(shown, lines.line_of(url), "body", message)) for url, message in broken]
        return html

    def on_page_context(self, context: dict[str, Any], *, page, config: MkDocsConfig, nav) -> dict[str, Any]:
        spec = self.specs[page.file.src_uri]
        context.update(spec.context)
        context["spec"] = spec
        return context

    def on_post_page(self, output: str, *, page, config: MkDocsConfig) -> str:
        self.page_written()
        return drop_unused_toggles(output)

    def on_post_template(self, output: str, *, template_name: str, config: MkDocsConfig) -> str:
        return drop_unused_toggles(output)  # 404.html


def bytecode_folder() -> str:
    """Compiled templates are kept here between runs and processes (keyed by their source)."""
    folder = Path(tempfile.gettempdir()) / f"kite-jinja-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return str(folder)


def theme_file(config: MkDocsConfig, name: str) -> str | None:
    for folder in config.theme.dirs:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def fingerprint_assets(files: Files, config: MkDocsConfig) -> dict[str, str]:
    names: dict[str, str] = {}
    for name in FINGERPRINTED:
        original = files.get_file_from_path(name)
        # A run that copies no theme files has not listed them (engine/pipeline.py): the first
        # theme folder that holds the file is where MkDocs would have found it.
        source = original.abs_src_path if original is not None else theme_file(config, name)
        if source is None:
            continue
        digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()[:10]
        stem, suffix = name.rsplit(".", 1)
        names[name] = f"{stem}.{digest}.{suffix}"
        if original is not None:
            files.remove(original)
        files.append(File.generated(config, names[name], abs_src_path=source))
    config.theme["favicon"] = config.theme["logo"] = names.get("assets/kite.svg", "assets/kite.svg")
    config["extra_css"] = [names.get("assets/kite.css", "assets/kite.css")]
    return names
