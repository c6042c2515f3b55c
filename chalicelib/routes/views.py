"""How resources look in replies: the contract's shapes, built from the store's dataclasses."""

from __future__ import annotations

from typing import Any

from chalicelib.services.sessions import IssuedToken
from chalicelib.store.users import User
from chalicelib.web import timestamp


def user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.user_id,
        "username": user.username,
        "email": user.email,
        "created_at": timestamp(user.created_at),
        "two_factor_enabled": user.two_factor_enabled,
    }


def token_view(token: IssuedToken) -> dict[str, Any]:
    return {"token": token.token, "expires_at": timestamp(token.expires_at)}
