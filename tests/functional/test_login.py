"""POST /v1/login: by username or email, one answer for every failure, lockout and address limit
(device tokens and the account's doubling waits: test_login_lockout.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.services import Services, use_services
from tests.conftest import PASSWORD, Api, FakeClock


@pytest.mark.parametrize("login", ["alice", "ALICE", "alice@example.com", "Alice@Example.COM"])
def test_login_by_username_or_email_in_any_case(api: Api, login: str) -> None:
    api.signup("alice")
    reply = api.login(login)
    assert reply.status == 200
    assert reply.body["two_factor_required"] is False
    assert reply.headers["cache-control"] == "no-store"
    assert api.get("/v1/user", token=reply.body["token"]).body["username"] == "alice"


def test_unknown_user_and_wrong_password_get_the_same_answer(api: Api) -> None:
    api.signup("alice")
    wrong_password = api.login("alice", "not the password")
    unknown_user = api.login("nobody", PASSWORD)
    assert wrong_password.status == unknown_user.status == 401
    assert wrong_password.body == unknown_user.body
    assert wrong_password.body["Code"] == "InvalidCredentialsError"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"username": "alice"}, "password"),
        ({"password": PASSWORD}, "username"),
        ({"username": "alice", "password": PASSWORD, "code": "123456"}, "code"),
        ({"username": ["alice"], "password": PASSWORD}, "username"),
        ({"username": "alice", "password": "x" * 129}, "password"),
    ],
)
def test_login_rejects_bad_fields(api: Api, body: dict, field: str) -> None:
    reply = api.post("/v1/login", body)
    assert reply.status == 400 and field in reply.body["Message"]


def test_ten_failures_lock_the_account_even_against_the_right_password(api: Api, clock: FakeClock) -> None:
    api.signup("alice")
    for _ in range(10):
        assert api.login("alice", "wrong password").status == 401
    locked = api.login("alice", PASSWORD)
    assert locked.status == 429 and locked.body["Code"] == "TooManyRequestsError"
    assert locked.headers["retry-after"] == "900"
    clock.advance(600)
    assert api.login("alice", PASSWORD).headers["retry-after"] == "300"
    clock.advance(300)
    assert api.login("alice", PASSWORD).status == 200


def test_a_completed_login_resets_the_count(api: Api) -> None:
    api.signup("alice")
    for _ in range(9):
        assert api.login("alice", "wrong password").status == 401
    assert api.login("alice", PASSWORD).status == 200
    for _ in range(9):
        assert api.login("alice", "wrong password").status == 401
    assert api.login("alice", PASSWORD).status == 200


def test_after_the_address_lockout_the_accounts_waits_keep_doubling(api: Api, clock: FakeClock) -> None:
    api.signup("alice")
    for _ in range(10):
        api.login("alice", "wrong password")
    clock.advance(900)
    # The address's count starts again, the account's does not: the 11th failure starts a 4 s wait.
    assert api.login("alice", "wrong password").status == 401
    waiting = api.login("alice", PASSWORD)
    assert waiting.status == 429 and waiting.headers["retry-after"] == "4"
    clock.advance(4)
    assert api.login("alice", PASSWORD).status == 200


def test_a_lockout_is_per_account(api: Api) -> None:
    api.signup("alice")
    api.signup("bob")
    for _ in range(10):
        api.login("alice", "wrong password")
    assert api.login("alice", PASSWORD).status == 429
    assert api.login("bob", PASSWORD).status == 200


@pytest.fixture
def strict(services: Services) -> Services:
    """The services with a limit of 5 failed logins per address per hour."""
    tight = Services(replace(services.settings, login_failures_per_address_per_hour=5), services.clock)
    use_services(tight)
    return tight


def test_failures_from_one_address_block_every_login_from_it(strict: Services, api: Api, clock: FakeClock) -> None:
    api.signup("alice")
    clock.now -= clock.now % 3600  # the start of an hour, so the sliding window is easy to follow
    for n in range(5):
        assert api.login(f"nobody{n}", PASSWORD).status == 401
    blocked = api.login("alice", PASSWORD)
    assert blocked.status == 429 and blocked.body["Code"] == "TooManyRequestsError"
    # 5 failures in this window: blocked until the count, decaying through the next hour, is below 5.
    assert int(blocked.headers["retry-after"]) == 3600 + 1
    clock.advance(3600)
    assert api.login("alice", PASSWORD).status == 429
    clock.advance(1)
    assert api.login("alice", PASSWORD).status == 200


def test_the_address_window_slides(strict: Services, api: Api, clock: FakeClock) -> None:
    api.signup("alice")
    clock.now -= clock.now % 3600
    clock.advance(3000)  # 50 minutes into the hour
    for n in range(5):
        assert api.login(f"nobody{n}", PASSWORD).status == 401
    clock.advance(1200)  # 10 minutes into the next: 5 * (50/60) = 4.2 failures still count
    assert api.login("nobody", PASSWORD).status == 401  # 5.2 now
    blocked = api.login("alice", PASSWORD)
    assert blocked.status == 429
    wait = int(blocked.headers["retry-after"])
    assert wait == 121  # at 12 minutes past, 1 + 5 * (48/60) = 5 still counts; a second later it is below
    clock.advance(wait - 1)
    assert api.login("alice", PASSWORD).status == 429
    clock.advance(1)
    assert api.login("alice", PASSWORD).status == 200


def test_an_unknown_name_locks_like_a_real_account(api: Api) -> None:
    api.signup("alice")
    for _ in range(10):
        assert api.login("nobody", "wrong password").status == 401
    locked = api.login("nobody", "wrong password")
    assert locked.status == 429 and locked.headers["retry-after"] == "900"
    assert api.login("alice", PASSWORD).status == 200  # other accounts are not affected
