"""Two-factor authentication: setup, enable, login with a code, recovery codes, disable, and their
security properties (replay, races, brute force, which credentials each route takes)."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

import pyotp
import pytest

from app import app
from chalicelib.errors import ApiError
from chalicelib.services import Services
from chalicelib.services.sessions import IssuedToken
from chalicelib.store import dynamo
from tests.conftest import PASSWORD, Api, FakeClock, count_dynamodb_calls

ADDRESS = "192.0.2.1"


def app_code(secret: str, clock: FakeClock, steps: int = 0) -> str:
    """What an authenticator app shows now (or ``steps`` steps from now)."""
    return pyotp.TOTP(secret).at(clock.now + 30 * steps)


def enable_two_factor(api: Api, token: str, clock: FakeClock) -> tuple[str, list[str]]:
    """Set up and enable two-factor for the token's user; returns the secret and recovery codes.

    The clock is then moved to the next step, so the code used to enable is not the current one.
    """
    secret = api.post("/v1/user/2fa/setup", token=token).body["secret"]
    enabled = api.post("/v1/user/2fa/enable", {"code": app_code(secret, clock)}, token=token)
    assert enabled.status == 200, enabled.body
    clock.advance(30)
    return secret, enabled.body["recovery_codes"]


def pending_login(api: Api, username: str = "alice") -> str:
    reply = api.login(username)
    assert reply.status == 200 and reply.body["two_factor_required"] is True, reply.body
    token: str = reply.body["token"]
    return token


def login_totp(api: Api, pending: str, **body: str) -> Any:
    return api.post("/v1/login/totp", body, token=pending)


@pytest.fixture
def two_factor_alice(api: Api, alice: str, clock: FakeClock) -> tuple[str, list[str]]:
    """Alice (the `alice` session token) with two-factor enabled: her secret and recovery codes."""
    return enable_two_factor(api, alice, clock)


def test_the_whole_flow_with_an_authenticator_app(api: Api, alice: str, clock: FakeClock) -> None:
    assert api.get("/v1/user/2fa", token=alice).body == {
        "enabled": False,
        "pending": False,
        "recovery_codes_remaining": 0,
    }
    setup = api.post("/v1/user/2fa/setup", token=alice)
    assert setup.status == 200 and setup.headers["cache-control"] == "no-store"
    secret = setup.body["secret"]
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)  # base32, 160 bits
    assert setup.body["otpauth_uri"] == f"otpauth://totp/Latchkey:alice?secret={secret}&issuer=Latchkey"
    assert setup.body["qr_svg"].startswith("<svg")
    # Pending, not on: a password login still needs no code.
    assert api.get("/v1/user/2fa", token=alice).body == {
        "enabled": False,
        "pending": True,
        "recovery_codes_remaining": 0,
    }
    assert api.login().body["two_factor_required"] is False

    clock.advance(10)
    enabled = api.post("/v1/user/2fa/enable", {"code": app_code(secret, clock)}, token=alice)
    assert enabled.status == 200 and enabled.headers["cache-control"] == "no-store"
    assert enabled.body["enabled"] is True and len(enabled.body["recovery_codes"]) == 10
    status = api.get("/v1/user/2fa", token=alice).body
    assert status == {"enabled": True, "pending": False, "recovery_codes_remaining": 10}
    assert api.get("/v1/user", token=alice).body["two_factor_enabled"] is True

    clock.advance(30)
    login = api.login()
    assert login.status == 200 and login.body["two_factor_required"] is True
    pending = login.body["token"]
    assert login.body["expires_at"] == api_time(clock.now + 300)
    assert api.get("/v1/user", token=pending).status == 401

    clock.advance(20)
    done = login_totp(api, pending, code=app_code(secret, clock))
    assert done.status == 200 and done.headers["cache-control"] == "no-store"
    assert done.body["two_factor_required"] is False
    assert done.body["expires_at"] == api_time(clock.now + 604800)
    assert api.get("/v1/user", token=done.body["token"]).body["username"] == "alice"
    # The pending token was exchanged once; it is gone now.
    clock.advance(30)
    assert login_totp(api, pending, code=app_code(secret, clock)).status == 401


def api_time(seconds: int) -> str:
    from chalicelib.services.views import timestamp

    value = timestamp(seconds)
    assert value is not None
    return value


def test_the_secret_is_never_shown_again(
    api: Api, alice: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    secret = api.post("/v1/user/2fa/setup", token=alice).body["secret"]
    api.post("/v1/user/2fa/enable", {"code": app_code(secret, clock)}, token=alice)
    clock.advance(30)
    seen = [
        api.get("/v1/user/2fa", token=alice),
        api.get("/v1/user", token=alice),
        api.post("/v1/user/2fa/setup", token=alice),  # 409: already on
        login_totp(api, pending_login(api), code=app_code(secret, clock)),
    ]
    assert seen[2].status == 409 and seen[2].body["Code"] == "ConflictError"
    for reply in seen:
        assert secret not in str(reply.body)
    assert secret not in caplog.text


def test_the_table_holds_only_hashes_of_recovery_codes(
    api: Api, alice: str, two_factor_alice: tuple[str, list[str]], services: Services
) -> None:
    _, codes = two_factor_alice
    user_id = api.get("/v1/user", token=alice).body["id"]
    item = dynamo.client().get_item(
        TableName=services.settings.table_name("users"), Key={"pk": {"S": f"USER#{user_id}"}}
    )["Item"]
    stored = set(item["recovery_hashes"]["SS"])
    assert stored == {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    for code in codes:
        assert code not in str(item) and code.replace("-", "") not in str(item)
    assert "pending_totp_secret" not in item


def test_a_setup_lasts_ten_minutes(api: Api, alice: str, clock: FakeClock) -> None:
    secret = api.post("/v1/user/2fa/setup", token=alice).body["secret"]
    clock.advance(600)
    assert api.get("/v1/user/2fa", token=alice).body["pending"] is False
    late = api.post("/v1/user/2fa/enable", {"code": app_code(secret, clock)}, token=alice)
    assert late.status == 409 and late.body["Code"] == "ConflictError"
    assert api.get("/v1/user/2fa", token=alice).body["enabled"] is False


def test_starting_again_replaces_the_setup(api: Api, alice: str, clock: FakeClock) -> None:
    first = api.post("/v1/user/2fa/setup", token=alice).body["secret"]
    second = api.post("/v1/user/2fa/setup", token=alice).body["secret"]
    assert first != second
    stale = api.post("/v1/user/2fa/enable", {"code": app_code(first, clock)}, token=alice)
    if app_code(first, clock) != app_code(second, clock):
        assert stale.status == 400 and stale.body["Code"] == "InvalidTotpCodeError"
    assert api.post("/v1/user/2fa/enable", {"code": app_code(second, clock)}, token=alice).status == 200


def test_enable_needs_the_right_code_and_a_setup(api: Api, alice: str, clock: FakeClock) -> None:
    nothing = api.post("/v1/user/2fa/enable", {"code": "123456"}, token=alice)
    assert nothing.status == 409 and nothing.body["Code"] == "ConflictError"
    secret = api.post("/v1/user/2fa/setup", token=alice).body["secret"]
    wrong = wrong_code(secret, clock)
    reply = api.post("/v1/user/2fa/enable", {"code": wrong}, token=alice)
    assert reply.status == 400 and reply.body["Code"] == "InvalidTotpCodeError"
    assert api.get("/v1/user/2fa", token=alice).body == {
        "enabled": False,
        "pending": True,
        "recovery_codes_remaining": 0,
    }
    assert api.post("/v1/user/2fa/enable", {"code": app_code(secret, clock)}, token=alice).status == 200
    again = api.post("/v1/user/2fa/enable", {"code": app_code(secret, clock, 1)}, token=alice)
    assert again.status == 409


def wrong_code(secret: str, clock: FakeClock) -> str:
    """A code that none of the accepted steps has."""
    accepted = {app_code(secret, clock, s) for s in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in accepted)


@pytest.mark.parametrize("steps, accepted", [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_one_step_either_side_is_accepted_at_login(
    api: Api, two_factor_alice: tuple[str, list[str]], clock: FakeClock, steps: int, accepted: bool
) -> None:
    secret, _ = two_factor_alice
    clock.advance(300)  # well past the step spent by enabling
    code = app_code(secret, clock, steps)
    if not accepted and code in {app_code(secret, clock, s) for s in (-1, 0, 1)}:
        pytest.skip("this code happens to equal an accepted one")
    reply = login_totp(api, pending_login(api), code=code)
    assert reply.status == (200 if accepted else 401)


def test_a_code_works_once(api: Api, two_factor_alice: tuple[str, list[str]], clock: FakeClock) -> None:
    secret, _ = two_factor_alice
    code = app_code(secret, clock)
    assert login_totp(api, pending_login(api), code=code).status == 200
    clock.advance(5)
    replay = login_totp(api, pending_login(api), code=code)
    assert replay.status == 401 and replay.body["Code"] == "InvalidCredentialsError"
    # An earlier step's code is spent too once a later step was accepted.
    assert login_totp(api, pending_login(api), code=app_code(secret, clock, -1)).status == 401
    clock.advance(30)
    assert login_totp(api, pending_login(api), code=app_code(secret, clock)).status == 200


def test_the_code_that_enabled_two_factor_cannot_log_in(api: Api, alice: str, clock: FakeClock) -> None:
    secret = api.post("/v1/user/2fa/setup", token=alice).body["secret"]
    code = app_code(secret, clock)
    assert api.post("/v1/user/2fa/enable", {"code": code}, token=alice).status == 200
    assert login_totp(api, pending_login(api), code=code).status == 401


def race(count: int, attempt: Callable[[int], object]) -> list[object]:
    """Run ``attempt(i)`` in ``count`` threads released at once; each result or raised exception."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = attempt(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_eight_simultaneous_logins_with_one_code_succeed_once(
    api: Api, two_factor_alice: tuple[str, list[str]], clock: FakeClock, services: Services
) -> None:
    secret, _ = two_factor_alice
    pendings = [services.auth.authenticate_pending(pending_login(api)) for _ in range(8)]
    code = app_code(secret, clock)
    results = race(8, lambda i: services.two_factor.complete_login(pendings[i], code, None, ADDRESS))
    assert sum(isinstance(r, IssuedToken) for r in results) == 1, results
    assert {type(r).__name__ for r in results} == {"IssuedToken", "InvalidCredentialsError"}


def test_eight_simultaneous_logins_with_one_recovery_code_succeed_once(
    api: Api, two_factor_alice: tuple[str, list[str]], services: Services
) -> None:
    _, codes = two_factor_alice
    pendings = [services.auth.authenticate_pending(pending_login(api)) for _ in range(8)]
    results = race(8, lambda i: services.two_factor.complete_login(pendings[i], None, codes[0], ADDRESS))
    assert sum(isinstance(r, IssuedToken) for r in results) == 1, results
    assert all(isinstance(r, (IssuedToken, ApiError)) for r in results), results


def test_eight_simultaneous_requests_with_one_pending_token_succeed_once(
    api: Api, two_factor_alice: tuple[str, list[str]], clock: FakeClock, services: Services
) -> None:
    _, codes = two_factor_alice
    pending = services.auth.authenticate_pending(pending_login(api))
    # Different valid codes, so only the single use of the pending token can stop them.
    results = race(8, lambda i: services.two_factor.complete_login(pending, None, codes[i], ADDRESS))
    assert sum(isinstance(r, IssuedToken) for r in results) == 1, results
    assert all(isinstance(r, (IssuedToken, ApiError)) for r in results), results


def test_a_recovery_code_works_once(api: Api, alice: str, two_factor_alice: tuple[str, list[str]]) -> None:
    _, codes = two_factor_alice
    first = login_totp(api, pending_login(api), recovery_code=codes[0])
    assert first.status == 200 and first.body["two_factor_required"] is False
    again = login_totp(api, pending_login(api), recovery_code=codes[0])
    assert again.status == 401 and again.body["Code"] == "InvalidCredentialsError"
    assert api.get("/v1/user/2fa", token=alice).body["recovery_codes_remaining"] == 9
    # Typed carelessly: lower case, spaces instead of dashes.
    sloppy = codes[1].lower().replace("-", " ")
    assert login_totp(api, pending_login(api), recovery_code=sloppy).status == 200


def test_new_recovery_codes_replace_the_old_ones(
    api: Api, alice: str, two_factor_alice: tuple[str, list[str]], clock: FakeClock
) -> None:
    secret, old = two_factor_alice
    wrong = api.post("/v1/user/2fa/recovery-codes", {"code": wrong_code(secret, clock)}, token=alice)
    assert wrong.status == 400 and wrong.body["Code"] == "InvalidTotpCodeError"
    reply = api.post("/v1/user/2fa/recovery-codes", {"code": app_code(secret, clock)}, token=alice)
    assert reply.status == 200 and reply.headers["cache-control"] == "no-store"
    new = reply.body["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert login_totp(api, pending_login(api), recovery_code=old[0]).status == 401
    assert login_totp(api, pending_login(api), recovery_code=new[0]).status == 200
    # The code that replaced them is spent.
    replay = api.post("/v1/user/2fa/recovery-codes", {"code": app_code(secret, clock)}, token=alice)
    assert replay.status == 400 and replay.body["Code"] == "InvalidTotpCodeError"


@pytest.mark.parametrize("proof", ["code", "recovery_code"])
def test_disable_with_a_code_or_a_recovery_code(
    api: Api, alice: str, two_factor_alice: tuple[str, list[str]], clock: FakeClock, proof: str
) -> None:
    secret, codes = two_factor_alice
    good = app_code(secret, clock) if proof == "code" else codes[3]
    bad = wrong_code(secret, clock) if proof == "code" else "0000-0000-0000-0000"
    wrong = api.post("/v1/user/2fa/disable", {proof: bad}, token=alice)
    assert wrong.status == 400 and wrong.body["Code"] == "InvalidTotpCodeError"
    assert api.get("/v1/user/2fa", token=alice).body["enabled"] is True
    reply = api.post("/v1/user/2fa/disable", {proof: good}, token=alice)
    assert reply.status == 200 and reply.body == {"enabled": False}
    assert api.get("/v1/user/2fa", token=alice).body == {
        "enabled": False,
        "pending": False,
        "recovery_codes_remaining": 0,
    }
    login = api.login()
    assert login.body["two_factor_required"] is False
    off = api.post("/v1/user/2fa/disable", {proof: good}, token=alice)
    assert off.status == 409 and off.body["Code"] == "ConflictError"


def test_two_factor_can_be_enabled_again_with_a_new_secret(
    api: Api, alice: str, two_factor_alice: tuple[str, list[str]], clock: FakeClock
) -> None:
    old_secret, old_codes = two_factor_alice
    assert api.post("/v1/user/2fa/disable", {"code": app_code(old_secret, clock)}, token=alice).status == 200
    new_secret, _ = enable_two_factor(api, alice, clock)
    assert new_secret != old_secret
    assert login_totp(api, pending_login(api), recovery_code=old_codes[0]).status == 401
    assert login_totp(api, pending_login(api), code=app_code(new_secret, clock)).status == 200


def test_five_wrong_codes_kill_the_pending_token(
    api: Api, two_factor_alice: tuple[str, list[str]], clock: FakeClock
) -> None:
    secret, _ = two_factor_alice
    pending = pending_login(api)
    for _ in range(5):
        reply = login_totp(api, pending, code=wrong_code(secret, clock))
        assert reply.status == 401 and reply.body["Code"] == "InvalidCredentialsError"
    dead = login_totp(api, pending, code=app_code(secret, clock))
    assert dead.status == 401 and dead.body["Code"] == "UnauthorizedError"
    # The right code was not spent by the dead token: a fresh login can still use it.
    assert login_totp(api, pending_login(api), code=app_code(secret, clock)).status == 200


def test_wrong_codes_count_toward_the_account_lockout(
    api: Api, two_factor_alice: tuple[str, list[str]], clock: FakeClock
) -> None:
    secret, _ = two_factor_alice
    for _ in range(5):
        assert api.login("alice", "wrong password").status == 401
    pending = pending_login(api)  # a right password does not reset the count: the login is not complete
    for _ in range(4):
        assert login_totp(api, pending, code=wrong_code(secret, clock)).status == 401
    assert login_totp(api, pending, recovery_code="0000-0000-0000-0000").status == 401  # the 10th failure
    locked = api.login()
    assert locked.status == 429 and locked.headers["retry-after"] == "900"
    clock.advance(900)
    assert login_totp(api, pending_login(api), code=app_code(secret, clock)).status == 200


def test_a_locked_account_cannot_finish_a_login_either(
    api: Api, two_factor_alice: tuple[str, list[str]], clock: FakeClock
) -> None:
    secret, _ = two_factor_alice
    pending = pending_login(api)
    for _ in range(10):
        api.login("alice", "wrong password")
    locked = login_totp(api, pending, code=app_code(secret, clock))
    assert locked.status == 429 and locked.body["Code"] == "TooManyRequestsError"


def test_a_completed_two_factor_login_resets_the_count(
    api: Api, two_factor_alice: tuple[str, list[str]], clock: FakeClock
) -> None:
    secret, _ = two_factor_alice
    for _ in range(9):
        assert api.login("alice", "wrong password").status == 401
    assert login_totp(api, pending_login(api), code=app_code(secret, clock)).status == 200
    for _ in range(9):
        assert api.login("alice", "wrong password").status == 401
    assert api.login().status == 200


def test_a_pending_token_expires_after_five_minutes(
    api: Api, two_factor_alice: tuple[str, list[str]], clock: FakeClock
) -> None:
    secret, _ = two_factor_alice
    pending = pending_login(api)
    clock.advance(300)
    assert login_totp(api, pending, code=app_code(secret, clock)).status == 401


def authenticated_routes() -> list[tuple[str, str]]:
    """Every route of the app that takes a credential, with a concrete path."""
    from chalicelib.web import DECLARATIONS, NONE

    public = {"/", "/v1/login/totp"} | {path for (path, _), d in DECLARATIONS.items() if d.credential is NONE}
    found = []
    for path, methods in app.routes.items():
        if path in public or path.startswith("/dashboard/"):  # the dashboard's static files
            continue
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        found.extend((method, concrete) for method in methods)
    return sorted(found)


def test_pending_tokens_are_refused_by_every_other_route(
    api: Api, two_factor_alice: tuple[str, list[str]], clock: FakeClock
) -> None:
    pending = pending_login(api)
    routes = authenticated_routes()
    assert ("POST", "/v1/user/2fa/disable") in routes and ("GET", "/v1/user") in routes
    for method, path in routes:
        reply = api.call(method, path, {} if method in ("POST", "PUT", "PATCH") else None, token=pending)
        assert reply.status == 401, (method, path, reply.body)
        assert reply.body["Code"] == "UnauthorizedError"


def test_session_tokens_are_refused_by_the_second_login_step(api: Api, alice: str) -> None:
    reply = login_totp(api, alice, code="123456")
    assert reply.status == 401 and reply.body["Code"] == "UnauthorizedError"


TWO_FACTOR_ROUTES = [
    ("GET", "/v1/user/2fa", None),
    ("POST", "/v1/user/2fa/setup", {}),
    ("POST", "/v1/user/2fa/enable", {"code": "123456"}),
    ("POST", "/v1/user/2fa/disable", {"code": "123456"}),
    ("POST", "/v1/user/2fa/recovery-codes", {"code": "123456"}),
]


@pytest.mark.parametrize("method, path, body", TWO_FACTOR_ROUTES)
def test_two_factor_routes_refuse_api_key_shaped_credentials(
    api: Api, alice: str, method: str, path: str, body: Any
) -> None:
    reply = api.call(method, path, body, token="lk_" + "A" * 38)
    assert reply.status in (401, 403) and reply.body["Code"] in ("UnauthorizedError", "ForbiddenError")


@pytest.mark.parametrize("method, path, body", TWO_FACTOR_ROUTES)
def test_two_factor_routes_forbid_api_keys(api: Api, alice: str, method: str, path: str, body: Any) -> None:
    created = api.post("/v1/user/api-keys", {"name": "ci"}, token=alice)
    if created.status != 201:
        pytest.skip("API keys are not built on this branch")
    reply = api.call(method, path, body, token=created.body["key"])
    assert reply.status == 403 and reply.body["Code"] == "ForbiddenError"


@pytest.mark.parametrize("method, path, body", [*TWO_FACTOR_ROUTES, ("POST", "/v1/login/totp", {"code": "123456"})])
def test_two_factor_routes_need_a_credential(api: Api, method: str, path: str, body: Any) -> None:
    assert api.call(method, path, body).status == 401


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "code"),
        ({"code": "123456", "recovery_code": "ABCD-EFGH-JKMN-PQRS"}, "code"),
        ({"code": 123456}, "code"),
        ({"code": "12345"}, "code"),
        ({"code": "12345a"}, "code"),
        ({"recovery_code": "too short"}, "recovery_code"),
        ({"recovery_code": None}, "recovery_code"),
        ({"code": "123456", "remember": True}, "remember"),
        ([], "body"),
    ],
)
def test_the_second_login_step_rejects_bad_bodies(
    api: Api, two_factor_alice: tuple[str, list[str]], body: Any, field: str
) -> None:
    reply = login_totp_raw(api, pending_login(api), body)
    assert reply.status == 400 and reply.body["Code"] == "BadRequestError"
    assert field in reply.body["Message"]


def login_totp_raw(api: Api, pending: str, body: Any) -> Any:
    return api.call("POST", "/v1/login/totp", body, token=pending)


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/v1/user/2fa/enable", {}, "code"),
        ("/v1/user/2fa/enable", {"recovery_code": "ABCD-EFGH-JKMN-PQRS"}, "recovery_code"),
        ("/v1/user/2fa/setup", {"secret": "JBSWY3DPEHPK3PXP"}, "secret"),
        ("/v1/user/2fa/disable", {}, "code"),
        ("/v1/user/2fa/recovery-codes", {"code": ["123456"]}, "code"),
    ],
)
def test_managing_routes_reject_bad_bodies(api: Api, alice: str, path: str, body: Any, field: str) -> None:
    reply = api.post(path, body, token=alice)
    assert reply.status == 400 and field in reply.body["Message"]


def test_a_bad_body_costs_no_attempt(api: Api, two_factor_alice: tuple[str, list[str]], clock: FakeClock) -> None:
    secret, _ = two_factor_alice
    pending = pending_login(api)
    for _ in range(6):
        assert login_totp(api, pending, code="abc").status == 400
    assert login_totp(api, pending, code=app_code(secret, clock)).status == 200


def test_login_by_password_alone_is_unchanged_for_users_without_two_factor(api: Api, alice: str) -> None:
    reply = api.login("alice", PASSWORD)
    assert reply.status == 200 and reply.body["two_factor_required"] is False


def test_the_second_login_step_costs_four_dynamodb_calls(
    api: Api, two_factor_alice: tuple[str, list[str]], clock: FakeClock
) -> None:
    secret, _ = two_factor_alice
    pending = pending_login(api)
    calls = count_dynamodb_calls()
    assert login_totp(api, pending, code=app_code(secret, clock)).status == 200
    # the token's session and user; the throttle counters; spending the step; exchanging the pending
    # session for the new one in one transaction
    assert calls == ["BatchGetItem", "BatchGetItem", "UpdateItem", "TransactWriteItems"]
