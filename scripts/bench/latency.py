"""Request latency where Lambda spends it: the Lambda handler invoked in-process with API Gateway
proxy events (``app(event, context)``, as the Lambda runtime does), against DynamoDB Local, beside
a baseline Chalice handler whose one route does one GetItem. Also: login latency and argon2's
share of it, and this process's peak RSS after serving these requests.

No HTTP server is in the way: Python's http.server sends the status line and headers apart from
the body, and with Nagle's algorithm on the client's delayed ACK then added ~40 ms to every reply
(the dev server now sends each reply in one write, with TCP_NODELAY).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace
from typing import Any

from common import ROOT, endpoint, median, percentile

PASSWORD = "correct horse battery"


def context() -> SimpleNamespace:
    return SimpleNamespace(
        aws_request_id=str(uuid.uuid4()),
        function_name="latchkey-dev",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:latchkey-dev",
        get_remaining_time_in_millis=lambda: 30000,
    )


def proxy_event(
    method: str, path: str, body: Any = None, token: str | None = None, resource: str | None = None
) -> dict[str, Any]:
    """An API Gateway REST API (proxy integration) event, as the deployed API sends it."""
    headers = {"Content-Type": "application/json", "Host": "example.execute-api.amazonaws.com"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    resource = resource or path
    params = None
    if resource != path:  # one path parameter, the last segment
        params = {resource.rsplit("{", 1)[1].rstrip("}"): path.rsplit("/", 1)[1]}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
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


def invoke(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = handler(event, context())
    if reply["statusCode"] >= 300:
        raise RuntimeError(f"{event['httpMethod']} {event['path']}: {reply['statusCode']} {reply['body']}")
    return reply


def sample(handler: Any, event: dict[str, Any], n: int) -> list[float]:
    for _ in range(10):  # warm up
        invoke(handler, event)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        invoke(handler, event)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="dynamodb-local", choices=["dynamodb-local", "moto"])
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    import logging

    logging.disable(logging.INFO)  # the app's request lines: Lambda would send them to CloudWatch
    db_name, db_url, db_stop = endpoint(args.backend)
    try:
        rows, logins = measure(db_url, args.n)
    finally:
        db_stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    argon2 = argon2_verify_ms()
    base = median(rows[0][1])
    print(f"DynamoDB endpoint: {db_name}; handlers invoked in-process with API Gateway proxy events;")
    print(f"{args.n} sequential requests per route after 10 to warm up")
    print("| request | p50 ms | p99 ms | p50 vs baseline |")
    print("|---|---|---|---|")
    for name, times in rows:
        print(f"| {name} | {median(times):.1f} | {percentile(times, 99):.1f} | {median(times) / base:.2f}x |")
    print(
        f"login p50: {median(logins):.1f} ms; argon2id verification alone: {argon2:.1f} ms"
        f" ({argon2 / median(logins):.0%} of it)"
    )
    print(f"peak RSS of this process (the handler and its client) after these requests: {rss:.0f} MB")


def measure(db_url: str, n: int) -> tuple[list[tuple[str, list[float]]], list[float]]:
    import boto3

    os.environ |= {"DYNAMODB_ENDPOINT": db_url, "TABLE": "baseline"}
    ddb = boto3.client("dynamodb", endpoint_url=db_url, region_name="us-east-1")
    ddb.create_table(
        TableName="baseline",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="baseline", Item={"pk": {"S": "item"}})

    import baseline_app
    import local_dynamodb

    from app import app
    from chalicelib.config import Settings
    from chalicelib.services import Services, SystemClock, use_services

    settings = local_dynamodb.install(Settings(table_prefix="latency-", jwt_secret="l" * 48), db_url)
    use_services(Services(settings, SystemClock()))
    body = {"username": "alice", "email": "alice@example.com", "password": PASSWORD}
    token = json.loads(invoke(app, proxy_event("POST", "/v1/signup", body))["body"])["token"]
    key = json.loads(invoke(app, proxy_event("POST", "/v1/user/api-keys", {"name": "bench"}, token))["body"])["key"]
    app_id = json.loads(invoke(app, proxy_event("POST", "/v1/applications", {"name": "fleet"}, token))["body"])["id"]

    rows = [
        ("baseline: one GetItem", sample(baseline_app.app, proxy_event("GET", "/item"), n)),
        ("GET /v1/user (session)", sample(app, proxy_event("GET", "/v1/user", token=token), n)),
        ("GET /v1/user (API key)", sample(app, proxy_event("GET", "/v1/user", token=key), n)),
        ("GET /v1/user/api-keys (session)", sample(app, proxy_event("GET", "/v1/user/api-keys", token=token), n)),
        (
            "GET /v1/applications/{id} (session)",
            sample(
                app, proxy_event("GET", f"/v1/applications/{app_id}", token=token, resource="/v1/applications/{id}"), n
            ),
        ),
    ]
    logins = []
    login = proxy_event("POST", "/v1/login", {"username": "alice", "password": PASSWORD})
    for _ in range(30):
        started = time.perf_counter()
        invoke(app, login)
        logins.append((time.perf_counter() - started) * 1000)
    return rows, logins


def argon2_verify_ms() -> float:
    code = (
        "import time,statistics;from chalicelib.security.passwords import hash_password,verify_password;"
        "h=hash_password('correct horse battery');t=[]\n"
        "for _ in range(20):\n s=time.perf_counter();verify_password(h,'correct horse battery')\n"
        " t.append(time.perf_counter()-s)\n"
        "print(statistics.median(t)*1000)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout)


if __name__ == "__main__":
    main()
