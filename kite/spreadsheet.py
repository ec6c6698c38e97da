"""Cells that spreadsheet programs must show as text, never run as formulas.

Names and branch names come from members' own typing; a cell such as
``=HYPERLINK("http://…")`` would run when a secretary opens an export in Excel or WPS.
"""

from __future__ import annotations

# What Excel, WPS and LibreOffice read as the start of a formula; tab and carriage
# return because some of them strip a leading one and read what follows.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_START)


def safe_cell(value: str) -> str:
    """A CSV cell as text: a leading apostrophe stops Excel and WPS from running it as a formula."""
    return "'" + value if looks_like_formula(value) else value
