"""scripts/encrypt_totp_secrets.py: the one-off that encrypts every TOTP secret still in plain text."""

from __future__ import annotations

import encrypt_totp_secrets
import pyotp
import pytest

from chalicelib.services import Services
from chalicelib.store import kms
from tests.conftest import Api, FakeClock
from tests.functional.test_totp_secrets_at_rest import assert_table_hides, raw_user, set_raw, user_id
from tests.functional.test_two_factor import app_code, enable_two_factor, login_totp, pending_login


def test_it_encrypts_every_plain_text_secret_page_by_page_and_leaves_the_rest(
    api: Api, services: Services, clock: FakeClock
) -> None:
    settings = services.settings
    tokens = {name: api.signup(name).body["token"] for name in ("alice", "bob", "carol", "dave", "erin")}
    ids = {name: user_id(api, token) for name, token in tokens.items()}
    secrets = {name: enable_two_factor(api, tokens[name], clock)[0] for name in ("alice", "bob", "carol")}
    for name in ("alice", "bob"):  # as an earlier version stored them
        set_raw(settings, ids[name], totp_secret={"S": secrets[name]})
    carol_before = raw_user(settings, ids["carol"])["totp_secret"]  # encrypted already
    pending = pyotp.random_base32(32)
    api.post("/v1/user/2fa/setup", token=tokens["dave"])
    set_raw(settings, ids["dave"], pending_totp_secret={"S": pending})  # a plain-text pending setup
    # erin has no two-factor at all.

    # 5 users and 10 claims (username, email) in pages of 3 items: the Scan is followed page by page.
    report = encrypt_totp_secrets.encrypt_all(settings, page_size=3)

    assert (report.scanned, report.encrypted, report.changed_meanwhile) == (5, 3, 0)
    for name in ("alice", "bob"):
        item = raw_user(settings, ids[name])
        assert set(item["totp_secret"]) == {"B"}
        assert kms.decrypt(item["totp_secret"]["B"], ids[name]) == secrets[name].encode()
    assert raw_user(settings, ids["carol"])["totp_secret"] == carol_before
    assert kms.decrypt(raw_user(settings, ids["dave"])["pending_totp_secret"]["B"], ids["dave"]) == pending.encode()
    assert "totp_secret" not in raw_user(settings, ids["erin"])
    for secret in [*secrets.values(), pending]:
        assert_table_hides(settings, secret)
    # Everyone logs in as before, and a second run finds nothing left to do.
    clock.advance(60)
    for name in ("alice", "bob", "carol"):
        assert login_totp(api, pending_login(api, name), code=app_code(secrets[name], clock)).status == 200
    assert api.post("/v1/user/2fa/enable", {"code": app_code(pending, clock)}, token=tokens["dave"]).status == 200
    again = encrypt_totp_secrets.encrypt_all(settings)
    assert (again.scanned, again.encrypted, again.changed_meanwhile) == (5, 0, 0)


def test_a_dry_run_writes_nothing(api: Api, alice: str, services: Services, clock: FakeClock) -> None:
    secret, _ = enable_two_factor(api, alice, clock)
    uid = user_id(api, alice)
    set_raw(services.settings, uid, totp_secret={"S": secret})
    report = encrypt_totp_secrets.encrypt_all(services.settings, dry_run=True)
    assert report.encrypted == 1
    assert raw_user(services.settings, uid)["totp_secret"] == {"S": secret}


def test_a_record_changed_after_it_was_read_is_left_as_it_is_now(
    api: Api, alice: str, services: Services, clock: FakeClock
) -> None:
    settings = services.settings
    secret, _ = enable_two_factor(api, alice, clock)
    uid = user_id(api, alice)
    set_raw(settings, uid, totp_secret={"S": secret})
    [read] = [i for i in encrypt_totp_secrets.plain_secrets(settings) if i.get("user_id") == uid and "totp_secret" in i]
    # Meanwhile alice turns two-factor off and on again with a new secret (the service encrypts it).
    clock.advance(30)
    assert api.post("/v1/user/2fa/disable", {"code": app_code(secret, clock)}, token=alice).status == 200
    clock.advance(30)
    new_secret, _ = enable_two_factor(api, alice, clock)
    now = raw_user(settings, uid)["totp_secret"]

    report = encrypt_totp_secrets.Report()
    encrypt_totp_secrets.encrypt_record(services.two_factor.users, read, report)

    assert (report.encrypted, report.changed_meanwhile) == (0, 1)
    assert raw_user(settings, uid)["totp_secret"] == now  # her new secret, not the old one back
    assert login_totp(api, pending_login(api), code=app_code(new_secret, clock)).status == 200


def test_the_command_line_takes_its_settings_from_the_environment(
    api: Api,
    alice: str,
    services: Services,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = services.settings
    secret, _ = enable_two_factor(api, alice, clock)
    uid = user_id(api, alice)
    set_raw(settings, uid, totp_secret={"S": secret})
    for name, value in {
        "TABLE_PREFIX": settings.table_prefix,
        "DYNAMODB_ENDPOINT": settings.dynamodb_endpoint,
        "KMS_ENDPOINT": settings.kms_endpoint,
        "TOTP_KMS_KEY_ID": settings.totp_kms_key_id,
    }.items():
        monkeypatch.setenv(name, value)
    encrypt_totp_secrets.main([])
    assert "1 secrets encrypted" in capsys.readouterr().out
    assert set(raw_user(settings, uid)["totp_secret"]) == {"B"}
