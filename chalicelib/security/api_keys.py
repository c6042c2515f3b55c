"""API keys: generating them, checking their checksum, hashing them for storage. Pure, no I/O.

A key is ``lk_`` + 32 random base62 characters (190.5 bits from ``secrets``) + a 6-character base62
CRC32 of everything before it, as GitHub's tokens do: a mistyped or made-up key fails the checksum
and is refused without a lookup. Only the SHA-256 of a key is stored; a slow hash is for
low-entropy secrets, and a key has more entropy than any attacker can search.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib

PREFIX = "lk_"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 32  # 32 * log2(62) = 190.5 bits
CHECKSUM_LENGTH = 6  # 62**6 > 2**32: a CRC32 always fits
DISPLAY_PREFIX_LENGTH = 8
KEY_LENGTH = len(PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
_SHAPE = re.compile(rf"{PREFIX}[0-9A-Za-z]{{{RANDOM_LENGTH + CHECKSUM_LENGTH}}}")


def _checksum(body: str) -> str:
    """The CRC32 of ``body`` in base62, left-padded to 6 characters."""
    value = zlib.crc32(body.encode("ascii"))
    digits = []
    for _ in range(CHECKSUM_LENGTH):
        value, digit = divmod(value, 62)
        digits.append(BASE62[digit])
    return "".join(reversed(digits))


def generate_api_key() -> str:
    """A new random key with its checksum."""
    body = PREFIX + "".join(secrets.choice(BASE62) for _ in range(RANDOM_LENGTH))
    return body + _checksum(body)


def has_valid_checksum(key: str) -> bool:
    """True if ``key`` has the shape of a key and its checksum matches (no I/O: a typo fails here)."""
    if len(key) != KEY_LENGTH or not _SHAPE.fullmatch(key):
        return False
    return _checksum(key[:-CHECKSUM_LENGTH]) == key[-CHECKSUM_LENGTH:]


def hash_api_key(key: str) -> str:
    """What is stored instead of the key: its SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def display_prefix(key: str) -> str:
    """The key's first 8 characters, shown in lists so that people can tell keys apart."""
    return key[:DISPLAY_PREFIX_LENGTH]
