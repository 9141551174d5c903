"""Password hashing (argon2id) and the minimum policy for new passwords.

Why a policy this small: officials pick their own passwords on a phone, and length is
what resists guessing; composition rules mostly produce `Matkhau@123`. So: at least
MIN_CHARS characters, not one of the passwords everyone tries first, not the username.
Login throttling (throttle.py) covers online guessing; argon2id covers a stolen database.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_CHARS = 10
MAX_CHARS = 256
"""argon2 hashes any length, but a megabyte "password" per request is a cheap way to burn CPU."""

COMMON_PASSWORDS = frozenset(
    {
        "1234567890", "12345678910", "0123456789", "1234567899", "1111111111", "0000000000",
        "1122334455", "1234512345", "9876543210", "qwertyuiop", "1q2w3e4r5t", "qwerty1234",
        "password12", "password123", "password1234", "passw0rd123", "abcd123456", "abc1234567",
        "iloveyou123", "admin12345", "admin123456", "administrator", "matkhau123", "matkhau1234",
        "matkhau@123", "123456789a", "a123456789", "anhyeuem123", "changeme123", "welcome123",
        "loa1234567", "loaloaloa1", "xinchao123", "vietnam123", "vietnam1234", "hanoi12345",
    }
)


@functools.cache
def _hasher() -> PasswordHasher:
    """argon2-cffi's defaults (RFC 9106 low-memory profile), built on first use, not at import."""
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; a malformed stored hash is a mismatch, never an exception."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's (rehash on next login)."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against when the username is unknown, so the answer takes as long
    as for a real user and response times do not reveal which names exist."""
    return hash_password("not-a-real-password-at-all")


def weak_password_reason(password: str, username: str = "") -> str | None:
    """Why `password` is refused, as a message key (see controller/web/catalogue), or None if fine."""
    if len(password) < MIN_CHARS:
        return "accounts.err.password_short"
    if len(password) > MAX_CHARS:
        return "accounts.err.password_long"
    folded = password.casefold()
    if folded in COMMON_PASSWORDS or len(set(folded)) <= 2:
        return "accounts.err.password_common"
    name = username.casefold()
    if name and (folded == name or (len(name) >= 4 and name in folded)):
        return "accounts.err.password_username"
    return None


__all__ = [
    "COMMON_PASSWORDS",
    "MAX_CHARS",
    "MIN_CHARS",
    "dummy_hash",
    "hash_password",
    "needs_rehash",
    "verify_password",
    "weak_password_reason",
]
