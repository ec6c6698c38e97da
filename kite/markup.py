"""Kite's own Markdown extension: what every rendered body gets.

Editors write in Chinese, often pasting from WeChat or WPS; two habits of theirs
that plain Python-Markdown reads differently from what they meant are fixed here,
as CommonMark would read them:

- a list right under a paragraph, without a blank line, is a list;
- a web address right after Chinese punctuation (``详见：https://…``) is a link.

It also gets tables ready for a phone (see ``_PhoneTables``).
"""

from __future__ import annotations

import functools
import html
import re
import xml.etree.ElementTree as etree
from urllib.parse import urlsplit

import nh3
from markdown import Markdown
from markdown.extensions import Extension
from markdown.postprocessors import Postprocessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import HTML_PLACEHOLDER_RE

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|1[.)])\s+\S")
_ANY_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")
_BLOCK_START = re.compile(r"^\s{0,3}(?:#|>|\||<|```|~~~|\s*$)")
# CJK characters and full-width punctuation: where an address typed after them ends or begins.
_CJK = "\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
_BARE_ADDRESS = re.compile(rf"(?<=[{_CJK}])(https?://[^\s<>()\[\]{_CJK}]+)")


class _OutsideCode(Preprocessor):
    """A line-by-line fix that leaves fenced code as it is."""

    def fix(self, line: str, before: list[str]) -> str:
        raise NotImplementedError

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        fenced = False
        for line in lines:
            if _FENCE.match(line):
                fenced = not fenced
            elif not fenced:
                line = self.fix(line, out)
            out.append(line)
        return out


class _ListsAfterParagraphs(_OutsideCode):
    def fix(self, line: str, before: list[str]) -> str:
        if _LIST_ITEM.match(line) and before:
            previous = before[-1]
            if previous.strip() and not _ANY_LIST_ITEM.match(previous) and not _BLOCK_START.match(previous) \
                    and not previous.startswith((" ", "\t")):
                before.append("")
        return line


class _AddressesAfterChinese(_OutsideCode):
    def fix(self, line: str, before: list[str]) -> str:
        if "://" in line and "`" not in line and not line.lstrip().startswith("<"):
            return _BARE_ADDRESS.sub(r"<\1>", line)
        return line


class _LazyImages(Treeprocessor):
    def run(self, root):
        for image in root.iter("img"):
            # Images load only when scrolled near, and never hold up the text (mobile data).
            image.set("loading", image.get("loading", "lazy"))
            image.set("decoding", image.get("decoding", "async"))


class _PhoneTables(Treeprocessor):
    """Puts each table in a box of its own and says how it should read on a phone.

    The box scrolls sideways where a table is wider than the screen, and a keyboard can focus
    it (a scrolling region nobody can reach is an axe violation).  Cells break lines only at
    punctuation and spaces (kite.css); a table too wide for a 360 px phone that way is marked to be
    read there as stacked rows, each cell under its column's name, instead of breaking words
    every few characters or hiding columns off screen.
    """

    def run(self, root):
        for parent in list(root.iter()):
            for index, table in enumerate(list(parent)):
                if table.tag != "table":
                    continue
                rows = [[self._text(cell) for cell in row if cell.tag in ("th", "td")] for row in table.iter("tr")]
                headers = [self._text(cell) for cell in table.iter("th")]
                # Named by its columns, so a screen reader says which table the region holds.
                label = "表格：" + "、".join(h for h in headers if h) if any(headers) else "表格"
                box = etree.Element("div", {"class": "kite-table", "role": "region", "tabindex": "0",
                                            "aria-label": label})
                if _width_in_em(rows) > _PHONE_EM:
                    box.set("class", "kite-table kite-table--stack")
                    for row in table.iter("tr"):
                        for cell, name in zip((c for c in row if c.tag == "td"), headers):
                            if name:
                                cell.set("data-label", name)
                box.tail, table.tail = table.tail, None
                parent[index] = box
                box.append(table)

    def _text(self, cell) -> str:
        # Raw HTML and entities are held back by Python-Markdown until the end; put back their text.
        def stashed(found: re.Match) -> str:
            raw = self.md.htmlStash.rawHtmlBlocks[int(found[1])]
            return html.unescape(re.sub(r"<[^>]*>", "", str(raw)))

        return HTML_PLACEHOLDER_RE.sub(stashed, "".join(cell.itertext())).strip()


# The text column of a 360 px phone, in em of 16 px body text (the page keeps .8rem each side).
_PHONE_EM = (360 - 2 * 16) / 16
_CELL_PADDING_EM = 1.2
# Where a line may break in a cell: kite.css keeps the characters between these together.
_BREAKS = re.compile(r"[\s，、。；：！？,;:!?/（）()]+")


def _width_in_em(rows: list[list[str]]) -> float:
    """How wide a table is with no word broken, roughly: a CJK character is 1 em, Latin about .55."""
    widths: dict[int, float] = {}
    for row in rows:
        for column, text in enumerate(row):
            longest = max((_em(word) + 1 for word in _BREAKS.split(text)), default=0)  # + the punctuation
            widths[column] = max(widths.get(column, 0), longest)
    return sum(width + _CELL_PADDING_EM for width in widths.values())


def _em(text: str) -> float:
    return sum(1 if ord(char) > 0x2E7F else 0.55 for char in text)


class _Flatten(Treeprocessor):
    """Text nested deeper than any page needs (``*****…x…*****`` thousands deep) is kept as
    plain text: the table of contents and the HTML serializer walk the tree recursively, and a
    body must never stop a build with Python's recursion limit."""

    def run(self, root):
        stack = [(root, 0)]
        while stack:
            element, depth = stack.pop()
            if depth >= _DEEPEST:
                text = _all_text(element)
                tail = element.tail
                element.clear()
                element.text, element.tail = text, tail
                continue
            stack.extend((child, depth + 1) for child in element)


_DEEPEST = 64


def _all_text(element) -> str:
    """``itertext()`` without recursion (Python's own walks the tree recursively)."""
    parts: list[str] = []
    stack: list = [element]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        if item is not element and item.tail:
            stack.append(item.tail)
        stack.extend(reversed(list(item)))
        if isinstance(item.text, str):
            stack.append(item.text)
    return "".join(parts)


class _UnusableAddresses(Treeprocessor):
    """A link whose address no URL parser reads (``http://[::1``) keeps its text and loses the
    address, before MkDocs's link rewriting fails on it.  The loader reports such links as
    errors; this is for forms it does not recognise."""

    def run(self, root):
        for element in root.iter():
            for name in ("href", "src"):
                address = element.get(name)
                if address is None:
                    continue
                try:
                    urlsplit(address)
                except ValueError:
                    # MkDocs expects every <a> and <img> to have its address: a <span> has none.
                    del element.attrib[name]
                    if element.tag == "img":
                        element.text = element.attrib.pop("alt", "")
                    element.tag = "span"


class _SafeHtml(Postprocessor):
    """The body's HTML, raw HTML included, through an allowlist (nh3, Rust's ammonia).

    Editors may write HTML in Markdown, and paste it from web pages: a ``<script>``, an ``onclick``,
    a ``javascript:`` link or a ``style`` must not run or load anything on members' phones, and an
    unclosed ``<div>`` or ``<script>`` must not swallow the rest of the page (the parser closes it).
    """

    def run(self, text: str) -> str:
        return _cleaner().clean(text)


_TAGS = nh3.ALLOWED_TAGS | {"audio", "video", "source", "track", "picture", "section"}
_ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "dir", "role", "tabindex"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height", "loading", "decoding"},
    "audio": {"src", "controls", "preload", "loop"},
    "video": {"src", "controls", "preload", "loop", "poster", "width", "height", "playsinline"},
    "source": {"src", "type", "media", "srcset", "sizes"},
    "track": {"src", "kind", "srclang", "label", "default"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "td": {"colspan", "rowspan", "headers", "align"},
    "th": {"colspan", "rowspan", "headers", "scope", "align", "abbr"},
    "col": {"span"},
    "colgroup": {"span"},
    "details": {"open"},
    "time": {"datetime"},
    "data": {"value"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "q": {"cite"},
    "blockquote": {"cite"},
    "abbr": {"title"},
    "bdo": {"dir"},
}


@functools.cache
def _cleaner() -> nh3.Cleaner:
    # Built once: handing the allowlist to Rust again for every page cost as much as cleaning it.
    return nh3.Cleaner(tags=_TAGS, attributes=_ATTRIBUTES, generic_attribute_prefixes={"data-", "aria-"},
                       url_schemes={"http", "https", "mailto", "tel"}, link_rel=None, strip_comments=True)


class KiteMarkup(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        # Right after inline markup made the tree (20), before anything walks it.
        md.treeprocessors.register(_Flatten(md), "kite_flatten", 19)
        # Before Kite's link check (1) and MkDocs's link rewriting (0).
        md.treeprocessors.register(_UnusableAddresses(md), "kite_unusable_addresses", 2)
        md.preprocessors.register(_ListsAfterParagraphs(md), "kite_lists_after_paragraphs", 25)
        md.preprocessors.register(_AddressesAfterChinese(md), "kite_addresses_after_chinese", 24)
        md.treeprocessors.register(_LazyImages(md), "kite_lazy_images", 0)
        md.treeprocessors.register(_PhoneTables(md), "kite_phone_tables", 0)
        # Last, once raw HTML (30), footnotes (25) and '&' (20) are back in the text.
        md.postprocessors.register(_SafeHtml(md), "kite_safe_html", 10)


def makeExtension(**kwargs) -> KiteMarkup:  # the name Python-Markdown looks for
    return KiteMarkup(**kwargs)
