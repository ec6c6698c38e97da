"""The hub's ``language`` picks Material's words and the pages' ``<html lang>``."""

import pytest

from kite.engine import theme_language


@pytest.mark.parametrize("given, used", [
    ("zh", "zh"), ("en", "en"), ("fr", "fr"),
    # Case does not matter in BCP 47 tags, nor does an underscore written for the hyphen.
    ("ZH", "zh"), ("zh-tw", "zh-TW"), ("zh-hant", "zh-Hant"), ("pt_BR", "pt-BR"),
    # A region Material has no words for falls back to its language, not to Chinese.
    ("en-US", "en"), ("fr-CA", "fr"), ("zh-CN", "zh"),
    # A language Material does not know at all: Kite's own text is Chinese.
    ("ug", "zh"), ("xx", "zh"), ("", "zh"),
])
def test_the_theme_language_follows_the_tag_then_its_language_then_chinese(given, used):
    assert theme_language(given) == used
