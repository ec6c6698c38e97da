"""Which branches an account may see: the one place that answers it.

An account's scope is written as ``all``, the name of a joint committee or the name of
a branch, exactly as in ``site_config.yml``.  Resolved against the config it becomes a
``Scope``: the set of branches the storage layer filters every desk query by.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Iterable

from ..config import SiteConfig

ALL = "all"


class ScopeError(ValueError):
    """An account's scope that names nothing in the config; the message is for people."""


@dataclass(frozen=True)
class Scope:
    name: str  # as stored on the account
    branches: tuple[str, ...]  # in the config's order, for pages that list them
    everything: bool = False  # `all`: also branches no longer in the config (renamed, removed)

    def allows(self, branch: str) -> bool:
        """May this account see records of ``branch``?"""
        return self.everything or branch in self.branches

    def visible(self, branches: Iterable[str]) -> list[str]:
        return [branch for branch in branches if self.allows(branch)]


def resolve_scope(scope: str, config: SiteConfig) -> Scope:
    """The branches ``scope`` stands for; ``ScopeError`` if it names no committee or branch.

    No name is both a joint committee and another committee's branch: the config refuses that
    (``kite.config``), since guessing wrong would show one branch's members to another.
    """
    name = unicodedata.normalize("NFC", scope.strip()) if isinstance(scope, str) else ""
    if name == ALL:
        return Scope(ALL, tuple(branch for group in config.branches for branch in group.branches), everything=True)
    committees = [group for group in config.branches if group.name == name]
    branches = [branch for group in config.branches for branch in group.branches if branch == name]
    if committees:
        return Scope(name, tuple(committees[0].branches))
    if branches:
        return Scope(name, (name,))
    raise ScopeError(f"没有这个范围：“{name}”。范围应为 all、联合党委名称或支部名称，与 site_config.yml 的 branches 完全一致"
                     if name else "范围不能为空：应为 all、联合党委名称或支部名称")


def scope_names(config: SiteConfig) -> list[str]:
    """Every scope an account may be given, for help texts and choices."""
    names = [ALL]
    for group in config.branches:
        for name in (group.name, *group.branches):
            if name not in names:
                names.append(name)
    return names
