"""Desk passwords: Argon2id, slow and salted; the same work for an unknown login."""

from __future__ import annotations

import argon2
import pytest

from kite.desk import passwords
from kite.desk.passwords import dummy_verify, hash_password, needs_rehash, password_problem, verify_password

PASSWORD = "风筝飞得高靠引线2026"


def test_a_hash_is_argon2id_salted_and_verifies_only_its_password():
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in stored
    assert hash_password(PASSWORD) != stored  # a new salt every time
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + " ")
    assert not verify_password(stored, "")


def test_full_width_digits_from_a_phone_keyboard_are_the_same_password():
    stored = hash_password("kite-password-123")
    assert verify_password(stored, "ｋｉｔｅ－ｐａｓｓｗｏｒｄ－１２３")


@pytest.mark.parametrize("stored", ["", "plain-text-password", "$argon2id$v=19$m=65536,t=3,p=4$broken", "$argon2id$口令"])
def test_a_broken_stored_hash_never_verifies_and_never_raises(stored):
    assert verify_password(stored, PASSWORD) is False
    assert needs_rehash(stored) is True


def test_a_hash_made_with_weaker_parameters_needs_rehashing():
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert verify_password(weak, PASSWORD)
    assert needs_rehash(weak)
    assert not needs_rehash(hash_password(PASSWORD))


def test_the_dummy_verification_does_a_real_verification_at_the_same_cost(monkeypatch):
    verified = []

    class Recording:
        def __init__(self, real):
            self.real = real

        def hash(self, password):
            return self.real.hash(password)

        def verify(self, stored, password):
            verified.append(argon2.extract_parameters(stored))
            return self.real.verify(stored, password)

    monkeypatch.setattr(passwords, "_hasher", Recording(passwords._hasher))
    assert dummy_verify(PASSWORD) is False
    assert verify_password(hash_password(PASSWORD), PASSWORD)
    dummy, real = verified
    assert dummy == real  # same type, memory, passes and lanes: the same time


@pytest.mark.parametrize("password, problem", [
    ("short", "密码太短：至少要 10 个字符"),
    ("", "密码太短：至少要 10 个字符"),
    ("一二三四五六七八九", "密码太短：至少要 10 个字符"),
    ("abcdefghi\x07j", "密码不能含有控制字符"),
    ("x" * 1025, "密码太长：最多 1024 个字符"),
    ("一二三四五六七八九十", None),
    ("correct horse", None),
])
def test_new_passwords_are_checked(password, problem):
    assert password_problem(password) == problem
