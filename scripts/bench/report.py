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

MEMORY_NOTE = (
    "The functions' `memory_size` (`.chalice/config.json`): 512 MB for the API, 256 MB for the purge."
    " The API needs under 100 MB, but Lambda gives CPU in proportion to memory, and a login's argon2id"
    " verification (m=19 MiB, t=2) is CPU-bound: at 512 MB (about 0.3 of a vCPU) it takes roughly three"
    " times what it takes on a full core here, at 256 MB about six times. The purge waits on DynamoDB"
    " and needs no more than the smallest useful size."
)

SECTIONS = [
    (
        "DynamoDB round trips per request",
        (
            "Goals: `GET /v1/user` by session token in 1, by API key in at most 2; no route above 4. Two "
            "grow with their input: `DELETE /v1/applications/{id}` deletes the grants in batches of 25 after "
            "its transaction (5 with any collaborator, one more per 25), and batch-delete of n keys costs 2 "
            "+ ceil(n/25)."
        ),
        ["roundtrips.py"],
    ),
    (
        "Memory",
        "Goal: peak RSS under 100 MB after one process has served every route once.",
        ["roundtrips.py --backend dynamodb-local --rss"],
    ),
    (
        "Cold start",
        (
            "Goal: `import app` under 1.3x `import boto3, chalice`. The bundle's figure is the one Lambda "
            "sees; the development venv also holds cryptography (moto's dependency), which PyJWT imports "
            "when it is installed."
        ),
        ["coldstart.py"],
    ),
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
    name, *args = script.split()
    result = subprocess.run(
        [sys.executable, str(BENCH / name), *args], cwd=ROOT, capture_output=True, text=True, timeout=1800
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
        if title == "Memory":
            lines += [MEMORY_NOTE, ""]
    lines += ["## Deployment bundle", "", bundle(), ""]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))
    print("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
