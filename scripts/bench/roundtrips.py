"""DynamoDB and KMS round trips per request, for every route, by session token and by API key.

Drives the app through Chalice's test client against moto's DynamoDB server in this process,
counting the calls the app's DynamoDB and KMS clients make (botocore before-call hooks; KMS, which
encrypts TOTP secrets, is moto's too). Prints a Markdown table; with --json, the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import local_dynamodb  # noqa: E402

local_dynamodb.use_fake_aws_credentials()

from chalice.test import Client  # noqa: E402

from app import app  # noqa: E402
from chalicelib.config import Settings  # noqa: E402
from chalicelib.services import Services, use_services  # noqa: E402
from chalicelib.store import dynamo, kms  # noqa: E402

PASSWORD = "correct horse battery"
JSON = {"Content-Type": "application/json"}


class Clock:
    def __init__(self) -> None:
        self.now = 2_000_000_000

    def __call__(self) -> int:
        return self.now


@dataclass
class Measured:
    route: str
    credential: str
    status: int
    calls: list[str]
    kms_calls: list[str]


class Bench:
    def __init__(self, client: Client, clock: Clock) -> None:
        self.client = client
        self.clock = clock
        self.calls: list[str] = []
        self.kms_calls: list[str] = []
        dynamo.client().meta.events.register("before-call.dynamodb", self._count)
        kms.client().meta.events.register("before-call.kms", self._count_kms)
        self.results: list[Measured] = []

    def _count(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def _count_kms(self, model: Any, **_: Any) -> None:
        self.kms_calls.append(model.name)

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = dict(JSON)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        raw = json.dumps(body) if body is not None else b""
        reply = self.client.http.request(method, path, headers=headers, body=raw)
        return reply.status_code, (json.loads(reply.body) if reply.body else None)

    def measure(
        self, label: str, credential: str, method: str, path: str, body: Any = None, token: str | None = None
    ) -> Any:
        self.calls.clear()
        self.kms_calls.clear()
        status, reply = self.call(method, path, body, token)
        self.results.append(Measured(label, credential, status, list(self.calls), list(self.kms_calls)))
        return reply


def journey(b: Bench) -> None:
    import pyotp

    m = b.measure
    m("GET /v1/health", "none", "GET", "/v1/health")
    m(
        "POST /v1/signup",
        "none",
        "POST",
        "/v1/signup",
        {"username": "alice", "email": "alice@example.com", "password": PASSWORD},
    )
    b.call("POST", "/v1/signup", {"username": "bob", "email": "bob@example.com", "password": PASSWORD})
    login = {"username": "alice", "password": PASSWORD}
    first = m("POST /v1/login (no device token)", "none", "POST", "/v1/login", login)
    token, device = first["token"], first["device_token"]
    m("POST /v1/login (device token)", "none", "POST", "/v1/login", login | {"device_token": device})
    m("POST /v1/login (wrong password)", "none", "POST", "/v1/login", login | {"password": "wrong password"})
    m(
        "POST /v1/login (wrong password, device token)",
        "none",
        "POST",
        "/v1/login",
        login | {"password": "wrong password", "device_token": device},
    )
    m("GET /v1/user", "session", "GET", "/v1/user", token=token)
    b.clock.now += 300  # last_used_at is 5 minutes old: this request records a use
    m("GET /v1/user (5 minutes later)", "session", "GET", "/v1/user", token=token)
    m("POST /v1/user/refresh-token", "session", "POST", "/v1/user/refresh-token", token=token)
    m("GET /v1/user/sessions", "session", "GET", "/v1/user/sessions", token=token)
    others = [b.call("POST", "/v1/login", login)[1]["token"] for _ in range(3)]
    listed = b.call("GET", "/v1/user/sessions", token=others[0])[1]["sessions"]
    current = next(s["id"] for s in listed if s["current"])
    m("DELETE /v1/user/sessions/{id}", "session", "DELETE", f"/v1/user/sessions/{current}", token=token)
    m("POST /v1/user/logout", "session", "POST", "/v1/user/logout", token=others[1])
    m(
        "POST /v1/user/sessions/revoke-others (4 others)",
        "session",
        "POST",
        "/v1/user/sessions/revoke-others",
        token=token,
    )
    m("POST /v1/user/reauthenticate", "session", "POST", "/v1/user/reauthenticate", {"password": PASSWORD}, token=token)

    created = m("POST /v1/user/api-keys", "session", "POST", "/v1/user/api-keys", {"name": "ci"}, token=token)
    key = (created or {}).get("key")
    if key:
        m("GET /v1/user", "api key", "GET", "/v1/user", token=key)
        b.clock.now += 1  # within 5 minutes: no last_used_at write
        m("GET /v1/user (key used again)", "api key", "GET", "/v1/user", token=key)
        m("GET /v1/user/api-keys", "session", "GET", "/v1/user/api-keys", token=token)
        m("GET /v1/user/api-keys", "api key", "GET", "/v1/user/api-keys", token=key)
        spare = b.call("POST", "/v1/user/api-keys", {"name": "spare"}, token)[1]
        m("DELETE /v1/user/api-keys/{id}", "session", "DELETE", f"/v1/user/api-keys/{spare['id']}", token=token)
        spares = [b.call("POST", "/v1/user/api-keys", {"name": f"s{n}"}, token)[1]["id"] for n in range(3)]
        m(
            "POST /v1/user/api-keys/batch-delete (3 ids)",
            "session",
            "POST",
            "/v1/user/api-keys/batch-delete",
            {"ids": spares},
            token=token,
        )

    app_reply = m("POST /v1/applications", "session", "POST", "/v1/applications", {"name": "fleet"}, token=token)
    if app_reply and "id" in app_reply:
        app_id = app_reply["id"]
        b.call("POST", "/v1/applications", {"name": "fleet2"}, token)
        m("GET /v1/applications", "session", "GET", "/v1/applications", token=token)
        m("GET /v1/applications/{id}", "session", "GET", f"/v1/applications/{app_id}", token=token)
        if key:
            m("GET /v1/applications", "api key", "GET", "/v1/applications", token=key)
            m("GET /v1/applications/{id}", "api key", "GET", f"/v1/applications/{app_id}", token=key)
        m(
            "PATCH /v1/applications/{id}",
            "session",
            "PATCH",
            f"/v1/applications/{app_id}",
            {"name": "fleet-1"},
            token=token,
        )
        m(
            "PUT .../collaborators/{username}",
            "session",
            "PUT",
            f"/v1/applications/{app_id}/collaborators/bob",
            {"role": "observer"},
            token=token,
        )
        m("GET .../collaborators", "session", "GET", f"/v1/applications/{app_id}/collaborators", token=token)
        m(
            "DELETE .../collaborators/{username}",
            "session",
            "DELETE",
            f"/v1/applications/{app_id}/collaborators/bob",
            token=token,
        )
        m("DELETE /v1/applications/{id}", "session", "DELETE", f"/v1/applications/{app_id}", token=token)

    passkeys(b, token)
    device_login(b, token)

    status = m("GET /v1/user/2fa", "session", "GET", "/v1/user/2fa", token=token)
    setup = m("POST /v1/user/2fa/setup", "session", "POST", "/v1/user/2fa/setup", token=token)
    if status is not None and setup and "secret" in setup:
        totp = pyotp.TOTP(setup["secret"])
        m(
            "POST /v1/user/2fa/enable",
            "session",
            "POST",
            "/v1/user/2fa/enable",
            {"code": totp.at(b.clock.now)},
            token=token,
        )
        b.clock.now += 30
        codes = m(
            "POST /v1/user/2fa/recovery-codes",
            "session",
            "POST",
            "/v1/user/2fa/recovery-codes",
            {"code": totp.at(b.clock.now)},
            token=token,
        )
        b.clock.now += 30
        pending = b.call("POST", "/v1/login", {"username": "alice", "password": PASSWORD})[1]["token"]
        m("POST /v1/login/totp", "pending", "POST", "/v1/login/totp", {"code": totp.at(b.clock.now)}, token=pending)
        pending = b.call("POST", "/v1/login", {"username": "alice", "password": PASSWORD})[1]["token"]
        m(
            "POST /v1/login/totp (recovery code)",
            "pending",
            "POST",
            "/v1/login/totp",
            {"recovery_code": codes["recovery_codes"][1]},
            token=pending,
        )
        b.clock.now += 30
        m(
            "POST /v1/user/2fa/disable",
            "session",
            "POST",
            "/v1/user/2fa/disable",
            {"recovery_code": codes["recovery_codes"][0]},
            token=token,
        )


def passkeys(b: Bench, token: str) -> None:
    """Register a passkey (a software authenticator: tests/passkey_authenticator.py) and log in with it."""
    from chalicelib.services import get_services
    from tests.passkey_authenticator import SoftwareAuthenticator

    m = b.measure
    service = get_services().passkeys
    authenticator = SoftwareAuthenticator(service.origin, service.rp_id)
    options = m(
        "POST /v1/user/passkeys/registration/options",
        "session",
        "POST",
        "/v1/user/passkeys/registration/options",
        token=token,
    )
    if not options or "options" not in options:
        return
    body = {"challenge_id": options["challenge_id"], "credential": authenticator.create(options["options"])}
    created = m(
        "POST /v1/user/passkeys", "session", "POST", "/v1/user/passkeys", body | {"name": "laptop"}, token=token
    )
    m("GET /v1/user/passkeys", "session", "GET", "/v1/user/passkeys", token=token)
    options = m("POST /v1/login/passkey/options", "none", "POST", "/v1/login/passkey/options", {})
    body = {"challenge_id": options["challenge_id"], "credential": authenticator.get(options["options"])}
    login = m("POST /v1/login/passkey (no username)", "none", "POST", "/v1/login/passkey", body)
    options = b.call("POST", "/v1/login/passkey/options", {})[1]
    body = {"challenge_id": options["challenge_id"], "credential": authenticator.get(options["options"])}
    m(
        "POST /v1/login/passkey (device token)",
        "none",
        "POST",
        "/v1/login/passkey",
        body | {"device_token": login["device_token"]},
    )
    if created and "id" in created:
        path = f"/v1/user/passkeys/{created['id']}"
        m("PATCH /v1/user/passkeys/{id}", "session", "PATCH", path, {"name": "work laptop"}, token=token)
        m("DELETE /v1/user/passkeys/{id}", "session", "DELETE", path, token=token)


def device_login(b: Bench, token: str) -> None:
    """A device login (RFC 8628): begin, a pending poll, look up, approve, the poll that gets the session."""
    m = b.measure
    started = m("POST /v1/device/code", "none", "POST", "/v1/device/code", {"client_name": "bench"})
    poll = {"device_code": started["device_code"]}
    m("POST /v1/device/token (pending)", "none", "POST", "/v1/device/token", poll)
    code = {"user_code": started["user_code"]}
    m("POST /v1/device/lookup", "session", "POST", "/v1/device/lookup", code, token=token)
    m("POST /v1/device/approve", "session", "POST", "/v1/device/approve", code, token=token)
    b.clock.now += 5
    m("POST /v1/device/token (approved)", "none", "POST", "/v1/device/token", poll)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rss", action="store_true", help="print only this process's peak RSS at the end")
    parser.add_argument(
        "--backend",
        default="moto",
        choices=["moto", "dynamodb-local"],
        help="moto in this process, or DynamoDB Local in its own (so this process's memory is the app's alone)",
    )
    args = parser.parse_args()
    stops = []
    if args.backend == "dynamodb-local":
        from common import endpoint as start_endpoint

        _, url, stop = start_endpoint("dynamodb-local")
        kms_url, stop_kms = local_dynamodb.start_moto()  # DynamoDB Local serves no KMS
        stops += [stop, stop_kms]
    else:
        url, stop = local_dynamodb.start_moto()
        kms_url = url  # moto serves every service on its one port
        stops.append(stop)
    try:
        settings = local_dynamodb.install(Settings(table_prefix="bench-", jwt_secret="b" * 48), url, kms_url)
        clock = Clock()
        use_services(Services(settings, clock))
        with Client(app) as client:
            bench = Bench(client, clock)
            journey(bench)
    finally:
        for stop_service in stops:
            stop_service()
    if args.json:
        print(json.dumps([vars(r) for r in bench.results], indent=1))
        return
    if args.rss:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"Peak RSS of one process after serving every route of the round-trip table once: {peak:.0f} MB")
        return
    print("| route | credential | status | DynamoDB round trips | calls | KMS calls |")
    print("|---|---|---|---|---|---|")
    for r in bench.results:
        kms_calls = ", ".join(r.kms_calls) or "0"
        print(f"| {r.route} | {r.credential} | {r.status} | {len(r.calls)} | {', '.join(r.calls)} | {kms_calls} |")


if __name__ == "__main__":
    main()
