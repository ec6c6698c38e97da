"""Kite's own Markdown extension: what every rendered body gets."""

from __future__ import annotations

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor


class _LazyImages(Treeprocessor):
    def run(self, root):
        for image in root.iter("img"):
            # Images load only when scrolled near, and never hold up the text (mobile data).
            image.set("loading", image.get("loading", "lazy"))
            image.set("decoding", image.get("decoding", "async"))


class KiteMarkup(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        md.treeprocessors.register(_LazyImages(md), "kite_lazy_images", 0)


def makeExtension(**kwargs) -> KiteMarkup:  # the name Python-Markdown looks for
    return KiteMarkup(**kwargs)
