"""The held-session limit on the two-factor management routes: wrong codes (or recovery codes) sent
with a session token count toward one limit per user; 5 in a row, then 429 for 15 minutes."""

from __future__ import annotations

import pytest

from tests.conftest import Api, FakeClock
from tests.functional.test_two_factor import app_code, enable_two_factor, login_totp, pending_login, wrong_code

LOCKOUT = 900
WRONG_RECOVERY = "ABCD-EFGH-JKMN-PQRS"


def wrong(path: str, secret: str, clock: FakeClock, recovery: bool = False) -> dict[str, str]:
    return {"recovery_code": WRONG_RECOVERY} if recovery else {"code": wrong_code(secret, clock)}


@pytest.mark.parametrize(
    "path, recovery",
    [("/v1/user/2fa/disable", False), ("/v1/user/2fa/disable", True), ("/v1/user/2fa/recovery-codes", False)],
)
def test_the_sixth_wrong_code_is_a_429_even_when_right(
    api: Api, alice: str, clock: FakeClock, path: str, recovery: bool
) -> None:
    secret, _ = enable_two_factor(api, alice, clock)
    for _ in range(5):
        reply = api.post(path, wrong(path, secret, clock, recovery), token=alice)
        assert reply.status == 400 and reply.body["Code"] == "InvalidTotpCodeError"
        clock.advance(1)
    held = api.post(path, {"code": app_code(secret, clock)}, token=alice)
    assert held.status == 429 and held.body["Code"] == "TooManyRequestsError"
    assert LOCKOUT - 10 <= int(held.headers["retry-after"]) <= LOCKOUT
    assert api.get("/v1/user/2fa", token=alice).body["enabled"] is True  # the right code did nothing
    clock.advance(LOCKOUT)
    assert api.post(path, {"code": app_code(secret, clock)}, token=alice).status == 200


def test_wrong_codes_on_enable_count_too(api: Api, alice: str, clock: FakeClock) -> None:
    secret = api.post("/v1/user/2fa/setup", token=alice).body["secret"]
    for _ in range(5):
        assert api.post("/v1/user/2fa/enable", {"code": wrong_code(secret, clock)}, token=alice).status == 400
    held = api.post("/v1/user/2fa/enable", {"code": app_code(secret, clock)}, token=alice)
    assert held.status == 429 and "retry-after" in held.headers


def test_one_limit_across_the_routes(api: Api, alice: str, clock: FakeClock) -> None:
    secret, _ = enable_two_factor(api, alice, clock)
    paths = ["/v1/user/2fa/disable", "/v1/user/2fa/recovery-codes"] * 3
    for path in paths[:5]:
        assert api.post(path, {"code": wrong_code(secret, clock)}, token=alice).status == 400
    assert api.post(paths[5], {"code": app_code(secret, clock)}, token=alice).status == 429


def test_a_right_code_resets_the_count(api: Api, alice: str, clock: FakeClock) -> None:
    secret, _ = enable_two_factor(api, alice, clock)
    path = "/v1/user/2fa/recovery-codes"
    for _ in range(4):
        assert api.post(path, {"code": wrong_code(secret, clock)}, token=alice).status == 400
    assert api.post(path, {"code": app_code(secret, clock)}, token=alice).status == 200
    clock.advance(30)
    for _ in range(4):
        assert api.post(path, {"code": wrong_code(secret, clock)}, token=alice).status == 400
    assert api.post(path, {"code": app_code(secret, clock)}, token=alice).status == 200


def test_the_limit_is_per_user(api: Api, alice: str, clock: FakeClock) -> None:
    secret, _ = enable_two_factor(api, alice, clock)
    bob = api.signup("bob").body["token"]
    bob_secret, _ = enable_two_factor(api, bob, clock)
    for _ in range(5):
        api.post("/v1/user/2fa/recovery-codes", {"code": wrong_code(secret, clock)}, token=alice)
    assert api.post("/v1/user/2fa/recovery-codes", {"code": app_code(bob_secret, clock)}, token=bob).status == 200


def test_the_limit_and_the_login_lockout_are_separate(api: Api, alice: str, clock: FakeClock) -> None:
    secret, _ = enable_two_factor(api, alice, clock)
    for _ in range(5):
        api.post("/v1/user/2fa/recovery-codes", {"code": wrong_code(secret, clock)}, token=alice)
    # Held off managing two-factor, alice still logs in with her second factor...
    assert login_totp(api, pending_login(api), code=app_code(secret, clock)).status == 200
    # ...and the login lockout's failures do not hold her signed-in session off.
    clock.advance(LOCKOUT)
    for _ in range(9):
        login_totp(api, pending_login(api), code=wrong_code(secret, clock))
        clock.advance(1)
    assert api.post("/v1/user/2fa/recovery-codes", {"code": app_code(secret, clock)}, token=alice).status == 200


def test_a_malformed_code_is_a_400_that_costs_nothing(api: Api, alice: str, clock: FakeClock) -> None:
    secret, _ = enable_two_factor(api, alice, clock)
    for _ in range(6):
        reply = api.post("/v1/user/2fa/disable", {"code": "not digits"}, token=alice)
        assert reply.status == 400 and "code" in reply.body["Message"]
    assert api.post("/v1/user/2fa/disable", {"code": app_code(secret, clock)}, token=alice).status == 200
