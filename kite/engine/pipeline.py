"""MkDocs's build, one page at a time.

``mkdocs build`` converts the Markdown of every page first and only then renders the
templates, so a run holds the HTML of the whole site in memory at once, and it makes a
new Markdown converter (every extension built and registered again) for each page,
which costs about as much as converting a lesson.  This module runs the same steps, with
the same plugin events, but takes each page from Markdown to a written file before the
next one, with one converter for the run; the output is the same.

It uses two private names of MkDocs and one of Python-Markdown, here and nowhere else;
``check_private_names`` says loudly when an upgrade removed one (tests/test_engine.py runs it).
"""

from __future__ import annotations

import os
import re
from typing import Callable, Iterable

import markdown
from markdown import inlinepatterns
from markdown.treeprocessors import InlineProcessor
from markdown.util import AtomicString
from mkdocs import utils
from mkdocs.commands import build as mkdocs_build
from mkdocs.commands.build import get_context
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure import pages as mkdocs_pages
from mkdocs.structure.files import Files, get_files, set_exclusions
from mkdocs.structure.nav import get_navigation
from mkdocs.structure.pages import Page
from mkdocs.structure.toc import get_toc

from .. import reuse, search
from .mandatory import mandatory_characters

# What this module borrows from MkDocs's and Python-Markdown's internals: (owner, name).
PRIVATE_NAMES = (
    (mkdocs_build, "_build_theme_template"),  # (name, env, files, config, nav): writes 404.html and the like
    (mkdocs_pages, "_RelativePathTreeprocessor"),  # (file, files, config), ._register(md): rewrites links per page
    (InlineProcessor, "_InlineProcessor__handleInline"),  # (self, text, pattern index) -> text with placeholders
)


class MkDocsInternalsChanged(RuntimeError):
    """This MkDocs no longer has what the engine relies on."""


def check_private_names() -> None:
    missing = [f"{owner.__name__}.{name}" for owner, name in PRIVATE_NAMES if not hasattr(owner, name)]
    if missing:
        raise MkDocsInternalsChanged(f"这个版本的 MkDocs 改了内部接口（缺少 {', '.join(missing)}）；"
                                     "请安装 pyproject.toml 里固定的版本，或更新 kite/engine/pipeline.py")


class QuickInline(InlineProcessor):
    """Python-Markdown's inline processor, which first asks whether any inline pattern can match.

    It tries each of the 18 patterns on each piece of text through a few Python calls: most of
    the conversion of a Chinese lesson, whose paragraphs hold no `*`, `[`, `<` or address at all.
    When no pattern's expression finds anything in the text, the processor would return the text
    unchanged; this finds that out with the expressions alone, and otherwise hands the text on.
    First, one search for the characters some pattern cannot match without (``mandatory``)
    answers for all those patterns at once: a piece without any of them goes on to none of them.
    """

    def __init__(self, md: markdown.Markdown):
        super().__init__(md)
        self._tests: list | None = None
        self._needed: Callable[[str], object] | None = None  # finds a character some pattern needs
        self._unknown: list = []  # the tests of patterns that need no particular character

    def _prepare(self) -> None:
        # Once the extensions have registered their patterns: what __applyPattern runs.
        self._tests, needed = [], set()
        for pattern in self.inlinePatterns:
            compiled = pattern.getCompiledRegExp()
            test = compiled.search if isinstance(pattern, inlinepatterns.InlineProcessor) else compiled.match
            self._tests.append(test)
            characters = mandatory_characters(compiled)
            if characters is None:
                self._unknown.append(test)
            else:
                needed |= characters
        if needed:
            self._needed = re.compile("[" + "".join(re.escape(c) for c in sorted(needed)) + "]").search

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if patternIndex == 0 and not isinstance(data, AtomicString):
            if self._tests is None:
                self._prepare()
            tests = self._tests if self._needed is None or self._needed(data) else self._unknown
            if not any(test(data) for test in tests):
                return data
        return InlineProcessor._InlineProcessor__handleInline(self, data, patternIndex)


class Converter:
    """One Markdown converter for every page of a run, reset between pages.

    Does what ``Page.render`` does, less MkDocs's collection of anchor ids, which only
    serves its anchor validation (turned off: links.py checks links) and parses every
    page's HTML once more.
    """

    def __init__(self, config: MkDocsConfig, files: Files):
        self.config = config
        self.files = files
        self.md = markdown.Markdown(extensions=config["markdown_extensions"], extension_configs=config["mdx_configs"] or {})
        self.md.treeprocessors.register(QuickInline(self.md), "inline", 20)  # 20: where Python-Markdown puts its own

    def render(self, page: Page) -> None:
        md = self.md
        md.reset()
        # Registered under the same name each time, so each page's replaces the last one's.
        mkdocs_pages._RelativePathTreeprocessor(page.file, self.files, self.config)._register(md)
        page.content = md.convert(page.markdown)
        page.toc = get_toc(getattr(md, "toc_tokens", []))


def build(config: MkDocsConfig, *, clean: bool, writes: Callable[[Page], bool], theme_files: bool = True,
          previous: str | None = None, marked: str | None = None) -> None:
    """Run MkDocs's build steps and plugin events; render and write the pages ``writes`` accepts.

    ``theme_files``: list the theme's static files, for a run that copies them.  (The listing
    walks every file of Material's theme: a fifth of a second of each save in the preview.)
    ``previous``: the published site, whose unchanged pages are linked rather than written (``kite.reuse``).
    ``marked``: a folder where the written pages that mark something to index are listed, found in
    the bytes at hand (the search index would otherwise read every page back to find them).
    """
    check_private_names()
    config = config.plugins.on_config(config)
    config.plugins.on_pre_build(config=config)
    if clean:
        utils.clean_directory(config.site_dir)
    files = get_files(config)
    env = config.theme.get_env()
    if theme_files:
        files.add_files_from_theme(env, config)
    files = config.plugins.on_files(files, config=config)
    set_exclusions(files, config)
    nav = get_navigation(files, config)
    nav = config.plugins.on_nav(nav, config=config, files=files)
    env = config.plugins.on_env(env, config=config, files=files)
    files.copy_static_files(dirty=not clean)
    found: list[str] | None = [] if marked is not None else None  # the pages to index, for ``marked``
    for template in config.theme.static_templates:
        mkdocs_build._build_theme_template(template, env, files, config, nav)
        written = os.path.join(config.site_dir, template)
        if found is not None and os.path.isfile(written):  # a hub's own 404.html may mark itself too
            with open(written, "rb") as page:
                if search.marks_search(page.read()):
                    found.append(template)

    converter = Converter(config, files)
    doc_files = files.documentation_pages()
    for file in doc_files:
        page = file.page if file.page is not None else Page(None, file, config)
        if not writes(page):
            continue
        config._current_page = page
        try:
            _convert(page, config, files, converter)
            _write(page, config, doc_files, nav, env, previous, found)
        finally:
            config._current_page = None
            page.active = False
            # What the next pages need of this one is its title and URL; its HTML can go.
            page.content, page.markdown, page.toc = None, "", get_toc([])
    if found is not None:
        search.record_marked(found, marked)
    config.plugins.on_post_build(config=config)


def _convert(page: Page, config: MkDocsConfig, files: Files, converter: Converter) -> None:
    page = config.plugins.on_pre_page(page, config=config, files=files)
    page.read_source(config)
    page.markdown = config.plugins.on_page_markdown(page.markdown, page=page, config=config, files=files)
    converter.render(page)
    page.content = config.plugins.on_page_content(page.content, page=page, config=config, files=files)


def _write(page: Page, config: MkDocsConfig, doc_files: Iterable, nav, env, previous: str | None,
           found: list[str] | None) -> None:
    page.active = True
    context = get_context(nav, doc_files, config, page)
    template = env.get_template(page.meta.get("template", "main.html"))
    context = config.plugins.on_page_context(context, page=page, config=config, nav=nav)
    output = template.render(context)
    output = config.plugins.on_post_page(output, page=page, config=config)
    if output.strip():
        target = page.file.abs_dest_path
        data = output.encode("utf-8", errors="xmlcharrefreplace")
        reuse.write(data, target, reuse.counterpart(target, config.site_dir, previous))
        if found is not None and search.marks_search(data):
            found.append(page.file.dest_path.replace(os.sep, "/"))
