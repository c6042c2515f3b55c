"""`make bench`: run every benchmark and write BENCHMARKS.md (a report, not a pass/fail test)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "scripts" / "bench"

SECTIONS = [
    (
        "DynamoDB round trips per request",
        "Goals: `GET /v1/user` by session token in 1, by API key in at most 2; no route above 4.",
        ["roundtrips.py"],
    ),
    ("Cold start", "Goal: `import app` under 1.3x `import boto3, chalice`.", ["coldstart.py"]),
    (
        "Request latency, login, memory",
        "Goals: p50 within 1.5x of the one-GetItem baseline; peak RSS under 100 MB.",
        ["latency.py"],
    ),
    (
        "Purge cost as the table grows",
        "Goals: at most 1.1 items read per expired item (a Scan would read 11), 1.0 BatchWriteItem per 25"
        " expired items, and neither changes when live sessions grow tenfold.",
        ["purge.py"],
    ),
]


def run(script: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCH / script)], cwd=ROOT, capture_output=True, text=True, timeout=1800
    )
    if result.returncode:
        return f"FAILED ({result.returncode}):\n{result.stderr[-2000:]}"
    return result.stdout.strip()


def bundle() -> str:
    zips = sorted((ROOT / "dist").glob("**/deployment.zip"))
    if not zips:
        return "No bundle: run `make package` first."
    return "\n".join(f"{z.relative_to(ROOT)}: {z.stat().st_size / 1024:.0f} KiB (goal: under 1 MB)" for z in zips)


def main() -> None:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" {platform.system()} {platform.release()}.",
        "Each figure comes from the script named with it, under `scripts/bench/`.",
        "",
    ]
    for title, goal, scripts in SECTIONS:
        lines += [f"## {title}", "", goal, ""]
        for script in scripts:
            print(f"running {script} ...", flush=True)
            lines += [f"`python scripts/bench/{script}`:", "", run(script), ""]
    lines += ["## Deployment bundle", "", bundle(), ""]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))
    print("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
