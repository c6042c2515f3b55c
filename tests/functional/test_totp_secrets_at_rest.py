"""TOTP secrets at rest: what a copy of the users table holds (no secret, in any form), ciphertexts
bound to their user, secrets stored before encryption, and the KMS calls each route makes."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import pyotp
import pytest

from chalicelib.config import Settings, use_settings
from chalicelib.services import Services
from chalicelib.store import dynamo, kms
from tests.conftest import Api, FakeClock, count_dynamodb_calls, count_kms_calls
from tests.functional.test_two_factor import app_code, enable_two_factor, login_totp, pending_login, wrong_code


def user_id(api: Api, token: str) -> str:
    uid: str = api.get("/v1/user", token=token).body["id"]
    return uid


def raw_user(settings: Settings, uid: str) -> dict[str, Any]:
    """The user's item as DynamoDB holds it (attribute values with their types)."""
    item: dict[str, Any] = dynamo.client().get_item(
        TableName=settings.table_name("users"), Key={"pk": {"S": f"USER#{uid}"}}, ConsistentRead=True
    )["Item"]
    return item


def whole_table(settings: Settings) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in dynamo.client().get_paginator("scan").paginate(TableName=settings.table_name("users")):
        items.extend(page["Items"])
    return items


def _blobs(value: Any) -> list[bytes]:
    """Every string and binary value in an item, as bytes."""
    if isinstance(value, bytes):
        return [value]
    if isinstance(value, str):
        return [value.encode()]
    if isinstance(value, dict):
        return [b for k, v in value.items() for b in (*_blobs(k), *_blobs(v))]
    if isinstance(value, list):
        return [b for v in value for b in _blobs(v)]
    return []


def secret_forms(secret: str) -> list[bytes]:
    """The secret as a person or a program might store it: base32 (any case), its raw bytes, hex, base64."""
    raw = base64.b32decode(secret)
    return [
        secret.encode(),
        secret.lower().encode(),
        raw,
        raw.hex().encode(),
        raw.hex().upper().encode(),
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
        base64.b32encode(raw).rstrip(b"="),
    ]


def assert_table_hides(settings: Settings, secret: str) -> None:
    haystack = [b for item in whole_table(settings) for b in _blobs(item)]
    for form in secret_forms(secret):
        assert not any(form in blob for blob in haystack), form


def set_raw(settings: Settings, uid: str, **values: Any) -> None:
    """Write attributes of the user's item directly, as an old version (or an intruder) would."""
    names = {f"#{k}": k for k in values}
    dynamo.client().update_item(
        TableName=settings.table_name("users"),
        Key={"pk": {"S": f"USER#{uid}"}},
        UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in values),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{k}": v for k, v in values.items()},
    )


# --- what the table holds ----------------------------------------------------------------------------


def test_the_table_holds_no_form_of_the_secret_after_setup_and_after_enable(
    api: Api, alice: str, services: Services, clock: FakeClock
) -> None:
    settings = services.settings
    secret = api.post("/v1/user/2fa/setup", token=alice).body["secret"]
    item = raw_user(settings, user_id(api, alice))
    assert set(item["pending_totp_secret"]) == {"B"}  # a ciphertext, binary
    assert_table_hides(settings, secret)

    assert api.post("/v1/user/2fa/enable", {"code": app_code(secret, clock)}, token=alice).status == 200
    item = raw_user(settings, user_id(api, alice))
    assert set(item["totp_secret"]) == {"B"} and "pending_totp_secret" not in item
    assert_table_hides(settings, secret)
    # It is a KMS ciphertext for alice: KMS gives the secret back for her, and for nobody else.
    ciphertext = item["totp_secret"]["B"]
    assert kms.decrypt(ciphertext, user_id(api, alice)) == secret.encode()
    with pytest.raises(kms.UndecryptableError):
        kms.decrypt(ciphertext, "someone-else")


def test_the_secret_is_encrypted_anew_on_each_setup(api: Api, alice: str, services: Services) -> None:
    api.post("/v1/user/2fa/setup", token=alice)
    first = raw_user(services.settings, user_id(api, alice))["pending_totp_secret"]["B"]
    api.post("/v1/user/2fa/setup", token=alice)
    second = raw_user(services.settings, user_id(api, alice))["pending_totp_secret"]["B"]
    assert first != second


# --- ciphertexts are bound to their user ---------------------------------------------------------------


@pytest.fixture
def swapped(api: Api, alice: str, services: Services, clock: FakeClock) -> dict[str, Any]:
    """Alice and bob with two-factor on, then each one's ciphertext written onto the other's record."""
    bob = api.signup("bob").body["token"]
    alice_secret, alice_codes = enable_two_factor(api, alice, clock)
    bob_secret, _ = enable_two_factor(api, bob, clock)
    ids = {"alice": user_id(api, alice), "bob": user_id(api, bob)}
    ciphertexts = {name: raw_user(services.settings, uid)["totp_secret"] for name, uid in ids.items()}
    set_raw(services.settings, ids["alice"], totp_secret=ciphertexts["bob"])
    set_raw(services.settings, ids["bob"], totp_secret=ciphertexts["alice"])
    clock.advance(60)
    return {"alice": alice, "bob": bob, "secrets": {"alice": alice_secret, "bob": bob_secret}, "codes": alice_codes}


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_a_swapped_ciphertext_fails_the_second_login_step_cleanly(
    api: Api, swapped: dict[str, Any], clock: FakeClock, name: str
) -> None:
    # Neither her own code nor the code of the secret now on her record gets in.
    other = "bob" if name == "alice" else "alice"
    for secret in (swapped["secrets"][name], swapped["secrets"][other]):
        reply = login_totp(api, pending_login(api, name), code=app_code(secret, clock))
        assert reply.status == 401 and reply.body["Code"] == "InvalidCredentialsError", reply.body


@pytest.mark.parametrize("path", ["/v1/user/2fa/disable", "/v1/user/2fa/recovery-codes"])
def test_a_swapped_ciphertext_fails_the_management_routes_cleanly(
    api: Api, swapped: dict[str, Any], clock: FakeClock, path: str
) -> None:
    for name in ("alice", "bob"):
        for secret in swapped["secrets"].values():
            reply = api.post(path, {"code": app_code(secret, clock)}, token=swapped[name])
            assert reply.status == 400 and reply.body["Code"] == "InvalidTotpCodeError", reply.body
    assert api.get("/v1/user/2fa", token=swapped["alice"]).body["enabled"] is True


def test_a_swapped_ciphertext_leaves_recovery_codes_working(
    api: Api, swapped: dict[str, Any], clock: FakeClock
) -> None:
    # Recovery codes are hashes, not secrets: the way back in for a user whose record was tampered with.
    reply = login_totp(api, pending_login(api, "alice"), recovery_code=swapped["codes"][0])
    assert reply.status == 200, reply.body


def test_a_swapped_pending_setup_cannot_be_enabled(api: Api, alice: str, services: Services, clock: FakeClock) -> None:
    bob = api.signup("bob").body["token"]
    alice_secret = api.post("/v1/user/2fa/setup", token=alice).body["secret"]
    bob_secret = api.post("/v1/user/2fa/setup", token=bob).body["secret"]
    a, b = user_id(api, alice), user_id(api, bob)
    pending = {uid: raw_user(services.settings, uid)["pending_totp_secret"] for uid in (a, b)}
    set_raw(services.settings, a, pending_totp_secret=pending[b])
    for secret in (alice_secret, bob_secret):
        reply = api.post("/v1/user/2fa/enable", {"code": app_code(secret, clock)}, token=alice)
        assert reply.status == 400 and reply.body["Code"] == "InvalidTotpCodeError", reply.body
    assert api.get("/v1/user/2fa", token=alice).body["enabled"] is False


# --- secrets stored before encryption -------------------------------------------------------------------


@pytest.fixture
def legacy_alice(api: Api, alice: str, services: Services, clock: FakeClock) -> tuple[str, str, list[str]]:
    """Alice with two-factor on and her secret stored in plain text, as before encryption.

    Returns her user id, her secret and her recovery codes.
    """
    secret, codes = enable_two_factor(api, alice, clock)
    uid = user_id(api, alice)
    set_raw(services.settings, uid, totp_secret={"S": secret})
    assert raw_user(services.settings, uid)["totp_secret"] == {"S": secret}
    return uid, secret, codes


def assert_encrypted(settings: Settings, uid: str, secret: str) -> None:
    item = raw_user(settings, uid)
    assert set(item["totp_secret"]) == {"B"}
    assert kms.decrypt(item["totp_secret"]["B"], uid) == secret.encode()
    assert_table_hides(settings, secret)


def test_a_plain_text_secret_logs_in_and_is_encrypted_by_it(
    api: Api, legacy_alice: tuple[str, str, list[str]], services: Services, clock: FakeClock
) -> None:
    uid, secret, _ = legacy_alice
    assert login_totp(api, pending_login(api), code=app_code(secret, clock)).status == 200
    assert_encrypted(services.settings, uid, secret)
    clock.advance(30)  # and it goes on working, now decrypted by KMS
    assert login_totp(api, pending_login(api), code=app_code(secret, clock)).status == 200


@pytest.mark.parametrize(
    "path, body",
    [
        ("/v1/login/totp", "wrong code"),
        ("/v1/login/totp", "recovery code"),
        ("/v1/user/2fa/recovery-codes", "code"),
        ("/v1/user/2fa/recovery-codes", "wrong code"),
        ("/v1/user/2fa/disable", "wrong code"),
    ],
)
def test_a_plain_text_secret_is_encrypted_by_its_first_use(
    api: Api,
    alice: str,
    legacy_alice: tuple[str, str, list[str]],
    services: Services,
    clock: FakeClock,
    path: str,
    body: str,
) -> None:
    uid, secret, codes = legacy_alice
    sent = {
        "code": {"code": app_code(secret, clock)},
        "wrong code": {"code": wrong_code(secret, clock)},
        "recovery code": {"recovery_code": codes[0]},
    }[body]
    token = pending_login(api) if path == "/v1/login/totp" else alice
    reply = api.post(path, sent, token=token)
    assert reply.status == (200 if body != "wrong code" else 401 if path == "/v1/login/totp" else 400), reply.body
    assert_encrypted(services.settings, uid, secret)
    clock.advance(30)
    assert login_totp(api, pending_login(api), code=app_code(secret, clock)).status == 200


def test_a_plain_text_secret_can_disable_two_factor(
    api: Api, alice: str, legacy_alice: tuple[str, str, list[str]], services: Services, clock: FakeClock
) -> None:
    uid, secret, _ = legacy_alice
    assert api.post("/v1/user/2fa/disable", {"code": app_code(secret, clock)}, token=alice).status == 200
    assert "totp_secret" not in raw_user(services.settings, uid)
    assert_table_hides(services.settings, secret)


def test_a_plain_text_pending_setup_can_be_enabled_and_is_then_encrypted(
    api: Api, alice: str, services: Services, clock: FakeClock
) -> None:
    uid = user_id(api, alice)
    api.post("/v1/user/2fa/setup", token=alice)
    secret = pyotp.random_base32(32)
    set_raw(services.settings, uid, pending_totp_secret={"S": secret})
    wrong = api.post("/v1/user/2fa/enable", {"code": wrong_code(secret, clock)}, token=alice)
    assert wrong.status == 400
    assert set(raw_user(services.settings, uid)["pending_totp_secret"]) == {"B"}  # a wrong code is a use too
    assert api.post("/v1/user/2fa/enable", {"code": app_code(secret, clock)}, token=alice).status == 200
    assert_encrypted(services.settings, uid, secret)


def test_re_encrypting_never_overwrites_a_change_made_meanwhile(
    api: Api, alice: str, legacy_alice: tuple[str, str, list[str]], services: Services
) -> None:
    uid, secret, _ = legacy_alice
    store = services.two_factor.users
    set_raw(services.settings, uid, totp_secret={"S": "SOMETHINGELSE234"})  # changed after it was read
    assert store.encrypt_stored_secret(uid, "totp_secret", secret, kms.encrypt(secret.encode(), uid)) is False
    assert raw_user(services.settings, uid)["totp_secret"] == {"S": "SOMETHINGELSE234"}


# --- the calls KMS adds ----------------------------------------------------------------------------


def test_kms_calls_route_by_route(api: Api, alice: str, clock: FakeClock) -> None:
    kms_calls = count_kms_calls()

    def calls_of(method: str, path: str, body: Any = None, token: str | None = None, status: int = 200) -> list[str]:
        kms_calls.clear()
        reply = api.call(method, path, body, token=token)
        assert reply.status == status, reply.body
        return list(kms_calls)

    assert calls_of("GET", "/v1/user", token=alice) == []
    assert calls_of("GET", "/v1/user/2fa", token=alice) == []
    assert calls_of("POST", "/v1/user/2fa/setup", token=alice) == ["Encrypt"]  # and once more:
    secret_text = api.post("/v1/user/2fa/setup", token=alice).body["secret"]
    secret = pyotp.TOTP(secret_text)
    assert calls_of("POST", "/v1/user/2fa/enable", {"code": secret.at(clock.now)}, token=alice) == ["Decrypt"]
    clock.advance(30)
    codes = api.post("/v1/user/2fa/recovery-codes", {"code": secret.at(clock.now)}, token=alice).body
    clock.advance(30)
    login = {"username": "alice", "password": "correct horse battery"}
    assert calls_of("POST", "/v1/login", login) == []  # a pending login decrypts nothing yet
    pending = api.post("/v1/login", login).body["token"]
    assert calls_of("GET", "/v1/user", token=pending, status=401) == []
    assert calls_of("POST", "/v1/login/totp", {"code": secret.at(clock.now)}, token=pending) == ["Decrypt"]
    pending = api.post("/v1/login", login).body["token"]
    recovery = {"recovery_code": codes["recovery_codes"][0]}
    assert calls_of("POST", "/v1/login/totp", recovery, token=pending) == []  # hashes need no key
    clock.advance(30)
    assert calls_of("POST", "/v1/user/2fa/recovery-codes", {"code": secret.at(clock.now)}, token=alice) == ["Decrypt"]
    clock.advance(30)
    assert calls_of("POST", "/v1/user/2fa/disable", {"code": secret.at(clock.now)}, token=alice) == ["Decrypt"]


def test_the_second_login_step_adds_one_kms_call_and_no_dynamodb_call(api: Api, alice: str, clock: FakeClock) -> None:
    secret, _ = enable_two_factor(api, alice, clock)
    pending = pending_login(api)
    dynamodb_calls, kms_calls = count_dynamodb_calls(), count_kms_calls()
    assert login_totp(api, pending, code=app_code(secret, clock)).status == 200
    assert dynamodb_calls == ["BatchGetItem", "BatchGetItem", "UpdateItem", "TransactWriteItems"]
    assert kms_calls == ["Decrypt"]


# --- KMS unavailable --------------------------------------------------------------------------------


@pytest.fixture
def kms_down(services: Services) -> Any:
    """Call to make KMS unreachable (nothing listens on the discard port); returns a call to bring it back."""

    def down() -> Any:
        use_settings(replace(services.settings, kms_endpoint="http://127.0.0.1:9"))
        kms.reset_client()

        def back() -> None:
            use_settings(services.settings)
            kms.reset_client()

        return back

    return down


def assert_unavailable(reply: Any) -> None:
    assert reply.status == 503 and reply.body["Code"] == "ServiceUnavailableError", reply.body
    assert 1 <= int(reply.headers["retry-after"]) <= 60


def test_kms_unreachable_is_a_503_with_retry_after_and_costs_no_attempt(
    api: Api, alice: str, clock: FakeClock, kms_down: Any
) -> None:
    secret, _ = enable_two_factor(api, alice, clock)
    pending = pending_login(api)
    back = kms_down()
    for _ in range(6):  # more than either limit allows wrong codes
        assert_unavailable(login_totp(api, pending, code=app_code(secret, clock)))
        assert_unavailable(api.post("/v1/user/2fa/recovery-codes", {"code": app_code(secret, clock)}, token=alice))
        assert_unavailable(api.post("/v1/user/2fa/disable", {"code": app_code(secret, clock)}, token=alice))
    assert api.get("/v1/user", token=alice).status == 200  # no other route needs KMS
    back()
    # Nothing was counted as a wrong code: the pending token still works, the session is not held off.
    assert login_totp(api, pending, code=app_code(secret, clock)).status == 200
    clock.advance(30)
    assert api.post("/v1/user/2fa/recovery-codes", {"code": app_code(secret, clock)}, token=alice).status == 200


def test_kms_unreachable_setup_and_enable_are_503s_and_change_nothing(
    api: Api, alice: str, clock: FakeClock, kms_down: Any
) -> None:
    secret = api.post("/v1/user/2fa/setup", token=alice).body["secret"]
    back = kms_down()
    assert_unavailable(api.post("/v1/user/2fa/setup", token=alice))
    assert_unavailable(api.post("/v1/user/2fa/enable", {"code": app_code(secret, clock)}, token=alice))
    assert api.get("/v1/user/2fa", token=alice).body == {
        "enabled": False,
        "pending": True,
        "recovery_codes_remaining": 0,
    }
    back()
    assert api.post("/v1/user/2fa/enable", {"code": app_code(secret, clock)}, token=alice).status == 200


def test_recovery_codes_work_while_kms_is_unreachable(api: Api, alice: str, clock: FakeClock, kms_down: Any) -> None:
    _, codes = enable_two_factor(api, alice, clock)
    kms_down()
    assert login_totp(api, pending_login(api), recovery_code=codes[0]).status == 200
    assert api.post("/v1/user/2fa/disable", {"recovery_code": codes[1]}, token=alice).status == 200


def test_a_plain_text_secret_still_logs_in_while_kms_is_unreachable(
    api: Api, legacy_alice: tuple[str, str, list[str]], services: Services, clock: FakeClock, kms_down: Any
) -> None:
    uid, secret, _ = legacy_alice
    back = kms_down()
    assert login_totp(api, pending_login(api), code=app_code(secret, clock)).status == 200
    assert raw_user(services.settings, uid)["totp_secret"] == {"S": secret}  # encrypting it waits
    back()
    clock.advance(30)
    assert login_totp(api, pending_login(api), code=app_code(secret, clock)).status == 200
    assert_encrypted(services.settings, uid, secret)
