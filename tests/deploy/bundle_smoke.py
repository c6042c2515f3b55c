"""Run inside an unpacked deployment.zip, in a fresh interpreter (`python -I -S`): the Lambda's view.

    python -I -S bundle_smoke.py BUNDLE_DIR AWS_LIBS_DIR AUTHENTICATOR_PY

sys.path is the bundle, the standard library and AWS_LIBS_DIR (boto3, botocore, moto and what they
need, nothing of the project's). Under moto it creates the signing secret and the tables from the
bundle's own tables.py, then drives sign-up, login and GET /v1/user through the Lambda handler with
API Gateway proxy events, registers a passkey and signs in with it (AUTHENTICATOR_PY, the tests'
software authenticator, loaded by path: its cbor2 and cryptography are the bundle's), and runs the
scheduled purge's handler. It prints one JSON report.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from types import SimpleNamespace
from typing import Any

BUNDLE, AWS_LIBS, AUTHENTICATOR = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, BUNDLE)
sys.path.append(AWS_LIBS)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

REGION = os.environ["AWS_DEFAULT_REGION"]
RP_ID = "latchkey.example.com"  # the passkeys' relying party: a domain name
ORIGIN = f"https://{RP_ID}"
os.environ["PUBLIC_URL"] = ORIGIN
PASSWORD = "correct horse battery"


def context(function: str) -> SimpleNamespace:
    return SimpleNamespace(
        aws_request_id=str(uuid.uuid4()),
        function_name=function,
        memory_limit_in_mb=256,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:{function}",
        get_remaining_time_in_millis=lambda: 30000,
    )


def proxy_event(method: str, path: str, body: Any = None, token: str | None = None) -> dict[str, Any]:
    """An API Gateway REST API (proxy integration) event, as the deployed API sends it."""
    headers = {"Content-Type": "application/json", "Host": "example.execute-api.amazonaws.com"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "apiId": "example",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def passkey_journey(app: Any, token: str) -> list[int]:
    """Register a passkey from the session, then sign in with it and no username: the statuses."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("passkey_authenticator", AUTHENTICATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    authenticator = module.SoftwareAuthenticator(ORIGIN, RP_ID)

    def call(path: str, body: Any, token: str | None = None) -> tuple[int, Any]:
        reply = app(proxy_event("POST", path, body, token), context("latchkey-dev"))
        return reply["statusCode"], json.loads(reply["body"]) if reply["body"] else None

    statuses = []
    status, made = call("/v1/user/passkeys/registration/options", {}, token)
    statuses.append(status)
    credential = authenticator.create(made["options"])
    status, _ = call("/v1/user/passkeys", {"challenge_id": made["challenge_id"], "credential": credential}, token)
    statuses.append(status)
    status, asked = call("/v1/login/passkey/options", {})
    statuses.append(status)
    credential = authenticator.get(asked["options"])
    status, session = call("/v1/login/passkey", {"challenge_id": asked["challenge_id"], "credential": credential})
    statuses.append(status)
    assert session.get("token"), session
    return statuses


def main() -> None:
    report: dict[str, Any] = {}
    with mock_aws():
        secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=os.environ["JWT_SECRET_NAME"], SecretString="s" * 64
        )
        os.environ["JWT_SECRET_ARN"] = secret["ARN"]  # what the template's Ref gives the function

        from chalicelib.config import Settings
        from chalicelib.store.tables import create_tables

        create_tables(boto3.client("dynamodb", region_name=REGION), Settings.from_env())

        from app import app, purge_expired_sessions

        calls: list[tuple[str, str, Any, str | None]] = [
            ("POST", "/v1/signup", {"username": "alice", "email": "alice@example.com", "password": PASSWORD}, None),
            ("POST", "/v1/login", {"username": "alice", "password": PASSWORD}, None),
            ("POST", "/v1/login", {"username": "alice", "password": "wrong password"}, None),
        ]
        replies = []
        for method, path, body, token in calls:
            reply = app(proxy_event(method, path, body, token), context("latchkey-dev"))
            replies.append({"status": reply["statusCode"], "body": json.loads(reply["body"])})
        token = replies[1]["body"].get("token")
        reply = app(proxy_event("GET", "/v1/user", token=token), context("latchkey-dev"))
        replies.append({"status": reply["statusCode"], "body": json.loads(reply["body"]), "headers": reply["headers"]})
        report["replies"] = replies
        report["passkey"] = passkey_journey(app, token)
        scheduled = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events"}
        scheduled |= {"account": "123456789012", "time": "2030-01-01T00:00:00Z", "region": REGION}
        scheduled |= {"resources": [], "detail": {}}
        report["purge"] = purge_expired_sessions(scheduled, context("latchkey-dev-purge_expired_sessions"))
        tables = boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"]
        report["tables"] = sorted(tables)

    import pyotp
    import segno

    modules = ("app", "chalicelib", "chalice", "jwt", "argon2", "_argon2_cffi_bindings", "_cffi_backend")
    modules += ("webauthn", "cbor2", "cryptography")
    report["origins"] = {name: sys.modules[name].__file__ for name in (*modules, "pyotp", "segno")}
    report["pyotp"], report["segno"] = pyotp.__name__, segno.__name__
    report["sys_path"] = sys.path
    print(json.dumps(report))


if __name__ == "__main__":
    main()
