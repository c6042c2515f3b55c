"""Fault injection: every writing route, with its Nth DynamoDB call throttled, failed or dropped (in
turn from one N to the next), and again applied with its reply lost, for every N from 1 to the
number of calls the route makes.

After each: the reply is the route's success, its own 4xx, or ``503`` with ``Retry-After`` (never a
500); the integrity checker (scripts/check_integrity.py) finds nothing; and the same request sent
again is answered (not a 5xx): the service recovered by itself.

A botocore ``before-send`` hook on the app's DynamoDB client injects the fault. Retries inside
boto3 are off for this suite (``dynamo.RETRY_ATTEMPTS = 1`` before the client is made), so the
Nth attempt is the Nth call and one fault is enough to reach the route. moto only, and cheap
password hashing, to stay fast.

Table-driven: a new writing route is one more ``Row`` (how to set it up, the request to send).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import check_integrity
import local_dynamodb
import pyotp
import pytest
import urllib3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from chalicelib.config import Settings
from chalicelib.security import passwords
from chalicelib.services import Services
from chalicelib.store import dynamo
from tests.conftest import PASSWORD, Api, FakeClock

pytestmark = pytest.mark.parametrize("dynamodb_endpoint", ["moto"], indirect=True)
_names = itertools.count()

Context = dict[str, Any]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any = None
    token: str | None = None


@dataclass(frozen=True)
class Row:
    name: str
    setup: Callable[[Api, FakeClock], Context]
    request: Callable[[Context], Request]
    ok: frozenset[int] = field(default_factory=lambda: frozenset({200}))


# --- set-ups -----------------------------------------------------------------------------------


def user(api: Api) -> Context:
    name = f"user{next(_names)}"
    reply = api.signup(name)
    return {"username": name, "token": reply.body["token"], "user_id": reply.body["user"]["id"]}


def with_key(api: Api, _: FakeClock) -> Context:
    ctx = user(api)
    created = api.post("/v1/user/api-keys", {"name": "k"}, token=ctx["token"])
    return ctx | {"key": created.body["key"], "key_id": created.body["id"]}


def with_keys(api: Api, _: FakeClock) -> Context:
    ctx = user(api)
    ids = [api.post("/v1/user/api-keys", {"name": f"k{n}"}, token=ctx["token"]).body["id"] for n in range(3)]
    return ctx | {"key_ids": ids}


def with_app(api: Api, _: FakeClock) -> Context:
    ctx = user(api)
    created = api.post("/v1/applications", {"name": "fleet"}, token=ctx["token"])
    return ctx | {"app_id": created.body["id"], "other": user(api)["username"]}


def with_collaborator(api: Api, clock: FakeClock) -> Context:
    ctx = with_app(api, clock)
    added = api.call(
        "PUT", f"/v1/applications/{ctx['app_id']}/collaborators/{ctx['other']}", {"role": "observer"}, ctx["token"]
    )
    assert added.status == 201, added.body
    return ctx


def with_failures(count: int) -> Callable[[Api, FakeClock], Context]:
    def setup(api: Api, clock: FakeClock) -> Context:
        clock.advance(2 * 3600)  # a fresh hourly window for the address's failures
        ctx = user(api)
        for _ in range(count):
            assert api.login(ctx["username"], "wrong password").status == 401
        return ctx

    return setup


def with_totp_setup(api: Api, clock: FakeClock) -> Context:
    ctx = user(api)
    secret = api.post("/v1/user/2fa/setup", token=ctx["token"]).body["secret"]
    return ctx | {"secret": secret, "code": pyotp.TOTP(secret).at(clock.now)}


def with_two_factor(api: Api, clock: FakeClock) -> Context:
    ctx = with_totp_setup(api, clock)
    enabled = api.post("/v1/user/2fa/enable", {"code": ctx["code"]}, token=ctx["token"])
    assert enabled.status == 200, enabled.body
    clock.advance(30)
    return ctx | {"code": pyotp.TOTP(ctx["secret"]).at(clock.now), "recovery": enabled.body["recovery_codes"]}


def with_pending_login(api: Api, clock: FakeClock) -> Context:
    ctx = with_two_factor(api, clock)
    return ctx | {"pending": api.login(ctx["username"]).body["token"]}


def with_two_sessions(api: Api, clock: FakeClock) -> Context:
    ctx = user(api)
    assert api.login(ctx["username"]).status == 200
    return ctx


def with_everything(api: Api, clock: FakeClock) -> Context:
    """A user with an API key, a second session, and a place on another user's application."""
    owner, member = user(api), user(api)
    app = api.post("/v1/applications", {"name": "fleet"}, token=owner["token"]).body["id"]
    path = f"/v1/applications/{app}/collaborators/{member['username']}"
    assert api.call("PUT", path, {"role": "observer"}, owner["token"]).status == 201
    assert api.post("/v1/user/api-keys", {"name": "k"}, token=member["token"]).status == 201
    assert api.login(member["username"]).status == 200
    return member


def nothing(api: Api, _: FakeClock) -> Context:
    return {"username": f"user{next(_names)}"}


def signed_up(api: Api, _: FakeClock) -> Context:
    return user(api)


def with_device_login(api: Api, _: FakeClock) -> Context:
    ctx = user(api)
    started = api.post("/v1/device/code", {"client_name": "faults"}).body
    return ctx | {"user_code": started["user_code"], "device_code": started["device_code"]}


def with_approved_device_login(api: Api, clock: FakeClock) -> Context:
    ctx = with_device_login(api, clock)
    assert api.post("/v1/device/approve", {"user_code": ctx["user_code"]}, token=ctx["token"]).status == 200
    return ctx


ROWS = [
    Row(
        "sign up",
        nothing,
        lambda c: Request(
            "POST",
            "/v1/signup",
            {"username": c["username"], "email": f"{c['username']}@example.com", "password": PASSWORD},
        ),
        frozenset({201}),
    ),
    Row("log in", signed_up, lambda c: Request("POST", "/v1/login", {"username": c["username"], "password": PASSWORD})),
    Row(
        "failed login",
        with_failures(0),
        lambda c: Request("POST", "/v1/login", {"username": c["username"], "password": "wrong"}),
        frozenset({401}),
    ),
    Row(
        "failed login that locks the account",
        with_failures(9),
        lambda c: Request("POST", "/v1/login", {"username": c["username"], "password": "wrong"}),
        frozenset({401, 429}),
    ),
    Row("refresh the token", signed_up, lambda c: Request("POST", "/v1/user/refresh-token", token=c["token"])),
    Row(
        "create an API key",
        signed_up,
        lambda c: Request("POST", "/v1/user/api-keys", {"name": "k"}, c["token"]),
        frozenset({201}),
    ),
    Row("first use of an API key", with_key, lambda c: Request("GET", "/v1/user", token=c["key"])),
    Row(
        "delete an API key",
        with_key,
        lambda c: Request("DELETE", f"/v1/user/api-keys/{c['key_id']}", token=c["token"]),
        frozenset({204}),
    ),
    Row(
        "batch-delete API keys",
        with_keys,
        lambda c: Request("POST", "/v1/user/api-keys/batch-delete", {"ids": c["key_ids"]}, c["token"]),
    ),
    Row(
        "create an application",
        signed_up,
        lambda c: Request("POST", "/v1/applications", {"name": "fleet"}, c["token"]),
        frozenset({201}),
    ),
    Row(
        "rename an application",
        with_app,
        lambda c: Request("PATCH", f"/v1/applications/{c['app_id']}", {"name": "fleet-2"}, c["token"]),
    ),
    Row(
        "add a collaborator",
        with_app,
        lambda c: Request(
            "PUT", f"/v1/applications/{c['app_id']}/collaborators/{c['other']}", {"role": "observer"}, c["token"]
        ),
        frozenset({201}),
    ),
    Row(
        "change a collaborator's role",
        with_collaborator,
        lambda c: Request(
            "PUT", f"/v1/applications/{c['app_id']}/collaborators/{c['other']}", {"role": "developer"}, c["token"]
        ),
    ),
    Row(
        "remove a collaborator",
        with_collaborator,
        lambda c: Request("DELETE", f"/v1/applications/{c['app_id']}/collaborators/{c['other']}", token=c["token"]),
        frozenset({204}),
    ),
    Row(
        "delete an application with a collaborator",
        with_collaborator,
        lambda c: Request("DELETE", f"/v1/applications/{c['app_id']}", token=c["token"]),
        frozenset({204}),
    ),
    Row(
        "rotate an API key",
        with_key,
        lambda c: Request("POST", f"/v1/user/api-keys/{c['key_id']}/rotate", {"grace_seconds": 60}, c["token"]),
        frozenset({200, 201}),
    ),
    Row(
        "transfer an application",
        with_collaborator,
        lambda c: Request("POST", f"/v1/applications/{c['app_id']}/transfer", {"username": c["other"]}, c["token"]),
    ),
    Row(
        "remove someone from every application",
        with_collaborator,
        lambda c: Request("DELETE", f"/v1/collaborators/{c['other']}", token=c["token"]),
    ),
    Row("log out", signed_up, lambda c: Request("POST", "/v1/user/logout", token=c["token"]), frozenset({204})),
    Row(
        "revoke the other sessions",
        with_two_sessions,
        lambda c: Request("POST", "/v1/user/sessions/revoke-others", token=c["token"]),
    ),
    Row(
        "change the password",
        signed_up,
        lambda c: Request(
            "POST",
            "/v1/user/password",
            {"current_password": PASSWORD, "new_password": "another horse battery"},
            c["token"],
        ),
    ),
    Row(
        "reauthenticate",
        signed_up,
        lambda c: Request("POST", "/v1/user/reauthenticate", {"password": PASSWORD}, c["token"]),
    ),
    Row(
        "delete the account",
        with_everything,
        lambda c: Request("POST", "/v1/user/delete", {"password": PASSWORD}, c["token"]),
        frozenset({204}),
    ),
    Row("begin a device login", nothing, lambda c: Request("POST", "/v1/device/code", {"client_name": "faults"})),
    Row(
        "approve a device login",
        with_device_login,
        lambda c: Request("POST", "/v1/device/approve", {"user_code": c["user_code"]}, c["token"]),
    ),
    Row(
        "a device login's poll receives the session",
        with_approved_device_login,
        lambda c: Request("POST", "/v1/device/token", {"device_code": c["device_code"]}),
    ),
    Row("start two-factor setup", signed_up, lambda c: Request("POST", "/v1/user/2fa/setup", token=c["token"])),
    Row(
        "enable two-factor",
        with_totp_setup,
        lambda c: Request("POST", "/v1/user/2fa/enable", {"code": c["code"]}, c["token"]),
        frozenset({200}),
    ),
    Row(
        "new recovery codes",
        with_two_factor,
        lambda c: Request("POST", "/v1/user/2fa/recovery-codes", {"code": c["code"]}, c["token"]),
        frozenset({200}),
    ),
    Row(
        "log in with a TOTP code",
        with_pending_login,
        lambda c: Request("POST", "/v1/login/totp", {"code": c["code"]}, c["pending"]),
        frozenset({200}),
    ),
    Row(
        "disable two-factor",
        with_two_factor,
        lambda c: Request("POST", "/v1/user/2fa/disable", {"recovery_code": c["recovery"][0]}, c["token"]),
        frozenset({200}),
    ),
]


# --- faults ------------------------------------------------------------------------------------


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def _error_reply(status: int, code: str) -> Callable[[Any], AWSResponse]:
    def reply(request: Any) -> AWSResponse:
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}).encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.0"}, _Body(body))

    return reply


def _drop(request: Any) -> AWSResponse:
    raise ConnectionClosedError(endpoint_url=request.url)


_http = urllib3.PoolManager()


def _lose_reply(request: Any) -> AWSResponse:
    """The call reaches the database and is applied; its reply never arrives."""
    _http.request(request.method, request.url, body=request.body, headers=dict(request.headers.items()))
    raise ReadTimeoutError(endpoint_url=request.url)


# Faults that stop a call before it is applied: to the database they are one and the same, so each
# call N gets one of them in turn (how each maps to a 503 is tests/unit/test_faults.py's), and the
# fault that lets the call apply but loses its reply.
NOT_APPLIED: list[tuple[str, Callable[[Any], AWSResponse]]] = [
    ("throttled", _error_reply(400, "ThrottlingException")),
    ("failed", _error_reply(500, "InternalServerError")),
    ("dropped", _drop),
]
REPLY_LOST = ("reply lost", _lose_reply)


def faults_at(call: int) -> list[tuple[str, Callable[[Any], AWSResponse]]]:
    return [NOT_APPLIED[(call - 1) % len(NOT_APPLIED)], REPLY_LOST]


class Injector:
    """Counts the app's DynamoDB attempts while armed, and answers the ``at``-th with ``fault``."""

    def __init__(self) -> None:
        self.armed = False
        self.attempts = 0
        self.at = 0
        self.fault: Callable[[Any], AWSResponse] | None = None
        dynamo.client().meta.events.register("before-send.dynamodb", self.before_send)

    def arm(self, at: int = 0, fault: Callable[[Any], AWSResponse] | None = None) -> None:
        self.armed, self.attempts, self.at, self.fault = True, 0, at, fault

    def before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        if not self.armed:
            return None
        self.attempts += 1
        if self.attempts == self.at and self.fault is not None:
            return self.fault(request)
        return None


def deleting(settings: Settings) -> list[str]:
    """The user ids of the account deletions begun and not finished (their tombstones)."""
    return list(check_integrity.snapshot(settings).deleting())


def send(api: Api, request: Request) -> Any:
    return api.call(request.method, request.path, request.body, token=request.token)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_every_fault_at_every_call_leaves_a_whole_state(
    row: Row, api: Api, services: Services, settings: Settings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dynamo, "RETRY_ATTEMPTS", 1)
    dynamo.reset_client()
    # Cheap password hashing: this suite's subject is DynamoDB's faults, and it signs up hundreds.
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: cheap)
    injector = Injector()

    def attempt(at: int, fault: Callable[[Any], AWSResponse] | None) -> tuple[Any, Request]:
        injector.armed = False
        # Each case starts from empty tables (the last one's state was checked): the integrity
        # check then reads one case's records, not every case's so far.
        local_dynamodb.empty_tables(settings, check_integrity.scan_client(settings))
        request = row.request(row.setup(api, clock))
        injector.arm(at, fault)
        try:
            return send(api, request), request
        finally:
            injector.armed = False

    reply, _ = attempt(0, None)
    assert reply.status in row.ok, reply.body
    calls = injector.attempts
    assert calls >= 1
    problems: list[str] = []
    for at in range(1, calls + 1):
        for kind, fault in faults_at(at):
            reply, request = attempt(at, fault)
            case = f"{kind} at call {at} of {calls}"
            if reply.status == 503:
                if not reply.headers.get("retry-after", "").isdigit():
                    problems.append(f"{case}: 503 without Retry-After")
            elif reply.status not in row.ok:
                problems.append(f"{case}: {reply.status} {reply.body}")
            findings = check_integrity.check(settings, now=clock())
            problems += [f"{case}: {f.rule}: {f.message}" for f in findings]
            if deleting(settings):
                # An account deletion died half-way: its tombstone awaits the purge, which finishes
                # it; then no record of the user is left (a record without its tombstone is a finding).
                # The purge's deletion part alone: the whole purge queries every shard of every table.
                services.purge.finish_deletions()
                problems += [f"{case}, purged: left {d}" for d in deleting(settings)]
                findings = check_integrity.check(settings, now=clock())
                problems += [f"{case}, purged: {f.rule}: {f.message}" for f in findings]
            again = send(api, request)
            if again.status >= 500:
                problems.append(f"{case}: sent again, {again.status} {again.body}")
            assert problems == []  # the first case that goes wrong, with every problem it left
