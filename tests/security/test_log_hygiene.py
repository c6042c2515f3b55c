"""No secret reaches the logs: a whole user journey with every logger at DEBUG, then a search of
every record for every password, token, key, TOTP secret, code and recovery code it used."""

from __future__ import annotations

import logging
import re

import pyotp
import pytest

from tests.conftest import PASSWORD, Api, FakeClock

# The in-process DynamoDB (moto, and the web server it runs on) stands in for AWS: its own logs
# are the database's, not the app's, and are not what Lambda would write to CloudWatch.
NOT_THE_APP = ("moto", "werkzeug")


class Secrets:
    """Every secret the journey handles, to be looked for in the logs afterwards."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self.codes: set[str] = set()  # short digit strings: matched as whole words

    def add(self, *values: str) -> None:
        self.values.update(v for v in values if v)

    def code(self, value: str) -> str:
        self.codes.add(value)
        return value


def ok(reply: object, status: int = 200) -> None:
    assert getattr(reply, "status", None) == status, reply


def journey(api: Api, clock: FakeClock, seen: Secrets) -> None:
    seen.add(PASSWORD, "a wrong password!")
    alice = api.signup("alice").body
    bob = api.signup("bob").body
    seen.add(alice["token"], bob["token"])

    login = api.login("alice")
    ok(login)
    seen.add(login.body["token"])
    ok(api.login("alice", "a wrong password!"), 401)
    refreshed = api.post("/v1/user/refresh-token", token=alice["token"])
    ok(refreshed)
    seen.add(refreshed.body["token"])
    token = refreshed.body["token"]

    # two-factor: set up, enable, log in with a code and with a recovery code, new codes, disable
    setup = api.post("/v1/user/2fa/setup", token=token)
    ok(setup)
    secret = setup.body["secret"]
    seen.add(secret, setup.body["otpauth_uri"])
    totp = pyotp.TOTP(secret)
    ok(api.post("/v1/user/2fa/enable", {"code": seen.code(wrong_code(totp, clock))}, token=token), 400)
    enabled = api.post("/v1/user/2fa/enable", {"code": seen.code(totp.at(clock()))}, token=token)
    ok(enabled)
    recovery = enabled.body["recovery_codes"]
    seen.add(*recovery)

    clock.advance(30)
    pending = api.login("alice")
    ok(pending)
    assert pending.body["two_factor_required"] is True
    seen.add(pending.body["token"])
    ok(api.post("/v1/login/totp", {"code": seen.code(wrong_code(totp, clock))}, token=pending.body["token"]), 401)
    full = api.post("/v1/login/totp", {"code": seen.code(totp.at(clock()))}, token=pending.body["token"])
    ok(full)
    seen.add(full.body["token"])
    token = full.body["token"]

    pending = api.login("alice")
    seen.add(pending.body["token"])
    by_recovery = api.post("/v1/login/totp", {"recovery_code": recovery[0]}, token=pending.body["token"])
    ok(by_recovery)
    seen.add(by_recovery.body["token"])

    clock.advance(30)
    renewed = api.post("/v1/user/2fa/recovery-codes", {"code": seen.code(totp.at(clock()))}, token=token)
    ok(renewed)
    seen.add(*renewed.body["recovery_codes"])
    ok(api.get("/v1/user/2fa", token=token))
    clock.advance(30)
    ok(api.post("/v1/user/2fa/disable", {"code": seen.code(totp.at(clock()))}, token=token))

    # API keys: create, use, list, delete, and use again
    created = api.post("/v1/user/api-keys", {"name": "ci", "description": "for the log test"}, token=token)
    ok(created, 201)
    key = created.body["key"]
    seen.add(key)
    ok(api.get("/v1/user", token=key))
    ok(api.get("/v1/user/api-keys", token=key))
    ok(api.call("DELETE", f"/v1/user/api-keys/{created.body['id']}", token=token), 204)
    ok(api.get("/v1/user", token=key), 401)
    ok(api.get("/v1/user", token=key[:-1]), 401)

    # a device login: the device code, the user code and the session it gives are secrets
    started = api.post("/v1/device/code", {"client_name": "hygiene"}).body
    seen.add(started["device_code"], started["user_code"], started["user_code"].replace("-", ""))
    seen.add(started["verification_uri_complete"])
    ok(api.post("/v1/device/token", {"device_code": started["device_code"]}), 400)
    ok(api.post("/v1/device/lookup", {"user_code": started["user_code"]}, token=token))
    ok(api.post("/v1/device/approve", {"user_code": started["user_code"].lower()}, token=token))
    clock.advance(5)
    device = api.post("/v1/device/token", {"device_code": started["device_code"]})
    ok(device)
    seen.add(device.body["token"], device.body["device_token"])

    # applications and collaborators
    app = api.post("/v1/applications", {"name": "fleet"}, token=token)
    ok(app, 201)
    app_path = f"/v1/applications/{app.body['id']}"
    ok(api.call("PATCH", app_path, {"description": "devices"}, token=token))
    ok(api.call("PUT", f"{app_path}/collaborators/bob", {"role": "operator"}, token=token), 201)
    ok(api.get(f"{app_path}/collaborators", token=token))
    ok(api.get(app_path, token=bob["token"]))
    ok(api.call("DELETE", f"{app_path}/collaborators/bob", token=token), 204)
    ok(api.call("DELETE", app_path, token=token), 204)


def wrong_code(totp: pyotp.TOTP, clock: FakeClock) -> str:
    near = {totp.at(clock() + step * 30) for step in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def test_no_secret_of_a_whole_journey_reaches_any_log_record(
    api: Api, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Chalice's own logger (app.log) does not propagate to the root: listen to it directly too.
    chalice_log = logging.getLogger("latchkey")
    chalice_log.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG, logger="latchkey")
    seen = Secrets()
    try:
        journey(api, clock, seen)
    finally:
        chalice_log.removeHandler(caplog.handler)
    records = [r for r in caplog.records if not r.name.startswith(NOT_THE_APP)]
    assert any(r.name == "latchkey_events" for r in records)  # the journey was logged
    text = "\n".join(f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in records)
    leaked = sorted(value for value in seen.values if value in text)
    leaked += sorted(code for code in seen.codes if re.search(rf"(?<![0-9A-Za-z]){code}(?![0-9A-Za-z])", text))
    assert leaked == [], f"secrets in the logs: {[v[:12] + '...' for v in leaked]}"
    assert len(seen.values) >= 20
