"""Request latency over real HTTP: Latchkey's dev server next to a baseline Chalice app whose route
does one GetItem, both on Chalice's local server against the same DynamoDB endpoint. Also: login
latency and argon2's share of it, and the peak RSS of the server after it served every route once.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import requests
from common import ROOT, endpoint, free_port, median, peak_rss_mb, percentile, start, stop

PASSWORD = "correct horse battery"


def sample(session: requests.Session, url: str, token: str | None, n: int) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for _ in range(10):  # warm up
        session.get(url, headers=headers, timeout=10).raise_for_status()
    times = []
    for _ in range(n):
        started = time.perf_counter()
        reply = session.get(url, headers=headers, timeout=10)
        times.append((time.perf_counter() - started) * 1000)
        reply.raise_for_status()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="dynamodb-local", choices=["dynamodb-local", "moto"])
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    db_name, db_url, db_stop = endpoint(args.backend)
    import boto3

    ddb = boto3.client("dynamodb", endpoint_url=db_url, region_name="us-east-1")
    ddb.create_table(
        TableName="baseline",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="baseline", Item={"pk": {"S": "item"}})
    base_port, app_port = free_port(), free_port()
    env = {
        "DYNAMODB_ENDPOINT": db_url,
        "TABLE": "baseline",
        "TABLE_PREFIX": "latency-",
        "PURGE_INTERVAL_SECONDS": "86400",
    }
    baseline = start(
        [sys.executable, str(ROOT / "scripts/bench/baseline_app.py"), str(base_port)],
        env,
        f"http://127.0.0.1:{base_port}/health",
    )
    server = start(
        [sys.executable, str(ROOT / "scripts/dev_server.py")],
        env | {"PORT": str(app_port)},
        f"http://127.0.0.1:{app_port}/v1/health",
    )
    api = f"http://127.0.0.1:{app_port}"
    rows: list[tuple[str, list[float]]] = []
    try:
        s = requests.Session()
        body = {"username": "alice", "email": "alice@example.com", "password": PASSWORD}
        token = s.post(f"{api}/v1/signup", json=body, timeout=10).json()["token"]
        key = s.post(
            f"{api}/v1/user/api-keys", json={"name": "bench"}, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        key_token = key.json().get("key") if key.status_code == 201 else None
        created = s.post(
            f"{api}/v1/applications", json={"name": "fleet"}, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        app_id = created.json().get("id") if created.status_code == 201 else None

        rows.append(("baseline: one GetItem", sample(s, f"http://127.0.0.1:{base_port}/item", None, args.n)))
        rows.append(("GET /v1/user (session)", sample(s, f"{api}/v1/user", token, args.n)))
        if key_token:
            rows.append(("GET /v1/user (API key)", sample(s, f"{api}/v1/user", key_token, args.n)))
            rows.append(("GET /v1/user/api-keys (session)", sample(s, f"{api}/v1/user/api-keys", token, args.n)))
        if app_id:
            rows.append(
                ("GET /v1/applications/{id} (session)", sample(s, f"{api}/v1/applications/{app_id}", token, args.n))
            )

        logins = []
        for _ in range(30):
            started = time.perf_counter()
            s.post(f"{api}/v1/login", json={"username": "alice", "password": PASSWORD}, timeout=10).raise_for_status()
            logins.append((time.perf_counter() - started) * 1000)
        rss = peak_rss_mb(server.pid)
    finally:
        stop(server)
        stop(baseline)
        db_stop()

    argon2 = argon2_verify_ms()
    base = median(rows[0][1])
    print(f"DynamoDB endpoint: {db_name}; {args.n} sequential requests per route after 10 to warm up")
    print("| request | p50 ms | p99 ms | p50 vs baseline |")
    print("|---|---|---|---|")
    for name, times in rows:
        print(f"| {name} | {median(times):.1f} | {percentile(times, 99):.1f} | {median(times) / base:.2f}x |")
    print(
        f"login p50: {median(logins):.1f} ms; argon2id verification alone: {argon2:.1f} ms"
        f" ({argon2 / median(logins):.0%} of it)"
    )
    print(f"dev server peak RSS after these requests: {rss:.0f} MB (includes Chalice's local server)")


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
