"""Recent authentication: POST /v1/user/reauthenticate, the (recent) routes' 403, refreshed tokens
keeping their authentication time, and the held-session limit on wrong re-authentications."""

from __future__ import annotations

import jwt
import pyotp
import pytest

from chalicelib.services import Services
from chalicelib.store import dynamo
from tests.conftest import PASSWORD, Api, FakeClock

HOUR = 3600


def stored_session(services: Services, token: str) -> dict:
    sid = jwt.decode(token, options={"verify_signature": False})["sid"]
    item = dynamo.client().get_item(
        TableName=services.settings.table_name("sessions"), Key=dynamo.to_item({"session_id": sid})
    )["Item"]
    return dynamo.from_item(item)


def create_key(api: Api, token: str) -> int:
    return api.post("/v1/user/api-keys", {"name": "ci"}, token=token).status


def test_a_stale_session_must_reauthenticate_for_a_recent_route(api: Api, clock: FakeClock) -> None:
    token = api.signup("alice").body["token"]
    assert create_key(api, token) == 201
    clock.advance(HOUR)
    stale = api.post("/v1/user/api-keys", {"name": "ci"}, token=token)
    assert stale.status == 403 and stale.body["Code"] == "ReauthenticationRequiredError"
    reply = api.post("/v1/user/reauthenticate", {"password": PASSWORD}, token=token)
    assert reply.status == 200 and reply.body == {"authenticated_at": "2033-05-18T04:33:20Z"}
    assert create_key(api, token) == 201
    [event] = [e for e in api.get("/v1/user/events", token=token).body["events"] if e["type"] == "reauthenticated"]
    assert event["actor"] == "alice" and event["via"] == "session"


def test_reauthentication_is_the_calling_sessions_alone(api: Api, clock: FakeClock) -> None:
    first = api.signup("alice").body["token"]
    second = api.login("alice").body["token"]
    clock.advance(HOUR)
    api.post("/v1/user/reauthenticate", {"password": PASSWORD}, token=second)
    assert create_key(api, second) == 201
    assert create_key(api, first) == 403


def test_refreshed_tokens_keep_the_authentication_time(api: Api, services: Services, clock: FakeClock) -> None:
    token = api.signup("alice").body["token"]
    clock.advance(HOUR - 60)
    refreshed = api.post("/v1/user/refresh-token", token=token).body["token"]
    assert (
        stored_session(services, refreshed)["authenticated_at"] == stored_session(services, token)["authenticated_at"]
    )
    listed = api.get("/v1/user/sessions", token=refreshed).body["sessions"]
    assert listed[0]["authenticated_at"] == "2033-05-18T03:33:20Z" != listed[0]["created_at"]
    assert create_key(api, refreshed) == 201
    clock.advance(60)
    assert create_key(api, refreshed) == 403  # refreshing is not authenticating
    api.post("/v1/user/reauthenticate", {"password": PASSWORD}, token=refreshed)
    again = api.post("/v1/user/refresh-token", token=refreshed).body["token"]
    clock.advance(HOUR - 1)
    assert create_key(api, again) == 201


def test_a_wrong_password_is_a_400_and_six_in_a_row_are_held_off(api: Api, clock: FakeClock) -> None:
    token = api.signup("alice").body["token"]
    for _ in range(5):
        wrong = api.post("/v1/user/reauthenticate", {"password": "not the password"}, token=token)
        assert wrong.status == 400 and wrong.body["Code"] == "InvalidPasswordError"
    held = api.post("/v1/user/reauthenticate", {"password": PASSWORD}, token=token)
    assert held.status == 429 and held.headers["retry-after"] == "900"
    assert api.login("alice").status == 200  # a separate limit from the login lockout
    clock.advance(900)
    assert api.post("/v1/user/reauthenticate", {"password": PASSWORD}, token=token).status == 200


def test_a_right_reauthentication_resets_the_held_session_count(api: Api) -> None:
    token = api.signup("alice").body["token"]
    for _ in range(4):
        api.post("/v1/user/reauthenticate", {"password": "not the password"}, token=token)
    assert api.post("/v1/user/reauthenticate", {"password": PASSWORD}, token=token).status == 200
    for _ in range(4):
        assert api.post("/v1/user/reauthenticate", {"password": "nope nope"}, token=token).status == 400
    assert api.post("/v1/user/reauthenticate", {"password": PASSWORD}, token=token).status == 200


@pytest.fixture
def two_factor(api: Api, clock: FakeClock) -> tuple[str, pyotp.TOTP, list[str]]:
    token = api.signup("alice").body["token"]
    totp = pyotp.TOTP(api.post("/v1/user/2fa/setup", token=token).body["secret"])
    codes = api.post("/v1/user/2fa/enable", {"code": totp.at(clock())}, token=token).body["recovery_codes"]
    clock.advance(30)
    return token, totp, codes


def test_with_two_factor_a_code_is_required_and_spent(
    api: Api, clock: FakeClock, two_factor: tuple[str, pyotp.TOTP, list[str]]
) -> None:
    token, totp, codes = two_factor
    missing = api.post("/v1/user/reauthenticate", {"password": PASSWORD}, token=token)
    assert missing.status == 400 and missing.body["Message"].startswith("code:")
    code = totp.at(clock())
    assert api.post("/v1/user/reauthenticate", {"password": PASSWORD, "code": code}, token=token).status == 200
    replay = api.post("/v1/user/reauthenticate", {"password": PASSWORD, "code": code}, token=token)
    assert replay.status == 400 and replay.body["Code"] == "InvalidTotpCodeError"
    body = {"password": PASSWORD, "recovery_code": codes[0]}
    assert api.post("/v1/user/reauthenticate", body, token=token).status == 200
    assert api.post("/v1/user/reauthenticate", body, token=token).status == 400  # a recovery code works once
    assert api.get("/v1/user/2fa", token=token).body["recovery_codes_remaining"] == 9


def test_wrong_codes_count_toward_the_held_session_limit(
    api: Api, clock: FakeClock, two_factor: tuple[str, pyotp.TOTP, list[str]]
) -> None:
    token, totp, _ = two_factor
    wrong_code = "000000" if totp.at(clock()) != "000000" else "111111"
    for _ in range(3):
        body = {"password": "wrong one!", "code": totp.at(clock())}
        assert api.post("/v1/user/reauthenticate", body, token=token).body["Code"] == "InvalidPasswordError"
    for _ in range(2):
        body = {"password": PASSWORD, "code": wrong_code}
        assert api.post("/v1/user/reauthenticate", body, token=token).body["Code"] == "InvalidTotpCodeError"
    right = {"password": PASSWORD, "code": totp.at(clock())}
    assert api.post("/v1/user/reauthenticate", right, token=token).status == 429


def test_wrong_password_spends_no_code(
    api: Api, clock: FakeClock, two_factor: tuple[str, pyotp.TOTP, list[str]]
) -> None:
    token, totp, _ = two_factor
    code = totp.at(clock())
    wrong = api.post("/v1/user/reauthenticate", {"password": "wrong one!", "code": code}, token=token)
    assert wrong.body["Code"] == "InvalidPasswordError"
    assert api.post("/v1/user/reauthenticate", {"password": PASSWORD, "code": code}, token=token).status == 200


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "password"),
        ({"password": PASSWORD, "code": "123456", "recovery_code": "ABCD-EFGH-JKMN-PQRS"}, "code"),
        ({"password": PASSWORD, "otp": "1"}, "otp"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(api: Api, body: dict, field: str) -> None:
    token = api.signup("alice").body["token"]
    reply = api.post("/v1/user/reauthenticate", body, token=token)
    assert reply.status == 400 and field in reply.body["Message"]


def test_an_api_key_may_not_reauthenticate(api: Api) -> None:
    token = api.signup("alice").body["token"]
    key = api.post("/v1/user/api-keys", {"name": "ci"}, token=token).body["key"]
    reply = api.post("/v1/user/reauthenticate", {"password": PASSWORD}, token=key)
    assert reply.status == 403 and reply.body["Code"] == "ForbiddenError"
