"""Session tokens: HS256 JWTs whose ``sid`` names a stored session.

A token's ``typ`` is ``session`` (a full session) or ``pending`` (password checked, second factor
still owed). Expiry is checked against the caller's clock, so tests move time instead of sleeping;
the stored session's own expiry is checked again by the service.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

SESSION = "session"
PENDING = "pending"
_ALGORITHM = "HS256"


class InvalidTokenError(Exception):
    """The token is forged, tampered with, expired or malformed."""


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    session_id: str
    kind: str
    issued_at: int
    expires_at: int
    # A pending token carries the device token its login came with, so that the second step can
    # judge the login by that device and return it (the tokens table keeps device tokens hashed only).
    device_token: str | None = None


def issue_token(claims: TokenClaims, key: bytes) -> str:
    """Sign ``claims`` into a compact JWT."""
    payload = {
        "sub": claims.user_id,
        "sid": claims.session_id,
        "typ": claims.kind,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
    }
    if claims.device_token is not None:
        payload["dvt"] = claims.device_token
    return jwt.encode(payload, key, algorithm=_ALGORITHM)


def verify_token(token: str, key: bytes, now: int) -> TokenClaims:
    """Decode and check a token. Raises InvalidTokenError if it is forged, expired or malformed."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            options={"require": ["exp", "iat", "sub", "sid", "typ"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(str(exc)) from None
    sub, sid, typ, iat, exp = (claims.get(k) for k in ("sub", "sid", "typ", "iat", "exp"))
    if not (isinstance(sub, str) and isinstance(sid, str) and typ in (SESSION, PENDING)):
        raise InvalidTokenError("malformed claims")
    if not (isinstance(iat, int) and isinstance(exp, int)) or isinstance(iat, bool) or isinstance(exp, bool):
        raise InvalidTokenError("malformed times")
    if now >= exp:
        raise InvalidTokenError("expired")
    device = claims.get("dvt")
    return TokenClaims(
        user_id=sub,
        session_id=sid,
        kind=typ,
        issued_at=iat,
        expires_at=exp,
        device_token=device if isinstance(device, str) and typ == PENDING else None,
    )
