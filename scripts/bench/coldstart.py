"""Cold start: wall time of a fresh `python -c "import app"` against `import boto3, chalice`."""

from __future__ import annotations

import subprocess
import sys
import time

from common import ROOT, median

RUNS = 15


def timed(statement: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, check=True)
    return time.perf_counter() - started


def main() -> None:
    app, base, python = [], [], []
    for _ in range(RUNS):  # interleaved, so drift in the machine's load hits both alike
        python.append(timed("pass"))
        base.append(timed("import boto3, chalice"))
        app.append(timed("import app"))
    print(f"runs: {RUNS} fresh processes each (median wall time)")
    print(f"python alone: {median(python) * 1000:.0f} ms")
    print(f"import boto3, chalice: {median(base) * 1000:.0f} ms")
    print(f"import app: {median(app) * 1000:.0f} ms")
    print(f"ratio app / (boto3 + chalice): {median(app) / median(base):.2f} (goal < 1.3)")


if __name__ == "__main__":
    main()
