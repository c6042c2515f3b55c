"""Passkeys: register, list, rename, delete; log in with no username and as the second step after a
password; every bad challenge and response refused with its own Code; the lockout counts them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.services import Services, use_services
from tests.conftest import PASSWORD, Api, FakeClock, count_dynamodb_calls
from tests.functional.test_deletion import every_item, mentioning
from tests.functional.test_two_factor import enable_two_factor, pending_login
from tests.passkey_authenticator import SoftwareAuthenticator, b64, unb64

ORIGIN = "https://id.example.com"
RP_ID = "id.example.com"
ADDRESS_LIMIT = 15


@pytest.fixture
def services(settings: Settings, clock: FakeClock) -> Services:
    """The app served at ORIGIN (its PUBLIC_URL), with a low per-address limit to reach."""
    built = Services(
        dataclasses.replace(settings, public_url=ORIGIN, login_failures_per_address_per_hour=ADDRESS_LIMIT), clock
    )
    use_services(built)
    return built


@pytest.fixture
def authenticator() -> SoftwareAuthenticator:
    return SoftwareAuthenticator(ORIGIN, RP_ID)


def register(api: Api, token: str, authenticator: SoftwareAuthenticator, name: str = "laptop") -> dict[str, Any]:
    options = api.post("/v1/user/passkeys/registration/options", token=token)
    assert options.status == 200, options.body
    credential = authenticator.create(options.body["options"])
    reply = api.post(
        "/v1/user/passkeys",
        {"challenge_id": options.body["challenge_id"], "credential": credential, "name": name},
        token=token,
    )
    assert reply.status == 201, reply.body
    return reply.body


def login_options(api: Api, pending_token: str | None = None) -> dict[str, Any]:
    reply = api.post("/v1/login/passkey/options", {"pending_token": pending_token} if pending_token else {})
    assert reply.status == 200, reply.body
    return reply.body


def passkey_login(api: Api, authenticator: SoftwareAuthenticator, **kwargs: Any) -> Any:
    body = {k: kwargs.pop(k) for k in ("device_token", "pending_token") if k in kwargs}
    options = login_options(api, body.get("pending_token"))
    credential = authenticator.get(options["options"], **kwargs)
    return api.post("/v1/login/passkey", {"challenge_id": options["challenge_id"], "credential": credential} | body)


def event_types(api: Api, token: str) -> list[str]:
    return [e["type"] for e in api.get("/v1/user/events", token=token).body["events"]]


def test_register_list_rename_and_delete(api: Api, alice: str, authenticator: SoftwareAuthenticator) -> None:
    made = register(api, alice, authenticator)
    assert made["id"] == authenticator.id and made["name"] == "laptop"
    assert made["last_used_at"] is None and made["backed_up"] is False
    assert made["transports"] == ["hybrid", "internal"]
    listed = api.get("/v1/user/passkeys", token=alice).body
    assert listed == {"passkeys": [made], "next_cursor": None}

    renamed = api.call("PATCH", f"/v1/user/passkeys/{made['id']}", {"name": "work laptop"}, token=alice)
    assert renamed.status == 200 and renamed.body == made | {"name": "work laptop"}
    assert api.get("/v1/user/passkeys", token=alice).body["passkeys"][0]["name"] == "work laptop"

    assert api.call("DELETE", f"/v1/user/passkeys/{made['id']}", token=alice).status == 204
    assert api.get("/v1/user/passkeys", token=alice).body["passkeys"] == []
    assert passkey_login(api, authenticator).status == 401
    types = event_types(api, alice)
    assert {"passkey.registered", "passkey.renamed", "passkey.deleted"} <= set(types)


def test_registration_options_follow_public_url_and_exclude_the_users_passkeys(
    api: Api, alice: str, authenticator: SoftwareAuthenticator
) -> None:
    first = api.post("/v1/user/passkeys/registration/options", token=alice).body["options"]
    assert first["rp"] == {"id": RP_ID, "name": "Latchkey"}
    handle = unb64(first["user"]["id"])
    assert len(handle) == 64 and b"alice" not in handle
    assert first["excludeCredentials"] == []
    assert first["authenticatorSelection"]["residentKey"] == "preferred"
    assert first["authenticatorSelection"]["userVerification"] == "preferred"
    register(api, alice, authenticator)
    again = api.post("/v1/user/passkeys/registration/options", token=alice).body["options"]
    assert again["user"]["id"] == first["user"]["id"]  # made once per user
    assert [c["id"] for c in again["excludeCredentials"]] == [authenticator.id]
    bob = api.signup("bob").body["token"]
    bobs = api.post("/v1/user/passkeys/registration/options", token=bob).body["options"]
    assert bobs["user"]["id"] != first["user"]["id"] and bobs["excludeCredentials"] == []


def test_a_passkey_logs_in_with_no_username_as_a_password_login_does(
    api: Api, alice: str, authenticator: SoftwareAuthenticator
) -> None:
    register(api, alice, authenticator)
    options = login_options(api)
    assert options["options"]["rpId"] == RP_ID and options["options"]["allowCredentials"] == []
    reply = passkey_login(api, authenticator)
    assert reply.status == 200, reply.body
    password = api.login("alice").body
    assert set(reply.body) == set(password) == {"token", "expires_at", "two_factor_required", "device_token"}
    assert reply.body["two_factor_required"] is False
    assert api.get("/v1/user", token=reply.body["token"]).body["username"] == "alice"
    # Its device token is the account's: sent again, it comes back.
    again = passkey_login(api, authenticator, device_token=reply.body["device_token"])
    assert again.status == 200 and again.body["device_token"] == reply.body["device_token"]
    used = api.get("/v1/user/passkeys", token=alice).body["passkeys"][0]
    assert used["last_used_at"] is not None
    types = event_types(api, alice)
    assert types.count("passkey.used") == 2 and "login" in types


def test_a_passkey_satisfies_two_factor_and_is_a_second_step_after_a_password(
    api: Api, alice: str, clock: FakeClock, authenticator: SoftwareAuthenticator
) -> None:
    register(api, alice, authenticator)
    enable_two_factor(api, alice, clock)
    # Alone: it is both factors.
    alone = passkey_login(api, authenticator)
    assert alone.status == 200 and api.get("/v1/user", token=alone.body["token"]).status == 200
    # After a password: the pending token's user's passkeys are the ones asked for.
    pending = pending_login(api)
    options = login_options(api, pending)
    assert [c["id"] for c in options["options"]["allowCredentials"]] == [authenticator.id]
    credential = authenticator.get(options["options"])
    body = {"challenge_id": options["challenge_id"], "credential": credential, "pending_token": pending}
    done = api.post("/v1/login/passkey", body)
    assert done.status == 200 and done.body["two_factor_required"] is False, done.body
    assert api.get("/v1/user", token=done.body["token"]).status == 200
    # The pending token is spent.
    assert api.post("/v1/login/totp", {"code": "000000"}, token=pending).status == 401


def test_another_users_passkey_is_no_second_step(
    api: Api, alice: str, clock: FakeClock, authenticator: SoftwareAuthenticator
) -> None:
    enable_two_factor(api, alice, clock)
    bob = api.signup("bob").body["token"]
    register(api, bob, authenticator)
    pending = pending_login(api)
    reply = passkey_login(api, authenticator, pending_token=pending)
    assert reply.status == 401 and reply.body["Code"] == "InvalidPasskeyError"
    assert "login.failed" in event_types(api, alice)


def challenge_and(api: Api, authenticator: SoftwareAuthenticator, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    options = login_options(api)
    return options["challenge_id"], authenticator.get(options["options"], **kwargs)


def test_a_login_challenge_works_once_and_for_five_minutes(
    api: Api, alice: str, clock: FakeClock, authenticator: SoftwareAuthenticator
) -> None:
    register(api, alice, authenticator)
    challenge_id, credential = challenge_and(api, authenticator)
    body = {"challenge_id": challenge_id, "credential": credential}
    assert api.post("/v1/login/passkey", body).status == 200
    replayed = api.post("/v1/login/passkey", body)
    assert replayed.status == 400 and replayed.body["Code"] == "PasskeyChallengeError"
    challenge_id, credential = challenge_and(api, authenticator)
    clock.advance(300)
    expired = api.post("/v1/login/passkey", {"challenge_id": challenge_id, "credential": credential})
    assert expired.status == 400 and expired.body["Code"] == "PasskeyChallengeError"
    unknown = api.post("/v1/login/passkey", {"challenge_id": b64(b"x" * 32), "credential": credential})
    assert unknown.status == 400 and unknown.body["Code"] == "PasskeyChallengeError"


def test_a_challenge_is_bound_to_what_asked_for_it(
    api: Api, alice: str, clock: FakeClock, authenticator: SoftwareAuthenticator
) -> None:
    # Registration: another session of the same user may not use it.
    other = api.login("alice").body["token"]
    options = api.post("/v1/user/passkeys/registration/options", token=alice).body
    credential = authenticator.create(options["options"])
    body = {"challenge_id": options["challenge_id"], "credential": credential}
    refused = api.post("/v1/user/passkeys", body, token=other)
    assert refused.status == 400 and refused.body["Code"] == "PasskeyChallengeError"
    # A login challenge is no registration challenge.
    login = login_options(api)
    credential = authenticator.create(login["options"] | {"user": options["options"]["user"]})
    refused = api.post(
        "/v1/user/passkeys", {"challenge_id": login["challenge_id"], "credential": credential}, token=alice
    )
    assert refused.status == 400 and refused.body["Code"] == "PasskeyChallengeError"
    assert api.post("/v1/user/passkeys", body, token=alice).status == 201  # the right session: fine
    replayed = api.post("/v1/user/passkeys", body, token=alice)
    assert replayed.status == 400 and replayed.body["Code"] == "PasskeyChallengeError"
    # A pending login's challenge is not for a login without it, nor the reverse.
    enable_two_factor(api, alice, clock)
    pending = pending_login(api)
    bound = login_options(api, pending)
    credential = authenticator.get(bound["options"])
    refused = api.post("/v1/login/passkey", {"challenge_id": bound["challenge_id"], "credential": credential})
    assert refused.status == 400 and refused.body["Code"] == "PasskeyChallengeError"
    free = login_options(api)
    credential = authenticator.get(free["options"])
    body = {"challenge_id": free["challenge_id"], "credential": credential, "pending_token": pending}
    refused = api.post("/v1/login/passkey", body)
    assert refused.status == 400 and refused.body["Code"] == "PasskeyChallengeError"


@pytest.mark.parametrize(
    "tamper",
    [{"origin": "https://evil.example"}, {"rp_id": "evil.example"}, {"forge": True}, {"flags": 0x04}],
    ids=["wrong origin", "wrong rp id", "bad signature", "user not present"],
)
def test_a_response_that_does_not_verify_is_refused(
    api: Api, alice: str, authenticator: SoftwareAuthenticator, tamper: dict[str, Any]
) -> None:
    register(api, alice, authenticator)
    reply = passkey_login(api, authenticator, **tamper)
    assert reply.status == 401 and reply.body["Code"] == "InvalidPasskeyError", reply.body
    if "forge" not in tamper:
        # Registration refuses the same with a 400.
        options = api.post("/v1/user/passkeys/registration/options", token=alice).body
        other = SoftwareAuthenticator(ORIGIN, RP_ID)
        create_tamper = {k: v for k, v in tamper.items() if k != "flags"} | ({"flags": 0} if "flags" in tamper else {})
        credential = other.create(options["options"], **create_tamper)
        refused = api.post(
            "/v1/user/passkeys", {"challenge_id": options["challenge_id"], "credential": credential}, token=alice
        )
        assert refused.status == 400 and refused.body["Code"] == "InvalidPasskeyError", refused.body
    assert len(api.get("/v1/user/passkeys", token=alice).body["passkeys"]) == 1
    assert passkey_login(api, authenticator).status == 200  # the real one still works


def test_a_counter_going_backwards_is_a_clone_refused_and_logged(
    api: Api, alice: str, authenticator: SoftwareAuthenticator
) -> None:
    register(api, alice, authenticator)
    assert passkey_login(api, authenticator, counter=5).status == 200
    clone = passkey_login(api, authenticator, counter=3)
    assert clone.status == 401 and clone.body["Code"] == "PasskeyCloneError"
    same = passkey_login(api, authenticator, counter=5)
    assert same.status == 401 and same.body["Code"] == "PasskeyCloneError"
    events = api.get("/v1/user/events", token=alice).body["events"]
    detected = [e for e in events if e["type"] == "passkey.clone_detected"]
    assert len(detected) == 2
    assert detected[-1]["details"]["stored_count"] == 5 and detected[-1]["details"]["presented_count"] == 3
    assert passkey_login(api, authenticator, counter=6).status == 200


def test_an_authenticator_without_a_counter_keeps_working(
    api: Api, alice: str, authenticator: SoftwareAuthenticator
) -> None:
    register(api, alice, authenticator)
    for _ in range(2):
        assert passkey_login(api, authenticator, counter=0).status == 200


def test_someone_elses_or_an_unknown_passkey_is_not_found(
    api: Api, alice: str, authenticator: SoftwareAuthenticator
) -> None:
    mine = register(api, alice, authenticator)["id"]
    bob = api.signup("bob").body["token"]
    for method, body in (("PATCH", {"name": "mine now"}), ("DELETE", None)):
        for passkey_id in (mine, "unknown", "A" * 1400):
            reply = api.call(method, f"/v1/user/passkeys/{passkey_id}", body, token=bob)
            assert reply.status == 404 and reply.body["Code"] == "PasskeyNotFoundError", reply.body
    assert api.get("/v1/user/passkeys", token=alice).body["passkeys"][0]["name"] == "laptop"


def test_registering_and_deleting_need_a_recent_authentication(
    api: Api, alice: str, clock: FakeClock, authenticator: SoftwareAuthenticator
) -> None:
    made = register(api, alice, authenticator)
    clock.advance(3600)
    for method, path in (
        ("POST", "/v1/user/passkeys/registration/options"),
        ("DELETE", f"/v1/user/passkeys/{made['id']}"),
    ):
        reply = api.call(method, path, token=alice)
        assert reply.status == 403 and reply.body["Code"] == "ReauthenticationRequiredError"
    renamed = api.call("PATCH", f"/v1/user/passkeys/{made['id']}", {"name": "still fine"}, token=alice)
    assert renamed.status == 200
    assert api.post("/v1/user/reauthenticate", {"password": PASSWORD}, token=alice).status == 200
    assert api.call("DELETE", f"/v1/user/passkeys/{made['id']}", token=alice).status == 204


def test_an_api_key_may_not_manage_passkeys(api: Api, alice: str) -> None:
    key = api.post("/v1/user/api-keys", {"name": "ci"}, token=alice).body["key"]
    for method, path in (("GET", "/v1/user/passkeys"), ("POST", "/v1/user/passkeys/registration/options")):
        assert api.call(method, path, token=key).status == 403


def test_the_same_credential_cannot_be_registered_twice(
    api: Api, alice: str, authenticator: SoftwareAuthenticator
) -> None:
    register(api, alice, authenticator)
    bob = api.signup("bob").body["token"]
    options = api.post("/v1/user/passkeys/registration/options", token=bob).body
    credential = authenticator.create(options["options"])
    reply = api.post(
        "/v1/user/passkeys", {"challenge_id": options["challenge_id"], "credential": credential}, token=bob
    )
    assert reply.status == 409


def test_failed_passkey_logins_count_toward_the_lockout(
    api: Api, alice: str, authenticator: SoftwareAuthenticator
) -> None:
    register(api, alice, authenticator)
    api.use_address("192.0.2.7")
    for _ in range(10):
        assert passkey_login(api, authenticator, forge=True).status == 401
    # The account is locked from this address: the right passkey and the right password alike.
    assert passkey_login(api, authenticator).status == 429
    assert api.login("alice").status == 429
    api.use_address("198.51.100.1")  # elsewhere the account's doubling wait is short
    assert "login.failed" in event_types(api, alice)


def test_unknown_credentials_count_against_the_address(api: Api, alice: str) -> None:
    api.use_address("192.0.2.9")
    for _ in range(ADDRESS_LIMIT):
        stranger = SoftwareAuthenticator(ORIGIN, RP_ID)
        stranger.user_handle = None
        reply = passkey_login(api, stranger)
        assert reply.status == 401 and reply.body["Code"] == "InvalidPasskeyError"
    limited = passkey_login(api, SoftwareAuthenticator(ORIGIN, RP_ID))
    assert limited.status == 429 and "retry-after" in limited.headers
    assert api.login("alice").status == 429


def test_a_password_change_ends_sessions_but_keeps_passkeys(
    api: Api, alice: str, authenticator: SoftwareAuthenticator
) -> None:
    register(api, alice, authenticator)
    other = api.login("alice").body["token"]
    changed = api.post(
        "/v1/user/password", {"current_password": PASSWORD, "new_password": "a brand new secret"}, token=alice
    )
    assert changed.status == 200 and api.get("/v1/user", token=other).status == 401
    assert len(api.get("/v1/user/passkeys", token=alice).body["passkeys"]) == 1
    assert passkey_login(api, authenticator).status == 200


def test_deleting_the_account_deletes_its_passkeys(
    api: Api, alice: str, services: Services, authenticator: SoftwareAuthenticator
) -> None:
    register(api, alice, authenticator)
    api.post("/v1/user/passkeys/registration/options", token=alice)  # a challenge left unanswered
    user_id = api.get("/v1/user", token=alice).body["id"]
    assert api.post("/v1/user/delete", {"password": PASSWORD}, token=alice).status == 204
    assert mentioning(every_item(services), user_id, authenticator.id) == []
    assert passkey_login(api, authenticator).status == 401


@pytest.mark.parametrize(
    "change, field",
    [
        ({"credential": None}, "credential"),
        ({"credential": {"id": "x"}}, "credential.rawId"),
        ({"challenge_id": "not base64url!"}, "challenge_id"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_malformed_login_bodies_are_400s_naming_the_field(
    api: Api, authenticator: SoftwareAuthenticator, change: dict[str, Any], field: str
) -> None:
    options = login_options(api)
    body = {"challenge_id": options["challenge_id"], "credential": authenticator.get(options["options"])} | change
    reply = api.post("/v1/login/passkey", body)
    assert reply.status == 400 and reply.body["Message"].startswith(field + ":"), reply.body


def test_a_passkey_login_costs_at_most_four_round_trips(
    api: Api, alice: str, clock: FakeClock, authenticator: SoftwareAuthenticator
) -> None:
    register(api, alice, authenticator)
    options = login_options(api)
    body = {"challenge_id": options["challenge_id"], "credential": authenticator.get(options["options"])}
    calls = count_dynamodb_calls()
    assert api.post("/v1/login/passkey", body).status == 200
    # The challenge and the credential; the counters and the user; the session's transaction.
    assert calls == ["BatchGetItem", "BatchGetItem", "TransactWriteItems"]
    enable_two_factor(api, alice, clock)
    pending = pending_login(api)
    options = login_options(api, pending)
    body = {"challenge_id": options["challenge_id"], "credential": authenticator.get(options["options"])}
    calls.clear()
    assert api.post("/v1/login/passkey", body | {"pending_token": pending}).status == 200
    assert calls == ["BatchGetItem"] * 3 + ["TransactWriteItems"]  # and first the pending session


def test_cold_start_imports_no_passkey_library() -> None:
    """``import app`` (a cold start) loads neither webauthn nor what it needs: only passkey calls do."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, app; heavy = ('webauthn', 'cbor2', 'cryptography', 'OpenSSL', 'pyasn1');"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
