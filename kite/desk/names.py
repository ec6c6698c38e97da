"""When two written names are the same person (contract, section 5: Matching)."""

from __future__ import annotations

import unicodedata

# The check-in form's limit; a longer roster name could never be matched.
NAME_LIMIT = 40


def match_key(name: str) -> str:
    """The name as compared: NFKC-normalised, every whitespace character removed.

    NFKC folds full-width letters and digits (Ｌｉ → Li) and the ideographic space that
    Chinese spreadsheets use to align two-character names (张　三); whitespace goes
    wherever it is, since members type 张 三 as often as 张三.
    """
    return "".join(unicodedata.normalize("NFKC", name).split())


def same_name(a: str, b: str) -> bool:
    return match_key(a) == match_key(b)


def tidy_name(name: str) -> str:
    """A name as shown and stored: trimmed, inner runs of whitespace made one space, NFC."""
    return unicodedata.normalize("NFC", " ".join(name.split()))
