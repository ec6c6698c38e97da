"""Kite's own Markdown extension: what every rendered body gets.

Editors write in Chinese, often pasting from WeChat or WPS; two habits of theirs
that plain Python-Markdown reads differently from what they meant are fixed here,
as CommonMark would read them:

- a list right under a paragraph, without a blank line, is a list;
- a web address right after Chinese punctuation (``详见：https://…``) is a link.
"""

from __future__ import annotations

import re

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

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


class KiteMarkup(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(_ListsAfterParagraphs(md), "kite_lists_after_paragraphs", 25)
        md.preprocessors.register(_AddressesAfterChinese(md), "kite_addresses_after_chinese", 24)
        md.treeprocessors.register(_LazyImages(md), "kite_lazy_images", 0)


def makeExtension(**kwargs) -> KiteMarkup:  # the name Python-Markdown looks for
    return KiteMarkup(**kwargs)
