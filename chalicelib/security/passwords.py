"""Password hashing with argon2id at OWASP's parameters (m=19 MiB, t=2, p=1)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    # Imported on first use: argon2's bindings are not needed by requests that check a token.
    from argon2 import PasswordHasher, Type

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)


def hash_password(password: str) -> str:
    """Hash a password into an encoded argon2id string (salt and parameters included)."""
    return _hasher().hash(password)


@lru_cache(maxsize=1)
def _unknown_user_hash() -> str:
    return hash_password("latchkey: no such user, same cost")


def verify_password(encoded: str | None, password: str) -> bool:
    """True if ``password`` matches ``encoded``. With no hash (unknown user) it still costs one
    verification and answers False, so timing does not tell who exists."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(encoded or _unknown_user_hash(), password) and encoded is not None
    except (VerificationError, InvalidHashError):
        return False
