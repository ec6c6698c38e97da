"""Kite's Markdown extension: what editors pasting Chinese text from WeChat or WPS meant."""

from __future__ import annotations

import markdown
import pytest

from kite.engine.render import markdown_extensions


def render(text: str) -> str:
    extensions, configs = [], {}
    for item in markdown_extensions():
        if isinstance(item, dict):
            (name, config), = item.items()
            extensions.append(name)
            configs[name] = config
        else:
            extensions.append(item)
    return markdown.markdown(text, extensions=extensions, extension_configs=configs)


def test_a_list_right_under_a_paragraph_is_a_list():
    html = render("注意事项：\n- 戴好安全帽\n- 系好安全带\n")
    assert "<p>注意事项：</p>" in html and "<li>戴好安全帽</li>" in html


def test_only_a_list_starting_at_one_interrupts_a_paragraph():
    assert "<ol>" not in render("工期是\n2. 个月\n")


def test_a_continued_list_item_is_left_alone():
    html = render("- 甲\n  接着写\n- 乙\n")
    assert html.count("<li>") == 2


@pytest.mark.parametrize("text, href", [
    ("详见：https://example.org/a，好。", "https://example.org/a"),
    ("报名网址（https://example.org/b）", "https://example.org/b"),
    ("地址是 https://example.org/c 。", "https://example.org/c"),
])
def test_addresses_after_chinese_punctuation_become_links(text, href):
    assert f'<a href="{href}">{href}</a>' in render(text)


def test_code_is_not_touched():
    html = render("```\n详见：https://example.org/a\n- 甲\n```\n")
    assert "<a " not in html and "<li>" not in html


def test_images_load_lazily():
    html = render("![工地](../content/media/a.jpg)")
    assert 'loading="lazy"' in html and 'decoding="async"' in html
