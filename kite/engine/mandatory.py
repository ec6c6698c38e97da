"""Which characters a regular expression cannot match without: the inline patterns' quick test.

Python-Markdown tries each inline pattern on each piece of a page's text.  Every pattern Kite
uses needs some ASCII punctuation to match (a `*`, a `[`, a `<`, a `:` or `.` of an address),
and most pieces of a Chinese lesson have none: one search for all those characters at once
then answers for every pattern.  Found from the expression itself, with Python's own parser of
regular expressions, so that an extension's new pattern is covered as it is written; where the
answer is not certain (a lookaround, a class like ``\\w``, a letter under ``(?i)``), there is none,
and that pattern is always tried.
"""

from __future__ import annotations

import re

try:  # Python's own parser of regular expressions: not a public interface, so it may go
    from re import _constants as sre
    from re import _parser
except ImportError:  # then every pattern is tried on every piece, as Python-Markdown does
    _parser = None

RANGE_LIMIT = 128  # a wider class ([a-z] is 26) counts as "any character"


def mandatory_characters(pattern: re.Pattern) -> frozenset[str] | None:
    """A set of characters every match of ``pattern`` holds at least one of; None if not known."""
    if _parser is None:
        return None
    try:
        parsed = _parser.parse(pattern.pattern, pattern.flags)
    except Exception:  # a form this parser does not know (bytes, a newer syntax): not known
        return None
    found = _sequence(parsed, parsed.state.flags)
    return frozenset(found) if found else None


def _sequence(items, flags: int) -> set[str] | None:
    """In a sequence every item matches: any one item's characters will do; the fewest are best."""
    best = None
    for op, value in items:
        found = _item(op, value, flags)
        if found is not None and (best is None or len(found) < len(best)):
            best = found
    return best


def _literal(code: int, flags: int) -> set[str] | None:
    character = chr(code)
    # Under (?i) a letter matches its other cases, Unicode's too ("k" matches the Kelvin sign).
    if flags & re.IGNORECASE and (character.lower() != character.upper() or not character.isascii()):
        return None
    return {character}


def _item(op, value, flags: int) -> set[str] | None:
    if op is sre.LITERAL:
        return _literal(value, flags)
    if op is sre.IN:
        return _class(value, flags)
    if op is sre.SUBPATTERN:
        _, added, removed, inner = value
        return _sequence(inner, (flags | added) & ~removed)
    if op is sre.ATOMIC_GROUP:
        return _sequence(value, flags)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        least, _, inner = value
        return _sequence(inner, flags) if least >= 1 else None
    if op is sre.BRANCH:
        found: set[str] = set()
        for alternative in value[1]:
            one = _sequence(alternative, flags)
            if one is None:
                return None
            found |= one
        return found
    return None  # anything else may match no character or any: a lookaround, ".", "^", a backreference


def _class(items, flags: int) -> set[str] | None:
    found: set[str] = set()
    for kind, value in items:
        if kind is sre.LITERAL:
            codes = [value]
        elif kind is sre.RANGE and value[1] - value[0] < RANGE_LIMIT:
            codes = range(value[0], value[1] + 1)
        else:  # a negated class, \w, \s, a wide range
            return None
        for code in codes:
            one = _literal(code, flags)
            if one is None:
                return None
            found |= one
    return found
