"""Session tokens: signing, and refusing anything forged, tampered with, expired or malformed."""

import base64
import json

import jwt
import pytest

from chalicelib.security.tokens import PENDING, SESSION, InvalidTokenError, TokenClaims, issue_token, verify_token

KEY = b"k" * 48
NOW = 2_000_000_000
CLAIMS = TokenClaims(user_id="u1", session_id="s1", kind=SESSION, issued_at=NOW, expires_at=NOW + 60)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_round_trip() -> None:
    assert verify_token(issue_token(CLAIMS, KEY), KEY, NOW) == CLAIMS


def test_pending_kind_survives_the_round_trip() -> None:
    pending = TokenClaims("u1", "s2", PENDING, NOW, NOW + 300)
    assert verify_token(issue_token(pending, KEY), KEY, NOW).kind == PENDING


def test_expired_from_the_second_of_expiry() -> None:
    token = issue_token(CLAIMS, KEY)
    assert verify_token(token, KEY, NOW + 59)
    with pytest.raises(InvalidTokenError):
        verify_token(token, KEY, NOW + 60)


def test_wrong_key_is_refused() -> None:
    with pytest.raises(InvalidTokenError):
        verify_token(issue_token(CLAIMS, b"x" * 48), KEY, NOW)


def test_tampered_payload_is_refused() -> None:
    header, _, signature = issue_token(CLAIMS, KEY).split(".")
    forged = _b64({"sub": "someone-else", "sid": "s1", "typ": SESSION, "iat": NOW, "exp": NOW + 60})
    with pytest.raises(InvalidTokenError):
        verify_token(f"{header}.{forged}.{signature}", KEY, NOW)


def test_alg_none_is_refused() -> None:
    payload = {"sub": "u1", "sid": "s1", "typ": SESSION, "iat": NOW, "exp": NOW + 60}
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."
    with pytest.raises(InvalidTokenError):
        verify_token(unsigned, KEY, NOW)


def test_other_algorithms_are_refused_even_with_the_right_key() -> None:
    token = jwt.encode({"sub": "u1", "sid": "s1", "typ": SESSION, "iat": NOW, "exp": NOW + 60}, KEY, algorithm="HS512")
    with pytest.raises(InvalidTokenError):
        verify_token(token, KEY, NOW)


@pytest.mark.parametrize("missing", ["sub", "sid", "typ", "iat", "exp"])
def test_every_claim_is_required(missing: str) -> None:
    payload = {"sub": "u1", "sid": "s1", "typ": SESSION, "iat": NOW, "exp": NOW + 60}
    del payload[missing]
    with pytest.raises(InvalidTokenError):
        verify_token(jwt.encode(payload, KEY, algorithm="HS256"), KEY, NOW)


@pytest.mark.parametrize("change", [{"typ": "admin"}, {"sub": 7}, {"exp": "tomorrow"}, {"exp": True}, {"sid": None}])
def test_malformed_claims_are_refused(change: dict) -> None:
    payload = {"sub": "u1", "sid": "s1", "typ": SESSION, "iat": NOW, "exp": NOW + 60} | change
    with pytest.raises(InvalidTokenError):
        verify_token(jwt.encode(payload, KEY, algorithm="HS256"), KEY, NOW)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "eyJ.eyJ.", "lk_" + "a" * 40])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidTokenError):
        verify_token(garbage, KEY, NOW)
