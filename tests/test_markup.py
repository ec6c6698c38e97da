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


def test_tables_get_a_focusable_box_named_by_their_columns():
    html = render("| 序号 | 姓名 &amp; 职务 |\n|---|---|\n| 1 | 张三 |\n")
    assert html.startswith('<div aria-label="表格：序号、姓名 &amp; 职务" class="kite-table" role="region" tabindex="0"><table>')
    assert "data-label" not in html  # fits a phone as a table


def test_a_table_too_wide_for_a_phone_is_marked_to_stack_with_its_column_names():
    html = render("| 环节 | 时间 | 谁来做 | 自己要做什么 |\n|---|---|---|---|\n"
                  "| 考勤确认 | 每月1日至5日 | 班组长、劳资专管员 | 核对出勤天数，签字确认 |\n")
    assert 'class="kite-table kite-table--stack"' in html
    assert '<td data-label="环节">考勤确认</td>' in html and '<td data-label="谁来做">班组长、劳资专管员</td>' in html
