"""The one error type editors see: ``PATH:LINE: FIELD: message``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one file, pointing at the line an editor must fix."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


def field_name(loc: tuple) -> str:
    """``('branches', 0, 'name')`` as editors read it: ``branches[0].name``."""
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


class ContentErrors(Exception):
    """Every problem found in a run, raised once after all files were read."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))
