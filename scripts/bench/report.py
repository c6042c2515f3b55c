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
sys.path.insert(0, str(ROOT))

from chalicelib.store.tables import TABLES  # noqa: E402

_SHARDS = sum(t.expiry_shards for t in TABLES if t.expires)  # every by_expiry partition of a day

MEMORY_NOTE = (
    "The functions' `memory_size` (`.chalice/config.json`): 512 MB for the API, 256 MB for the purge."
    " The API needs under 100 MB, but Lambda gives CPU in proportion to memory, and a login's argon2id"
    " verification (m=19 MiB, t=2) is CPU-bound: at 512 MB (about 0.3 of a vCPU) it takes roughly three"
    " times what it takes on a full core here, at 256 MB about six times. The purge waits on DynamoDB"
    " and needs no more than the smallest useful size."
)

PARTITION_NOTE = (
    "Two keys still concentrate load by design, because one item is the thing being asked for. One API"
    " key shared by a whole fleet: its item (and its owner's user item) is read on every request, and"
    " DynamoDB serves one item at most 3,000 strongly consistent reads a second (a partition's limit);"
    " past that the fleet's requests answer 503 with Retry-After. The fix is on the user's side: one key"
    " per device, or per fleet shard (a few hundred devices a key), and keys spread over a few owner"
    " accounts, since every API-key request also reads its owner's user item. Likewise one client"
    " address hammering logins: its throttle counters are read on every attempt (the 429 itself costs"
    " reads), so an attack from one address beyond ~3,000 attempts a second is for a rate-based WAF rule"
    " at API Gateway to stop (a locked account or address answers 429 before any write, so its"
    " counters and the victim's security-log stream take no more writes than the limits allow). The"
    " tightest index is the events' by_expiry at ~94% of the cap at the"
    " model's peak (110,000 events a second over 128 shards). Raising a table's `expiry_shards` is safe"
    " at any time (the purge queries"
    " every shard number below the new count, which includes the old ones); lowering it strands records"
    " in the dropped shards until TTL takes them."
)
CAPACITY_NOTE = (
    "On-demand prices, us-east-1, since the price cut of 1 November 2024: $0.625 per million write"
    " request units, $0.125 per million read request units (a strongly consistent read of up to 4 KB is"
    " one read unit, a write of up to 1 KB one write unit, a transactional one two). A million logins"
    " cost about $1.50 (a session write with its index entry, and the reads of the claim, the user and"
    " three counters); a million API-key requests $0.25 (two reads), or $1.50 when they fall due for"
    " the five-minute last-used write. GSI writes are billed like table writes: the index columns are"
    " what the by_expiry and by_user indexes add. The hourly purge adds one empty Query (0.5 read unit)"
    f" per shard and day looked back over: {_SHARDS} shards x 9 days x 24 runs = {_SHARDS * 9 * 24:,} Queries,"
    f" about {_SHARDS * 9 * 12:,} read units, {_SHARDS * 9 * 12 * 0.125 / 1e4:.1f} of a cent a day."
)
LATENCY_NOTE = (
    "Before, this section measured through the dev server, whose replies went out in two sends (status"
    " line and headers, then the body): with Nagle's algorithm on, the client's delayed ACK added ~40"
    " ms to every reply. The dev server now buffers each reply into one write and sets TCP_NODELAY."
    " Measured through it (moto in the server, 200 requests each): `GET /v1/health` p50 45.5 ms before,"
    " 2.9 ms after; `GET /v1/user` by session p50 56.6 ms before, 13.8 ms after."
)
LOAD_NOTE = (
    "`make load` (scripts/bench/load.py and locustfile.py). Each simulated user signs up (and a"
    " collaborator), creates an API key, then keeps logging in, using its key and its session, listing"
    " its keys and taking applications through create, rename, add and remove a collaborator, delete;"
    " 0.05-0.25 s between tasks, users starting 10 a second. The first run found the dev server's"
    " listen backlog (socketserver's default of 5) resetting connections when 50 clients connected at"
    " once; it now keeps 128. Loopback only, bounded to 60 s. The whole stack (locust, the"
    " single-process dev server, DynamoDB Local's JVM) shares this machine's two cores, and argon2id"
    " (m=19 MiB, t=2) is CPU-bound: the figures measure this box, not Lambda, which runs each request"
    " in its own container."
)

SECTIONS = [
    (
        "DynamoDB round trips per request",
        (
            "Goals: `GET /v1/user` by session token in 1, by API key in at most 2; no route above 4. Two "
            "grow with their input: `DELETE /v1/applications/{id}` marks the application deleted in its "
            "transaction, deletes the grants in batches of 25, then the item (6 with any collaborator, one "
            "more per 25; the purge finishes what a request dying half-way left), and batch-delete of n "
            "keys costs 2 + ceil(n/25)."
        ),
        ["roundtrips.py"],
        "",
    ),
    (
        "Memory",
        "Goal: peak RSS under 100 MB after one process has served every route once.",
        ["roundtrips.py --backend dynamodb-local --rss"],
        MEMORY_NOTE,
    ),
    (
        "Partitions: the busiest key of every table and index",
        (
            "Goal: at the synthetic day's peak (100,000 logins, 100,000 API-key requests and 10,000 failed"
            " logins a second, and the purge), every partition key under 1,000 writes and 3,000 reads a"
            " second, counted by the stores' own key functions (a test asserts the same figures)."
        ),
        ["partitions.py --hot-key"],
        PARTITION_NOTE,
    ),
    (
        "Capacity and cost per request",
        "What each route consumes (DynamoDB Local's ConsumedCapacity) and what a million of it costs.",
        ["capacity.py"],
        CAPACITY_NOTE,
    ),
    (
        "Cold start",
        (
            "Goal: `import app` at most 1.2x `import boto3`, as Lambda pays it: the bundle unpacked"
            " read-only, no bytecode written, boto3 precompiled. The bundle ships its bytecode"
            " (unchecked-hash .pyc for Python 3.11 in __pycache__); the row without it is what every cold"
            " start paid before. CPU time, because wall time on a shared two-core machine measures the"
            " other work on it."
        ),
        ["coldstart.py"],
        "",
    ),
    (
        "Request latency, login, memory",
        (
            "Goals: a one-round-trip route's p50 within 1.5x of the one-GetItem baseline (a route of k"
            " round trips takes about k of them); peak RSS under 100 MB. Measured where Lambda spends it:"
            " the handler invoked in-process with API Gateway proxy events."
        ),
        ["latency.py"],
        LATENCY_NOTE,
    ),
    (
        "Purge cost as the table grows",
        "Goals: at most 1.1 items read per expired item (a Scan would read 11), 1.0 BatchWriteItem per 25"
        " expired items, and neither changes when live sessions grow tenfold. The Query calls are one per"
        " shard and day looked back over (their empty pages cost half a read unit each), plus the pages"
        " that hold expired records.",
        ["purge.py"],
        "",
    ),
    (
        "Load test",
        "Goal: 0 errors, 0 5xx, 0 integrity findings, from 50 simulated users for 60 seconds.",
        ["load.py"],
        LOAD_NOTE,
    ),
]


def run(script: str) -> str:
    name, *args = script.split()
    result = subprocess.run(
        [sys.executable, str(BENCH / name), *args], cwd=ROOT, capture_output=True, text=True, timeout=1800
    )
    # The dev outbox's console lines (a mailed link per sign-up) are no figure.
    stdout = "\n".join(line for line in result.stdout.splitlines() if not line.startswith("[mail]")).strip()
    if result.returncode:
        return f"{stdout}\n\nFAILED ({result.returncode}):\n{result.stderr[-2000:]}".strip()
    return stdout


def bundle() -> str:
    zips = sorted((ROOT / "dist").glob("**/deployment.zip"))
    if not zips:
        return "No bundle: run `make package` first."
    goal = "goal: under 8 MB; webauthn's cryptography and cbor2 are 5.4 MB of it, loaded only by passkey calls"
    return "\n".join(f"{z.relative_to(ROOT)}: {z.stat().st_size / 1024:.0f} KiB ({goal})" for z in zips)


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
    for title, goal, scripts, note in SECTIONS:
        lines += [f"## {title}", "", goal, ""]
        for script in scripts:
            print(f"running {script} ...", flush=True)
            lines += [f"`python scripts/bench/{script}`:", "", run(script), ""]
        if note:
            lines += [note, ""]
    lines += ["## Deployment bundle", "", bundle(), ""]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))
    print("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
