"""The inline patterns' quick test: one search for the characters some pattern cannot match without."""

from __future__ import annotations

import re

import markdown
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kite.engine.mandatory import mandatory_characters
from kite.engine.pipeline import QuickInline
from kite.engine.render import markdown_extensions


def converter(quick: bool) -> markdown.Markdown:
    """Python-Markdown with Kite's extensions; ``quick``: with Kite's inline processor, as pages are built."""
    names, settings_ = [], {}
    for extension in markdown_extensions():
        if isinstance(extension, dict):
            settings_.update(extension)
            names.extend(extension)
        else:
            names.append(extension)
    md = markdown.Markdown(extensions=names, extension_configs=settings_)
    if quick:
        md.treeprocessors.register(QuickInline(md), "inline", 20)
    return md


PATTERNS = [pattern.getCompiledRegExp() for pattern in converter(False).inlinePatterns]

# What a page's text is made of: Chinese, full-width and ASCII punctuation, letters and digits (the
# Kelvin sign and the long s, which (?i) matches with "k" and "s"), spaces, line ends, and the
# markers Python-Markdown leaves in the text for what it has already taken out.
CHARACTERS = list("党课工地，。：；“”（）！？、") + [chr(c) for c in range(0x20, 0x7F)] + list("\n\t\u212a\u017f\x02\x03\xa0")
TOKENS = ["**", "*", "__", "_", "~~", "==", "`", "``", "[甲](b.md)", "![图](a.png)", "[^1]", "<https://example.org/a>",
          "<ab@example.org>", "cd@example.org", "https://example.org/x", "www.example.cn", "ftp.example.cn",
          "  \n", "&copy;", "&#169;", "<span>", "</span>", "\\*", "\\", "HTTPS://EXAMPLE.ORG", "WWW.EXAMPLE.CN"]
TEXT = st.lists(st.one_of(st.sampled_from(CHARACTERS), st.sampled_from(TOKENS)), max_size=40).map("".join)


def test_every_pattern_kite_uses_needs_a_character_so_the_quick_test_covers_them_all():
    assert all(mandatory_characters(pattern) for pattern in PATTERNS)
    quick = [p for p in converter(True).treeprocessors if isinstance(p, QuickInline)][0]
    quick._prepare()
    assert quick._unknown == []


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_no_pattern_matches_a_text_without_one_of_its_characters(text):
    for pattern in PATTERNS:
        needed = mandatory_characters(pattern)
        if pattern.search(text):
            assert needed is None or not needed.isdisjoint(text), (pattern.pattern, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEXT, min_size=1, max_size=4).map("\n\n".join))
def test_pages_convert_as_without_the_quick_test(body):
    assert converter(True).convert(body) == converter(False).convert(body)


@pytest.mark.parametrize("expression, needed", [
    (r"(?<!\!)\[", {"["}),
    (r"\!\[", {"!"}),  # the fewest characters of the sequence
    (r"  \n", {" "}),
    (r"\*|_", {"*", "_"}),
    (r"[~=]+", {"~", "="}),
    (r"(?i)(?:www|ftp)\.", {"."}),  # letters under (?i) match other cases too: only the dot is certain
    (r"(?:(?<!\\)((?:\\{2})+)(?=`+)|(?<!\\)`)", {"\\", "`"}),
    (r"[0-3]", {"0", "1", "2", "3"}),
    (r"(a)\1", {"a"}),  # the group; a backreference alone would not count
])
def test_the_characters_found(expression, needed):
    assert mandatory_characters(re.compile(expression)) == needed


@pytest.mark.parametrize("expression", [
    r"(?i)abc",  # "k" and "s" are matched by the Kelvin sign and the long s
    r"(?i)[a-c]",
    r"a*b?",  # may match nothing
    r"(?=\*)",  # a lookahead takes no character
    r"\w+",
    r"[^<]",
    r"[\u4e00-\u9fff]",  # too wide a range to list
    r"\*|\w",  # one alternative needs no particular character
    r".",
])
def test_what_is_not_certain_is_not_claimed(expression):
    assert mandatory_characters(re.compile(expression)) is None


def test_without_pythons_parser_every_pattern_is_tried(monkeypatch):
    # re._parser is not a public interface: if a Python goes without it, pages still convert alike.
    from kite.engine import mandatory

    monkeypatch.setattr(mandatory, "_parser", None)
    assert mandatory_characters(PATTERNS[0]) is None
    body = "正文[乙](b.md)，**加粗**，见 https://example.org/a 与 cd@example.org。\n\n只有中文的一段。"
    assert converter(True).convert(body) == converter(False).convert(body)
