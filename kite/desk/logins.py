"""Desk logins, free of storage and HTTP: login names, session tokens, and the failed-login rule.

- A login is compared as NFKC in lower case: a phone keyboard capitalises the first letter
  and may type full-width letters, and the secretary still means the same account.
- A session token is 32 random bytes in the cookie; the database keeps only its SHA-256, so
  a copy of the database lets nobody in.  (A token has 256 bits of entropy, so a fast hash
  is enough; passwords, which people choose, get Argon2 in ``passwords``.)
- More than ``MAX_FAILURES`` failed logins for one login within ``FAILURE_WINDOW`` lock that
  login until ``FAILURE_WINDOW`` after the last failure (contract, section 5): per login, never
  per address, since members and secretaries share carrier NAT; a success in between does not
  wipe the failures before it.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from datetime import datetime, timedelta
from typing import Sequence

LOGIN_LIMIT = 64
MAX_FAILURES = 10
FAILURE_WINDOW = timedelta(minutes=15)
# A session unused this long has ended (8 hours: a working day on a site, not overnight).
IDLE_EXPIRY = timedelta(hours=8)

_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn"}


def normal_login(login: str) -> str:
    """The login as stored and compared."""
    return unicodedata.normalize("NFKC", login).strip().lower()


def login_problem(login: str) -> str | None:
    """Why a new account's login is refused, for people; None if it is fine."""
    text = normal_login(login)
    if not text:
        return "登录名不能为空"
    if any(ch.isspace() for ch in text):
        return "登录名不能含有空格"
    if any(unicodedata.category(ch) in _HIDDEN for ch in text):
        return "登录名不能含有控制字符或不可见字符"
    if len(text) > LOGIN_LIMIT:
        return f"登录名太长：最多 {LOGIN_LIMIT} 个字符"
    return None


def new_token() -> str:
    """A new random token for a cookie or a form (URL-safe text)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_token(given: str | None, expected: str) -> bool:
    """Compare a token from a request with the expected one in constant time."""
    return isinstance(given, str) and secrets.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def locked(failures: Sequence[datetime], now: datetime) -> bool:
    """Is a login with these failed attempts (oldest first) locked at ``now``?

    Locked while more than ``MAX_FAILURES`` failures fall within ``FAILURE_WINDOW`` up to the
    last one, until ``FAILURE_WINDOW`` after that last one.  Tries while locked are not
    failures (the password is not even checked), so a lock ends on time.
    """
    if not failures:
        return False
    last = failures[-1]
    if now >= last + FAILURE_WINDOW:
        return False
    return sum(1 for failed in failures if failed > last - FAILURE_WINDOW) > MAX_FAILURES


def unlocks_at(failures: Sequence[datetime]) -> datetime | None:
    """When a locked login may try again."""
    return failures[-1] + FAILURE_WINDOW if failures else None
