"""`make load`: the load test. A mixed journey (scripts/bench/locustfile.py: sign-up, login, API-key
use, application changes) by 50 simulated users for 60 seconds against the dev server on a private
DynamoDB Local, all on loopback. Prints requests a second, p50/p99 and the errors, then runs the
integrity checker over the tables; exits non-zero on any error, 5xx or finding.

    python scripts/bench/load.py [--users 50] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, endpoint, free_port, start, stop

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--backend", default="dynamodb-local", choices=["dynamodb-local", "moto"])
    args = parser.parse_args()
    db_name, db_url, db_stop = endpoint(args.backend)
    port = free_port()
    prefix = f"load{os.getpid()}-"
    env = {"DYNAMODB_ENDPOINT": db_url, "TABLE_PREFIX": prefix, "PORT": str(port), "PURGE_INTERVAL_SECONDS": "86400"}
    host = f"http://127.0.0.1:{port}"
    try:
        server = start([sys.executable, str(ROOT / "scripts" / "dev_server.py")], env, f"{host}/v1/health")
        try:
            with tempfile.TemporaryDirectory() as tmp:
                report_path = Path(tmp, "report.json")
                locust = [
                    *(sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host),
                    *("--users", str(args.users), "--spawn-rate", "10", "--run-time", f"{args.seconds}s"),
                    *("--stop-timeout", "5", "--only-summary", "--loglevel", "WARNING"),
                ]
                subprocess.run(
                    locust,
                    env=os.environ | {"LOAD_REPORT": str(report_path)},
                    cwd=ROOT,
                    timeout=args.seconds + 120,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    check=False,  # its own exit code is 1 on any failure: the report says which
                )
                report = json.loads(report_path.read_text())
        finally:
            stop(server)
        findings = integrity(prefix, db_url)
    finally:
        db_stop()
    return summarize(report, findings, args.users, args.seconds, db_name)


def integrity(prefix: str, db_url: str) -> list[str]:
    sys.path.insert(0, str(ROOT / "scripts"))
    import check_integrity

    from chalicelib.config import Settings, use_settings
    from chalicelib.store import dynamo

    settings = Settings(table_prefix=prefix, dynamodb_endpoint=db_url)
    use_settings(settings)
    dynamo.reset_client()
    return [f"{f.rule}: {f.message}" for f in check_integrity.check(settings)]


def summarize(report: dict, findings: list[str], users: int, seconds: int, db_name: str) -> int:  # type: ignore[type-arg]
    statuses = {int(k): v for k, v in report["statuses"].items()}
    server_errors = sum(v for k, v in statuses.items() if k >= 500 or k == 0)
    rate = report["requests"] / report["seconds"] if report["seconds"] else 0.0
    print(f"{users} simulated users for {seconds} s against the dev server on {db_name} (loopback)")
    print("| requests | requests/s | p50 ms | p99 ms | errors | 5xx or no reply | integrity findings |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {report['requests']:,} | {rate:.0f} | {report['p50']:.0f} | {report['p99']:.0f} |"
        f" {report['failures']} | {server_errors} | {len(findings)} |"
    )
    print()
    print("| request | count | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|")
    for name, route in sorted(report["routes"].items(), key=lambda r: -r[1]["requests"]):
        print(f"| {name} | {route['requests']:,} | {route['p50']:.0f} | {route['p99']:.0f} | {route['failures']} |")
    print(f"\nstatuses: {', '.join(f'{k}: {v:,}' for k, v in sorted(statuses.items()))}")
    for line in report["errors"][:20] + findings[:20]:
        print(f"ERROR: {line}")
    return 1 if report["failures"] or server_errors or findings else 0


if __name__ == "__main__":
    sys.exit(main())
