"""Matching names (contract, section 5): equal after NFKC with all whitespace removed."""

from __future__ import annotations

import pytest

from kite.desk.names import match_key, same_name, tidy_name


@pytest.mark.parametrize("written, roster", [
    ("张三", "张三"),
    ("张 三", "张三"),
    ("张\u3000三", "张三"),  # the ideographic space Chinese spreadsheets align names with
    (" 张三\t", "张三"),
    ("Ｌｉ Ｍｉｎｇ", "LiMing"),  # full-width letters from a Chinese input method
    ("王\u00a0五", "王五"),  # a no-break space pasted from a web page
    ("李\n四", "李四"),
])
def test_same_after_nfkc_without_whitespace(written, roster):
    assert same_name(written, roster)
    assert match_key(written) == match_key(roster)


@pytest.mark.parametrize("written, roster", [
    ("张三", "张叁"),
    ("张三", "张三丰"),
    ("LiMing", "liming"),  # NFKC keeps case; the contract asks for nothing more
    ("张三", ""),
])
def test_different_names_stay_different(written, roster):
    assert not same_name(written, roster)


def test_a_tidy_name_keeps_one_space_and_composes_characters():
    assert tidy_name("  Li \t Ming ") == "Li Ming"
    assert tidy_name("Jose\u0301") == "José"
    assert match_key(tidy_name("张\u3000三")) == "张三"
