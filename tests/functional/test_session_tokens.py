"""Session tokens on GET /v1/user and POST /v1/user/refresh-token: expiry, forgery, refresh."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from chalicelib.services import Services
from chalicelib.store import dynamo
from tests.conftest import Api, FakeClock, count_dynamodb_calls

WEEK = 604800


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_get_user_costs_one_dynamodb_round_trip(api: Api, alice: str) -> None:
    calls = count_dynamodb_calls()
    assert api.get("/v1/user", token=alice).status == 200
    assert calls == ["BatchGetItem"]


def test_token_works_until_the_second_it_expires(api: Api, alice: str, clock: FakeClock) -> None:
    clock.advance(WEEK - 1)
    assert api.get("/v1/user", token=alice).status == 200
    clock.advance(1)
    reply = api.get("/v1/user", token=alice)
    assert reply.status == 401 and reply.body["Code"] == "UnauthorizedError"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def forged_tokens(real: str) -> dict[str, str]:
    header, payload, signature = real.split(".")
    claims = _claims(real)
    return {
        "wrong key": jwt.encode(claims, "not-the-signing-key-" + "y" * 32, algorithm="HS256"),
        "tampered": f"{header}.{_b64(claims | {'exp': claims['exp'] + WEEK})}.{signature}",
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "truncated": real[:-5],
        "garbage": "definitely-not-a-token",
    }


@pytest.mark.parametrize("kind", ["wrong key", "tampered", "alg none", "truncated", "garbage"])
def test_forged_tokens_get_401(api: Api, alice: str, kind: str) -> None:
    reply = api.get("/v1/user", token=forged_tokens(alice)[kind])
    assert reply.status == 401 and reply.body["Code"] == "UnauthorizedError"


def test_a_well_signed_token_for_an_unknown_session_gets_401(api: Api, alice: str, services: Services) -> None:
    claims = _claims(alice) | {"sid": "no-such-session"}
    token = jwt.encode(claims, services.settings.jwt_secret, algorithm="HS256")
    assert api.get("/v1/user", token=token).status == 401


def test_a_token_whose_session_was_deleted_gets_401(api: Api, alice: str, services: Services) -> None:
    dynamo.client().delete_item(
        TableName=services.settings.table_name("sessions"), Key=dynamo.to_item({"session_id": _claims(alice)["sid"]})
    )
    assert api.get("/v1/user", token=alice).status == 401


def test_a_token_naming_another_user_for_a_real_session_gets_401(api: Api, alice: str, services: Services) -> None:
    bob = api.signup("bob").body["user"]["id"]
    token = jwt.encode(_claims(alice) | {"sub": bob}, services.settings.jwt_secret, algorithm="HS256")
    assert api.get("/v1/user", token=token).status == 401


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer a b"])
def test_missing_or_malformed_authorization_gets_401(api: Api, header: str) -> None:
    reply = api.call("GET", "/v1/user", Authorization=header)
    assert reply.status == 401 and reply.body["Code"] == "UnauthorizedError"


def test_refresh_gives_a_new_full_period_and_keeps_the_old_token(api: Api, alice: str, clock: FakeClock) -> None:
    clock.advance(3 * 86400)
    reply = api.post("/v1/user/refresh-token", token=alice)
    assert reply.status == 200 and reply.headers["cache-control"] == "no-store"
    fresh = reply.body["token"]
    assert fresh != alice
    assert reply.body["expires_at"] == "2033-05-28T03:33:20Z"  # refresh time + 7 days
    clock.advance(4 * 86400)  # the old token's week is over, the new one's is not
    assert api.get("/v1/user", token=alice).status == 401
    assert api.get("/v1/user", token=fresh).status == 200


def test_refresh_with_an_expired_token_gets_401(api: Api, alice: str, clock: FakeClock) -> None:
    clock.advance(WEEK)
    assert api.post("/v1/user/refresh-token", token=alice).status == 401


def test_refresh_refuses_a_body_with_fields(api: Api, alice: str) -> None:
    # The route takes no fields: no body or an empty object is fine, anything else is a 400.
    assert api.call("POST", "/v1/user/refresh-token", token=alice).status == 200
    assert api.post("/v1/user/refresh-token", {}, token=alice).status == 200
    reply = api.post("/v1/user/refresh-token", {"ttl": 999999}, token=alice)
    assert reply.status == 400 and "ttl" in reply.body["Message"]
