"""Cold start: wall time of a fresh `python -c "import app"` against `import boto3, chalice`.

Measured twice: in the development virtualenv, and as Lambda runs it, from the deployment bundle
(dist/dev/deployment.zip, from `make package`) with nothing else on the path but the standard
library and boto3 (which the Lambda runtime provides). The venv holds packages Lambda does not
get (cryptography, which PyJWT imports when it is installed, came with moto).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, median
from lambda_env import link_libraries, unpack

RUNS = 15
BUNDLE = ROOT / "dist" / "dev" / "deployment.zip"


def timed(argv: list[str], statement: str) -> float:
    started = time.perf_counter()
    subprocess.run([*argv, "-c", statement], cwd=ROOT, check=True)
    return time.perf_counter() - started


def compare(label: str, argv: list[str], prelude: str = "") -> None:
    app, base = [], []
    for _ in range(RUNS):  # interleaved, so drift in the machine's load hits both alike
        base.append(timed(argv, prelude + "import boto3, chalice"))
        app.append(timed(argv, prelude + "import app"))
    print(f"| {label} | {median(base) * 1000:.0f} | {median(app) * 1000:.0f} | {median(app) / median(base):.2f} |")


def main() -> None:
    print(f"{RUNS} fresh processes each, median wall time in ms")
    print("| where | import boto3, chalice | import app | ratio (goal < 1.3) |")
    print("|---|---|---|---|")
    compare("development venv", [sys.executable])
    if not BUNDLE.exists():
        print("\n(no bundle: run `make package` to measure it as Lambda loads it)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        bundle, deps = Path(tmp, "bundle"), Path(tmp, "deps")
        deps.mkdir()
        link_libraries(deps, ["boto3"], exclude=unpack(BUNDLE, bundle))
        prelude = f"import sys; sys.path[:0] = [{str(bundle)!r}, {str(deps)!r}]; "
        compare("deployment bundle, as in Lambda", [sys.executable, "-I", "-S"], prelude)


if __name__ == "__main__":
    main()
