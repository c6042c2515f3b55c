"""Opaque single-use tokens (email links, device tokens): 256 random bits, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32  # 256 bits; the contract asks for at least 128


def new_opaque_token() -> str:
    """A URL-safe random token of 256 bits."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_opaque_token(token: str) -> str:
    """What the tokens table keeps of a token: its SHA-256, hex (a slow hash is for low-entropy secrets)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
