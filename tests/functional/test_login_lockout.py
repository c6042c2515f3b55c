"""The login lockout attackers cannot turn on their victims (OWASP's device cookies): per account
and address, per account with doubling waits, per device token; device tokens themselves."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pyotp
import pytest

from chalicelib.errors import InvalidCredentialsError, TooManyRequestsError
from chalicelib.services import Services, use_services
from chalicelib.services.identity import Actor, Origin
from chalicelib.store import dynamo
from tests.conftest import PASSWORD, Api, FakeClock

VICTIM_HOME = "198.51.100.10"
ATTACKER = "203.0.113.66"


def counter(services: Services, key: str) -> dict:
    item = dynamo.client().get_item(
        TableName=services.settings.table_name("throttles"), Key=dynamo.to_item({"key": key}), ConsistentRead=True
    )
    return dynamo.from_item(item.get("Item", {}))


def user_id(api: Api, token: str) -> str:
    found: str = api.get("/v1/user", token=token).body["id"]
    return found


def events_of(api: Api, token: str) -> list[dict]:
    events: list[dict] = api.get("/v1/user/events", token=token).body["events"]
    return events


def hammer(api: Api, username: str, times: int, device_token: str | None = None) -> list[int]:
    return [api.login(username, "wrong password", device_token).status for _ in range(times)]


def test_every_completed_login_returns_a_device_token_and_the_same_one_when_sent(api: Api) -> None:
    signup = api.signup("alice").body
    device = signup["device_token"]
    assert len(device) >= 22 and device != signup["token"]  # at least 128 bits, url-safe
    again = api.login("alice", device_token=device)
    assert again.status == 200 and again.body["device_token"] == device
    fresh = api.login("alice")
    assert fresh.body["device_token"] not in (None, device)


@pytest.mark.parametrize("sent", ["made-up", "x" * 256, "bob's"])
def test_an_unknown_or_other_accounts_device_token_is_ignored(api: Api, sent: str) -> None:
    api.signup("alice")
    bobs = api.signup("bob").body["device_token"]
    token = bobs if sent == "bob's" else sent
    reply = api.login("alice", device_token=token)
    assert reply.status == 200 and reply.body["device_token"] != token
    # ... and judged as if it carried none: it does not escape the account's lockout either.
    api.use_address(ATTACKER)
    hammer(api, "alice", 10, token)
    assert api.login("alice", device_token=token).status == 429


def test_device_tokens_are_stored_hashed_and_live_365_days(api: Api, services: Services, clock: FakeClock) -> None:
    device = api.signup("alice").body["device_token"]
    items = dynamo.client().scan(TableName=services.settings.table_name("tokens"))["Items"]
    stored = [dynamo.from_item(i) for i in items if dynamo.from_item(i)["kind"] == "device"]
    assert len(stored) == 1 and device not in str(stored)
    assert stored[0]["expires_at"] == clock() + 365 * 86400
    clock.advance(365 * 86400 - 1)
    api.use_address(ATTACKER)
    hammer(api, "alice", 10)
    assert api.login("alice", device_token=device).status == 200  # still valid, one second before expiry
    clock.advance(1)
    assert api.login("alice", device_token=device).status == 429  # expired: judged as if none


def test_the_attacker_locks_only_their_own_address_out_while_the_victims_device_gets_in(
    api: Api, clock: FakeClock
) -> None:
    api.use_address(VICTIM_HOME)
    device = api.signup("alice").body["device_token"]
    api.use_address(ATTACKER)
    assert hammer(api, "alice", 10) == [401] * 10
    locked = api.login("alice", PASSWORD)  # even the right password, from the attacker's address
    assert locked.status == 429 and locked.headers["retry-after"] == "900"
    # The victim, with their device token, from home and from the attacker's very address (a shared NAT).
    api.use_address(VICTIM_HOME)
    assert api.login("alice", device_token=device).status == 200
    api.use_address(ATTACKER)
    assert api.login("alice", device_token=device).status == 200
    # Without it, from a third address: the account's wait (2 s after the 10th failure) has passed.
    clock.advance(2)
    api.use_address("192.0.2.1")
    assert api.login("alice").status == 200


def test_the_account_wide_wait_doubles_and_attempts_during_it_do_not_count(
    api: Api, services: Services, clock: FakeClock
) -> None:
    alice = api.signup("alice").body["token"]
    me = user_id(api, alice)
    for n in range(9):  # nine addresses, so that no address lock comes into play
        api.use_address(f"192.0.2.{n}")
        assert hammer(api, "alice", 1) == [401]
    api.use_address("198.51.100.1")
    assert hammer(api, "alice", 1) == [401]  # the 10th: a 2 s wait
    for wait in (2, 4, 8, 16):
        during = api.login("alice", "wrong password")
        assert during.status == 429 and during.headers["retry-after"] == str(wait)
        clock.advance(wait - 1)
        assert api.login("alice", PASSWORD).headers["retry-after"] == "1"  # not lengthened by the tries
        clock.advance(1)
        assert hammer(api, "alice", 1) == [401]  # counted: the next wait is twice as long
    state = counter(services, f"login-account#{me}")
    assert state["count"] == 14 and state["locked_until"] == clock() + 32


def test_the_wait_is_at_most_15_minutes_and_a_completed_login_ends_it(
    api: Api, services: Services, clock: FakeClock
) -> None:
    device = api.signup("alice").body["device_token"]
    for n in range(25):
        clock.advance(900)  # past any wait so far
        api.use_address(f"192.0.2.{n}")
        assert hammer(api, "alice", 1) == [401]
    waiting = api.login("alice")
    assert waiting.status == 429 and waiting.headers["retry-after"] == "900"
    assert api.login("alice", device_token=device).status == 200  # any completed login resets it
    assert api.login("alice").status == 200


def test_a_device_is_locked_by_its_own_failures_only(api: Api, clock: FakeClock) -> None:
    device = api.signup("alice").body["device_token"]
    other = api.login("alice").body["device_token"]
    assert hammer(api, "alice", 10, device) == [401] * 10
    locked = api.login("alice", device_token=device)
    assert locked.status == 429 and locked.headers["retry-after"] == "900"
    # They counted toward no other limit: the same address without it, and another device, get in.
    assert api.login("alice").status == 200
    assert api.login("alice", device_token=other).status == 200
    clock.advance(900)
    assert api.login("alice", device_token=device).status == 200


def test_the_hourly_address_limit_skips_logins_with_a_valid_device_token(services: Services, api: Api) -> None:
    strict = Services(replace(services.settings, login_failures_per_address_per_hour=5), services.clock)
    use_services(strict)
    device = api.signup("alice").body["device_token"]
    for n in range(5):
        api.login(f"nobody{n}", PASSWORD)
    assert api.login("alice").status == 429
    assert api.login("alice", device_token=device).status == 200


def test_a_completed_login_from_an_address_resets_that_addresss_count(api: Api, clock: FakeClock) -> None:
    api.signup("alice")
    assert hammer(api, "alice", 9) == [401] * 9
    assert api.login("alice").status == 200
    assert hammer(api, "alice", 9) == [401] * 9  # the account's count started again too: no wait
    assert api.login("alice").status == 200


def test_two_factor_logins_return_the_device_token_they_began_with(api: Api, clock: FakeClock) -> None:
    signup = api.signup("alice").body
    token, device = signup["token"], signup["device_token"]
    secret = api.post("/v1/user/2fa/setup", token=token).body["secret"]
    totp = pyotp.TOTP(secret)
    assert api.post("/v1/user/2fa/enable", {"code": totp.at(clock())}, token=token).status == 200
    clock.advance(30)
    pending = api.login("alice", device_token=device).body
    assert pending["two_factor_required"] is True and "device_token" not in pending
    done = api.post("/v1/login/totp", {"code": totp.at(clock())}, token=pending["token"])
    assert done.status == 200 and done.body["device_token"] == device
    clock.advance(30)
    pending = api.login("alice").body
    done = api.post("/v1/login/totp", {"code": totp.at(clock())}, token=pending["token"])
    assert done.body["device_token"] not in (None, device)


def test_wrong_codes_count_toward_the_device_or_the_address_as_passwords_do(api: Api, clock: FakeClock) -> None:
    signup = api.signup("alice").body
    token, device = signup["token"], signup["device_token"]
    secret = api.post("/v1/user/2fa/setup", token=token).body["secret"]
    totp = pyotp.TOTP(secret)
    api.post("/v1/user/2fa/enable", {"code": totp.at(clock())}, token=token)
    api.use_address(ATTACKER)
    for _ in range(2):  # the attacker knows the password: 2 pending tokens x 5 wrong codes
        pending = api.login("alice").body["token"]
        for _ in range(5):
            api.post("/v1/login/totp", {"code": "000000"}, token=pending)
    assert api.login("alice").status == 429
    clock.advance(30)
    pending = api.login("alice", device_token=device).body["token"]  # the victim's device still gets in
    assert api.post("/v1/login/totp", {"code": totp.at(clock())}, token=pending).status == 200
    failed = [e for e in events_of(api, token) if e["type"] == "login.failed"]
    assert {e["details"]["reason"] for e in failed} == {"code"} and failed[0]["address"] == ATTACKER


def test_lockouts_and_failures_are_in_the_security_log_for_real_accounts_only(api: Api, clock: FakeClock) -> None:
    token = api.signup("alice").body["token"]
    api.use_address(ATTACKER)
    hammer(api, "alice", 10)
    hammer(api, "nobody", 10)
    events = events_of(api, token)
    failed = [e for e in events if e["type"] == "login.failed"]
    assert len(failed) == 10 and all(e["address"] == ATTACKER for e in failed)
    assert failed[0]["details"]["reason"] == "password" and failed[0]["actor"] is None
    locked = [e for e in events if e["type"] == "login.locked"]
    assert {e["details"]["scope"] for e in locked} == {"address", "account"}
    clock.advance(2)  # the account's wait after the 10th failure
    api.use_address(VICTIM_HOME)
    assert api.login("alice").status == 200
    logins = [e for e in events_of(api, token) if e["type"] == "login"]
    assert logins and logins[0]["actor"] == "alice" and logins[0]["details"] == {"two_factor": False}


def test_an_unknown_name_is_locked_per_address_like_a_real_account(api: Api) -> None:
    api.use_address(ATTACKER)
    assert hammer(api, "nobody", 10) == [401] * 10
    assert api.login("nobody").status == 429
    api.use_address(VICTIM_HOME)
    assert api.login("nobody").status in (401, 429)  # the account-wide wait applies as for anyone


def test_simultaneous_failures_are_each_counted_once(services: Services, api: Api) -> None:
    roomy = Services(replace(services.settings, login_failures_per_account=100), services.clock)
    use_services(roomy)
    api.signup("alice")
    me = api.get("/v1/user", token=api.login("alice").body["token"]).body["id"]

    def wrong(n: int) -> str:
        try:
            roomy.accounts.login("alice", "wrong password", Origin(ATTACKER), Actor(address=ATTACKER))
        except InvalidCredentialsError:
            return "401"
        return "200"

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert list(pool.map(wrong, range(20))) == ["401"] * 20
    assert counter(roomy, f"login-account#{me}")["count"] == 20
    assert counter(roomy, f"login-account-address#{me}#{ATTACKER}")["count"] == 20
    window = roomy.clock() - roomy.clock() % 3600
    assert counter(roomy, f"login-address#{ATTACKER}#{window}")["count"] == 20


def test_simultaneous_failures_at_the_limit_leave_an_exact_lock(services: Services, api: Api) -> None:
    api.signup("alice")
    me = api.get("/v1/user", token=api.login("alice").body["token"]).body["id"]
    now = services.clock()

    def wrong(n: int) -> str:
        address = f"192.0.2.{n}"
        try:
            services.accounts.login("alice", "wrong password", Origin(address), Actor(address=address))
        except InvalidCredentialsError:
            return "401"
        except TooManyRequestsError:
            return "429"
        return "200"

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(wrong, range(20)))
    state = counter(services, f"login-account#{me}")
    # Each counted failure was a 401; from the 10th on, the wait is that of the last one counted.
    assert statuses.count("401") >= state["count"] >= 10 and set(statuses) <= {"401", "429"}
    assert state["locked_until"] == now + min(2 ** (state["count"] - 9), 900)
    window = now - now % 3600
    assert [counter(services, f"login-address#192.0.2.{n}#{window}").get("count", 0) for n in range(20)] == [
        1 if s == "401" else 0 for s in statuses
    ]


def test_a_lift_ends_every_lockout_of_the_account(api: Api, services: Services) -> None:
    token = api.signup("alice").body["token"]
    api.use_address(ATTACKER)
    hammer(api, "alice", 10)
    assert api.login("alice").status == 429
    services.throttle.lift(user_id(api, token))
    assert api.login("alice").status == 200


def test_ending_device_tokens(api: Api, services: Services) -> None:
    signup = api.signup("alice").body
    second = api.login("alice").body["device_token"]
    assert services.devices.end_all(user_id(api, signup["token"])) == 2
    api.use_address(ATTACKER)
    hammer(api, "alice", 10)
    assert api.login("alice", device_token=signup["device_token"]).status == 429
    assert api.login("alice", device_token=second).status == 429
