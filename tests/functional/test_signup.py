"""POST /v1/signup: the rules of the contract, conflicts, and races."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.errors import ConflictError
from chalicelib.services import Services
from chalicelib.services.identity import Origin
from chalicelib.store import dynamo
from tests.conftest import PASSWORD, Api, FakeClock

GOOD = {"username": "alice", "email": "alice@example.com", "password": PASSWORD}


def test_signup_returns_the_user_and_a_working_session_token(api: Api) -> None:
    reply = api.post("/v1/signup", {"username": "Alice_1", "email": "Alice@Example.com", "password": PASSWORD})
    assert reply.status == 201
    user = reply.body["user"]
    assert user["username"] == "Alice_1" and user["email"] == "Alice@Example.com"
    assert user["two_factor_enabled"] is False
    assert user["created_at"] == "2033-05-18T03:33:20Z"
    assert reply.body["expires_at"] == "2033-05-25T03:33:20Z"  # issue time + 7 days
    assert reply.headers["cache-control"] == "no-store"
    me = api.get("/v1/user", token=reply.body["token"])
    assert me.status == 200 and me.body == user


def test_the_password_is_stored_only_as_an_argon2id_hash(api: Api, services: Services) -> None:
    user_id = api.signup("alice").body["user"]["id"]
    stored = services.accounts.users.get(user_id)
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash


BAD_FIELDS = [
    ({**GOOD, "username": "ab"}, "username"),
    ({**GOOD, "username": "a" * 33}, "username"),
    ({**GOOD, "username": "1alice"}, "username"),
    ({**GOOD, "username": "_alice"}, "username"),
    ({**GOOD, "username": "ali ce"}, "username"),
    ({**GOOD, "username": "alice-b"}, "username"),
    ({**GOOD, "username": "alicé"}, "username"),
    ({**GOOD, "username": "Admin"}, "username"),
    ({**GOOD, "username": "ROOT"}, "username"),
    ({**GOOD, "username": "me"}, "username"),
    ({**GOOD, "username": 42}, "username"),
    ({**GOOD, "username": None}, "username"),
    ({**GOOD, "email": "nope"}, "email"),
    ({**GOOD, "email": "a@b"}, "email"),
    ({**GOOD, "email": "@example.com"}, "email"),
    ({**GOOD, "email": "a@@example.com"}, "email"),
    ({**GOOD, "email": "a@b@example.com"}, "email"),
    ({**GOOD, "email": "a@example..com"}, "email"),
    ({**GOOD, "email": "a@.com"}, "email"),
    ({**GOOD, "email": "a b@example.com"}, "email"),
    ({**GOOD, "email": "a" * 243 + "@example.com"}, "email"),
    ({**GOOD, "email": ["a@example.com"]}, "email"),
    ({**GOOD, "password": "short"}, "password"),
    ({**GOOD, "password": "x" * 129}, "password"),
    ({**GOOD, "password": "ALICE@example.com"}, "password"),
    ({**GOOD, "username": "alicealice", "password": "AliceAlice"}, "password"),
    ({**GOOD, "password": 1234567890}, "password"),
    ({"email": "alice@example.com", "password": PASSWORD}, "username"),
    ({"username": "alice", "password": PASSWORD}, "email"),
    ({"username": "alice", "email": "alice@example.com"}, "password"),
    ({**GOOD, "is_admin": True}, "is_admin"),
]


@pytest.mark.parametrize("body, field", BAD_FIELDS)
def test_signup_rejects_bad_fields(api: Api, body: dict, field: str) -> None:
    reply = api.post("/v1/signup", body)
    assert reply.status == 400
    assert reply.body["Code"] == "BadRequestError"
    assert field in reply.body["Message"]


@pytest.mark.parametrize("raw", ["", "not json", "[1, 2]", '"alice"', "null", "{", '{"username": NaN}', "[" * 5000])
def test_bodies_that_are_not_json_objects_are_refused(api: Api, raw: str) -> None:
    reply = api.call("POST", "/v1/signup", raw)
    assert reply.status == 400
    assert reply.body["Code"] == "BadRequestError" and "body" in reply.body["Message"]


def test_a_body_of_another_content_type_gets_415(api: Api) -> None:
    reply = api.call("POST", "/v1/signup", "username=alice", **{"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 415
    assert reply.body["Code"] == "UnsupportedMediaType"


def test_taken_username_ignoring_case_is_a_conflict_naming_it(api: Api) -> None:
    api.signup("alice")
    reply = api.post("/v1/signup", {"username": "ALICE", "email": "other@example.com", "password": PASSWORD})
    assert reply.status == 409 and reply.body["Code"] == "ConflictError"
    assert "username" in reply.body["Message"]


def test_taken_email_ignoring_case_is_a_conflict_naming_it(api: Api) -> None:
    api.signup("alice")
    reply = api.post("/v1/signup", {"username": "bob", "email": "ALICE@example.COM", "password": PASSWORD})
    assert reply.status == 409 and "email" in reply.body["Message"]


def test_a_refused_signup_claims_nothing(api: Api) -> None:
    api.signup("alice")
    assert api.post("/v1/signup", {"username": "alice", "email": "bob@example.com", "password": PASSWORD}).status == 409
    # bob@example.com was not claimed by the failed attempt.
    assert api.post("/v1/signup", {"username": "bob", "email": "bob@example.com", "password": PASSWORD}).status == 201


def test_simultaneous_signups_with_one_username_create_exactly_one_user(services: Services) -> None:
    def attempt(n: int) -> str:
        try:
            services.accounts.signup("racer", f"racer{n}@example.com", PASSWORD, Origin("127.0.0.1"))
            return "created"
        except ConflictError:
            return "conflict"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("created") == 1 and outcomes.count("conflict") == 7
    users_table = services.settings.table_name("users")
    claims = [
        dynamo.from_item(i)
        for p in dynamo.client().get_paginator("scan").paginate(TableName=users_table)
        for i in p["Items"]
    ]
    assert sum(1 for c in claims if c["pk"].startswith("USER#")) == 1
    assert sum(1 for c in claims if c["pk"].startswith("EMAIL#")) == 1


def test_created_at_follows_the_clock(api: Api, clock: FakeClock) -> None:
    clock.advance(3600)
    assert api.signup("alice").body["user"]["created_at"] == "2033-05-18T04:33:20Z"
