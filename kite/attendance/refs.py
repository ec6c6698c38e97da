"""A suggestion's reference: what a member keeps, reads out over the phone, and types back in.

Ten characters of Crockford's base32 (digits and capitals without I, L, O and U, so nothing
is misread as another), all of them random: 50 bits, never a counter, so nobody can walk
through other people's suggestions by trying the next number.  Shown in groups,
``K7Q2-M9XD-4R``; read back in any case, with or without dashes or spaces, in full-width
characters from a Chinese keyboard, and with O, I and L taken for 0, 1 and 1.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 10  # 10 × 5 = 50 random bits
_MISREAD = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Dashes of every width a phone may produce, and spaces, between the groups.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―－_·]+")


def new_ref() -> str:
    """A new reference as stored: ``K7Q2M9XD4R``."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def show_ref(ref: str) -> str:
    """A stored reference as people read it: ``K7Q2-M9XD-4R``."""
    return f"{ref[:4]}-{ref[4:8]}-{ref[8:]}"


def read_ref(typed: object) -> str | None:
    """The stored form of a reference as someone typed it, or None if it cannot be one."""
    if not isinstance(typed, str) or len(typed) > 64:
        return None
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", typed)).upper().translate(_MISREAD)
    if len(text) != LENGTH or any(ch not in ALPHABET for ch in text):
        return None
    return text
