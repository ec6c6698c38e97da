"""Desk passwords: Argon2id hashes (argon2-cffi), never the password itself.

The hasher's parameters are argon2-cffi's defaults, RFC 9106's low-memory profile
(3 passes over 64 MiB, 4 lanes): a guess costs an attacker with a copy of the database
the same memory it costs us, and a login about a tenth of a second.  When the defaults
change in a later argon2-cffi, ``needs_rehash`` says so after a successful login.

Passwords are NFKC-normalised first: a Chinese phone keyboard may type full-width
digits and letters (１２３) where the secretary meant 123.
"""

from __future__ import annotations

import functools
import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error

MIN_LENGTH = 10
MAX_LENGTH = 1024

_hasher = PasswordHasher()


def password_problem(password: str) -> str | None:
    """Why a new password is refused, for people; None if it is fine."""
    text = _normal(password)
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return "密码不能含有控制字符"
    if len(text) < MIN_LENGTH:
        return f"密码太短：至少要 {MIN_LENGTH} 个字符"
    if len(text) > MAX_LENGTH:
        return f"密码太长：最多 {MAX_LENGTH} 个字符"
    return None


def hash_password(password: str) -> str:
    """An encoded Argon2id hash with its own random salt, as stored on the account."""
    return _hasher.hash(_normal(password))


def verify_password(stored: str, password: str) -> bool:
    """Does ``password`` match the ``stored`` hash?  False, never an exception, for a broken hash."""
    try:
        return _hasher.verify(stored, _normal(password))
    except (Argon2Error, ValueError):  # a mismatch, or a hash that is not one (ValueError covers InvalidHashError)
        return False


def needs_rehash(stored: str) -> bool:
    """True when ``stored`` was made with other parameters than today's: hash the password again."""
    try:
        return _hasher.check_needs_rehash(stored)
    except (Argon2Error, ValueError):
        return True


def dummy_verify(password: str) -> bool:
    """Do the work of a real verification for a login that does not exist; always False.

    Without it an unknown login would answer in microseconds and a wrong password in a
    tenth of a second, telling anyone which logins exist.
    """
    verify_password(_dummy_hash(), password)
    return False


@functools.cache
def _dummy_hash() -> str:
    # Made on first use with the same parameters as real hashes, so it costs the same.
    return _hasher.hash(secrets.token_urlsafe(32))


def _normal(password: str) -> str:
    return unicodedata.normalize("NFKC", password)
