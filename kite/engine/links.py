"""Links in a page's body that lead nowhere, said in the editor's terms.

MkDocs only logs such problems as English sentences; Kite reads the links itself,
before MkDocs rewrites them, and resolves each the way MkDocs does (relative to the
source file), asking MkDocs's file list whether the target exists.
"""

from __future__ import annotations

import posixpath
from typing import Iterator
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from mkdocs.structure.files import Files

AMP_SUBSTITUTE = "\x02amp\x03"  # Python-Markdown's stand-in for '&' in obfuscated e-mail links


class LinkCollector(Extension):
    """A Markdown extension that records the links of the page being converted."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def start(self) -> None:
        self.found = []

    def extendMarkdown(self, md: Markdown) -> None:
        # After inline patterns made the links (20), before MkDocs rewrites them (0).
        md.treeprocessors.register(_Record(md, self), "kite_links", 1)


class _Record(Treeprocessor):
    def __init__(self, md: Markdown, collector: LinkCollector):
        super().__init__(md)
        self.collector = collector

    def run(self, root: Element) -> None:
        for element in root.iter():
            url = element.get("href") if element.tag == "a" else element.get("src") if element.tag == "img" else None
            if url:
                self.collector.found.append(url)


def broken_links(urls: list[str], source: str, files: Files) -> Iterator[tuple[str, str]]:
    """Each link in ``urls`` of the page ``source`` (its path in ``files``) that leads nowhere,
    with what is wrong with it."""
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or url.startswith(("/", "\\")) or AMP_SUBSTITUTE in url or not parts.path:
            continue  # another site, the site's root, an e-mail address or an anchor on this page
        path = unquote(parts.path)
        target = posixpath.normpath(posixpath.join(posixpath.dirname(source), path)).lstrip("/")
        # A link without a file extension (../other-lesson/) may name a folder; MkDocs leaves those alone.
        if posixpath.splitext(path)[1] and files.get_file_from_path(target) is None:
            yield url, f"链接 {url} 指向的页面或文件不存在"


class LineFinder:
    """The line of each link in the file an editor wrote, found by looking for the link's text
    in order (the same link twice is found twice); the body's first line where it cannot be
    found (a link Markdown wrote differently, such as one with an escaped character)."""

    def __init__(self, markdown: str, first_line: int):
        self.markdown = markdown
        self.first_line = first_line
        self.searched_from: dict[str, int] = {}

    def line_of(self, url: str) -> int:
        start = self.searched_from.get(url, 0)
        found = self.markdown.find(url, start)
        if found < 0:
            found = self.markdown.find(url)
        if found < 0:
            return self.first_line
        self.searched_from[url] = found + len(url)
        return self.first_line + self.markdown.count("\n", 0, found)
