"""Passwords: the rules wherever one is chosen, changing it while signed in, and resetting a
forgotten one through the outbox's mail; no enumeration at reset, by reply or by time."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

import pytest

from chalicelib.security.common_passwords import common_passwords
from chalicelib.security.opaque import hash_opaque_token, new_opaque_token
from chalicelib.services import Services
from chalicelib.store.tokens import StoredToken
from tests.conftest import PASSWORD, Api, FakeClock, Outbox
from tests.functional.test_two_factor import app_code, enable_two_factor, login_totp

NEW = "a brand new long secret"


def device_token(services: Services, user_id: str, clock: FakeClock) -> str:
    """Store a device token for the user, as the login will once device tokens are on main."""
    token = new_opaque_token()
    services.mail_tokens.store.put(
        StoredToken(hash_opaque_token(token), user_id, "device", clock.now, clock.now + 365 * 86400)
    )
    return hash_opaque_token(token)


def token_exists(services: Services, token_hash: str) -> bool:
    from chalicelib.store import dynamo

    return dynamo.get_many(services.mail_tokens.store.ref(token_hash))[0] is not None


# ---- the rules ----


def test_the_list_holds_ten_thousand_lower_cased_passwords() -> None:
    listed = common_passwords()
    assert len(listed) == 10_000
    assert {"password", "123456", "qwertyuiop", "1234567890"} <= listed
    assert all(p == p.lower() for p in listed)


def test_the_list_is_read_only_when_a_password_is_chosen() -> None:
    import subprocess
    import sys

    probe = (
        "import app\n"
        "from chalicelib.security.common_passwords import common_passwords\n"
        "from chalicelib.services.passwords import check_password\n"
        "print(common_passwords.cache_info().currsize)\n"
        "check_password('a long enough one', 'alice', 'alice@example.com')\n"
        "print(common_passwords.cache_info().currsize)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "1"]


RULES = [
    ("short1234", "10-128 characters"),
    ("x" * 129, "10-128 characters"),
    ("ALICE_1234", "differ from the username"),
    ("Alice_1234@Example.com", "differ from the username and the email"),
    ("QwertyUIOP", "most common passwords"),
    ("1234567890", "most common passwords"),
]


@pytest.mark.parametrize(("password", "why"), RULES)
def test_sign_up_applies_the_rules(api: Api, password: str, why: str) -> None:
    body = {"username": "Alice_1234", "email": "alice_1234@example.com", "password": password}
    reply = api.post("/v1/signup", body)
    assert reply.status == 400 and reply.body["Message"].startswith("password:") and why in reply.body["Message"]


@pytest.mark.parametrize(("password", "why"), RULES)
def test_a_change_and_a_reset_apply_the_rules_to_new_password(
    api: Api, outbox: Outbox, password: str, why: str
) -> None:
    session = api.signup("Alice_1234", "alice_1234@example.com").body["token"]
    change = api.post("/v1/user/password", {"current_password": PASSWORD, "new_password": password}, token=session)
    assert change.status == 400 and change.body["Message"].startswith("new_password:") and why in change.body["Message"]
    api.post("/v1/password-reset", {"email": "alice_1234@example.com"})
    token = outbox.last("alice_1234@example.com").token
    reset = api.post("/v1/password-reset/confirm", {"token": token, "new_password": password})
    assert reset.status == 400 and reset.body["Message"].startswith("new_password:") and why in reset.body["Message"]
    # The token was not spent by the refused password.
    assert api.post("/v1/password-reset/confirm", {"token": token, "new_password": NEW}).status == 204


# ---- changing it ----


def test_a_change_ends_every_other_session_and_device_token(
    api: Api, outbox: Outbox, services: Services, clock: FakeClock
) -> None:
    mine = api.signup("alice").body["token"]
    user_id = api.get("/v1/user", token=mine).body["id"]
    others = [api.login().body["token"] for _ in range(2)]
    device = device_token(services, user_id, clock)
    reply = api.post("/v1/user/password", {"current_password": PASSWORD, "new_password": NEW}, token=mine)
    assert reply.status == 200 and reply.body == {"other_sessions_ended": 2}
    assert api.get("/v1/user", token=mine).status == 200  # the caller's session goes on
    assert all(api.get("/v1/user", token=t).status == 401 for t in others)
    assert not token_exists(services, device)
    assert api.login(password=PASSWORD).status == 401
    assert api.login(password=NEW).status == 200
    events = api.get("/v1/user/events", token=mine).body["events"]
    changed = [e for e in events if e["type"] == "password.changed"]
    assert len(changed) == 1 and changed[0]["via"] == "session" and changed[0]["details"] == {"sessions_ended": 2}
    assert outbox.last("alice@example.com").subject == "Your password was changed"


def test_a_wrong_current_password_counts_toward_the_held_session_limit(api: Api, clock: FakeClock) -> None:
    session = api.signup("alice").body["token"]
    for _ in range(5):
        wrong = api.post(
            "/v1/user/password", {"current_password": "not my password", "new_password": NEW}, token=session
        )
        assert wrong.status == 400 and wrong.body["Code"] == "InvalidPasswordError"
    held = api.post("/v1/user/password", {"current_password": PASSWORD, "new_password": NEW}, token=session)
    assert held.status == 429 and int(held.headers["retry-after"]) > 0
    clock.advance(900)
    assert (
        api.post("/v1/user/password", {"current_password": PASSWORD, "new_password": NEW}, token=session).status == 200
    )


def test_the_same_password_again_is_a_400_naming_new_password(api: Api) -> None:
    session = api.signup("alice").body["token"]
    reply = api.post("/v1/user/password", {"current_password": PASSWORD, "new_password": PASSWORD}, token=session)
    assert reply.status == 400 and reply.body["Message"].startswith("new_password:")


# ---- resetting it ----


def reset_link(api: Api, outbox: Outbox, email: str = "alice@example.com") -> str:
    before = len(outbox.to(email))
    reply = api.post("/v1/password-reset", {"email": email})
    assert reply.status == 202 and reply.body == {}
    mails = outbox.to(email)
    assert len(mails) == before + 1
    assert mails[-1].subject == "Reset your password" and mails[-1].text.count("http") == 1
    return mails[-1].token


def test_a_reset_ends_every_session_lifts_the_lockout_and_keeps_two_factor(
    api: Api, outbox: Outbox, services: Services, clock: FakeClock
) -> None:
    session = api.signup("alice").body["token"]
    user_id = api.get("/v1/user", token=session).body["id"]
    secret, _ = enable_two_factor(api, session, clock)
    device = device_token(services, user_id, clock)
    for _ in range(10):
        api.login(password="wrong password!")
    assert api.login().status == 429  # locked out
    token = reset_link(api, outbox)
    assert api.post("/v1/password-reset/confirm", {"token": token, "new_password": NEW}).status == 204
    assert api.get("/v1/user", token=session).status == 401
    assert not token_exists(services, device)
    assert outbox.last("alice@example.com").subject == "Your password was reset"
    assert api.login(password=PASSWORD).status == 401
    pending = api.login(password=NEW)
    assert pending.status == 200 and pending.body["two_factor_required"] is True  # two-factor stays on
    done = login_totp(api, pending.body["token"], code=app_code(secret, clock))
    assert done.status == 200
    types = [e["type"] for e in api.get("/v1/user/events", token=done.body["token"]).body["events"]]
    assert "password.reset" in types and "password.reset_requested" in types
    reset = next(
        e for e in api.get("/v1/user/events", token=done.body["token"]).body["events"] if e["type"] == "password.reset"
    )
    assert reset["via"] == "email" and reset["actor"] == "alice"
    again = api.post("/v1/password-reset/confirm", {"token": token, "new_password": "yet another secret"})
    assert again.status == 400 and again.body["Message"].startswith("token:")


def test_a_reset_link_lasts_an_hour_and_a_new_request_voids_it(api: Api, outbox: Outbox, clock: FakeClock) -> None:
    api.signup("alice")
    first = reset_link(api, outbox)
    second = reset_link(api, outbox)
    assert api.post("/v1/password-reset/confirm", {"token": first, "new_password": NEW}).status == 400
    clock.advance(3600)
    expired = api.post("/v1/password-reset/confirm", {"token": second, "new_password": NEW})
    assert expired.status == 400 and expired.body["Message"].startswith("token:")
    assert api.login().status == 200


def test_tokens_of_other_kinds_do_not_reset(api: Api, outbox: Outbox) -> None:
    api.signup("alice")
    verification = outbox.last("alice@example.com").token
    reply = api.post("/v1/password-reset/confirm", {"token": verification, "new_password": NEW})
    assert reply.status == 400 and reply.body["Message"].startswith("token:")
    assert api.post("/v1/email/verify", {"token": verification}).status == 200


def test_an_unknown_address_gets_the_same_reply_and_no_mail(api: Api, outbox: Outbox) -> None:
    api.signup("alice")
    before = outbox.all()
    for email in ("nobody@example.com", "not-an-address"):
        reply = api.post("/v1/password-reset", {"email": email})
        assert reply.status == 202 and reply.body == {}
    assert outbox.all() == before


def test_at_most_five_resets_an_hour_per_account(api: Api, outbox: Outbox, clock: FakeClock) -> None:
    session = api.signup("alice").body["token"]
    clock.advance(3600 - clock.now % 3600)  # the start of an hour
    for _ in range(5):
        reset_link(api, outbox)
    reply = api.post("/v1/password-reset", {"email": "alice@example.com"})
    assert reply.status == 202
    assert len([m for m in outbox.to("alice@example.com") if m.subject == "Reset your password"]) == 5
    requested = [
        e for e in api.get("/v1/user/events", token=session).body["events"] if e["type"] == "password.reset_requested"
    ]
    assert len(requested) == 5
    clock.advance(3600)
    reset_link(api, outbox)


def test_at_most_n_resets_an_hour_per_client_address(api: Api, outbox: Outbox, services: Services) -> None:
    services.settings = replace(services.settings, password_resets_per_address_per_hour=3)
    services.passwords.settings = services.settings
    for name in ("alice", "bob", "carol", "dave"):
        api.signup(name)
    for name in ("alice", "nobody", "bob"):
        api.post("/v1/password-reset", {"email": f"{name}@example.com"})
    reply = api.post("/v1/password-reset", {"email": "carol@example.com"})
    assert reply.status == 202
    assert [m.subject for m in outbox.to("carol@example.com")] == ["Confirm your email address"]


def test_known_and_unknown_addresses_take_about_the_same_time(api: Api, services: Services) -> None:
    """Medians of interleaved runs: within 25 ms of each other (the reply floor is 250 ms), robust on
    a loaded 2-core machine. A known address costs more work (a token, an event, a mail) under it."""
    api.signup("alice")
    known, unknown = [], []
    for i in range(12):
        for email, times in (("alice@example.com", known), (f"nobody{i}@example.com", unknown)):
            started = time.perf_counter()
            assert api.post("/v1/password-reset", {"email": email}).status == 202
            times.append(time.perf_counter() - started)
    difference = abs(statistics.median(known) - statistics.median(unknown))
    print(
        f"reset medians: known {statistics.median(known) * 1000:.1f} ms,"
        f" unknown {statistics.median(unknown) * 1000:.1f} ms"
    )
    assert statistics.median(unknown) >= services.passwords.reply_floor
    assert difference < 0.025
