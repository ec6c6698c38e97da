"""An account's scope resolved against the config: the one answer to "may this account see branch X"."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kite.config import SiteConfig
from kite.desk.scope import ALL, ScopeError, resolve_scope, scope_names

CONFIG = SiteConfig.model_validate({
    "site_name": "测试",
    "site_url": "https://example.org/",
    "branches": [
        {"name": "驻宁流动党员联合党委", "branches": ["鼓韵堂党支部", "栖息栈党支部"]},
        {"name": "驻沪流动党员联合党委", "branches": ["浦东项目部党支部"]},
        "海外独立党支部",
    ],
})
EVERY_BRANCH = ("鼓韵堂党支部", "栖息栈党支部", "浦东项目部党支部", "海外独立党支部")


def test_all_sees_every_branch_and_branches_no_longer_configured():
    scope = resolve_scope("all", CONFIG)
    assert scope.name == ALL
    assert scope.branches == EVERY_BRANCH
    assert all(scope.allows(branch) for branch in EVERY_BRANCH)
    assert scope.allows("改名前的旧支部")


def test_a_joint_committee_sees_its_branches_only():
    scope = resolve_scope("驻宁流动党员联合党委", CONFIG)
    assert scope.branches == ("鼓韵堂党支部", "栖息栈党支部")
    assert [branch for branch in EVERY_BRANCH if scope.allows(branch)] == ["鼓韵堂党支部", "栖息栈党支部"]
    assert not scope.allows("改名前的旧支部")
    assert scope.visible(["浦东项目部党支部", "栖息栈党支部", "鼓韵堂党支部"]) == ["栖息栈党支部", "鼓韵堂党支部"]


def test_a_branch_sees_itself_only():
    scope = resolve_scope("栖息栈党支部", CONFIG)
    assert scope.branches == ("栖息栈党支部",)
    assert [branch for branch in EVERY_BRANCH if scope.allows(branch)] == ["栖息栈党支部"]


def test_a_branch_directly_under_the_top_is_one_branch():
    assert resolve_scope("海外独立党支部", CONFIG).branches == ("海外独立党支部",)


def test_surrounding_spaces_are_forgiven_but_not_a_different_name():
    assert resolve_scope(" 栖息栈党支部 ", CONFIG).branches == ("栖息栈党支部",)
    with pytest.raises(ScopeError) as caught:
        resolve_scope("栖息栈支部", CONFIG)
    assert str(caught.value) == ("没有这个范围：“栖息栈支部”。范围应为 all、联合党委名称或支部名称，"
                                 "与 site_config.yml 的 branches 完全一致")


@pytest.mark.parametrize("scope", ["", "  ", "ALL", "All"])
def test_empty_or_miscased_scopes_are_refused(scope):
    with pytest.raises(ScopeError):
        resolve_scope(scope, CONFIG)


def test_a_name_that_is_both_committee_and_branch_is_refused_not_guessed():
    # Refused by the config, before any account could be given the name as its scope.
    with pytest.raises(ValidationError, match="联合党委 '河西党委' 与支部 '河西党委' 同名"):
        SiteConfig.model_validate({
            "site_name": "测试", "site_url": "https://example.org/",
            "branches": [{"name": "河西党委", "branches": ["甲支部", "乙支部"]},
                         {"name": "河东党委", "branches": ["河西党委"]}],
        })


def test_scope_names_lists_every_choice_once():
    assert scope_names(CONFIG) == ["all", "驻宁流动党员联合党委", "鼓韵堂党支部", "栖息栈党支部",
                                   "驻沪流动党员联合党委", "浦东项目部党支部", "海外独立党支部"]
