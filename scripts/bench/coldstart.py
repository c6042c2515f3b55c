"""Cold start as Lambda pays it: the time a fresh `import app` takes against `import boto3`.

Lambda unpacks the bundle into a read-only /var/task and gives it the runtime's boto3, compiled
ahead. So the bundle (dist/dev/deployment.zip, from `make package`) is unpacked here and made
read-only, and run with nothing else on the path but the standard library and boto3 from the
venv's precompiled folder, writing no bytecode (`python -I -S -B`). Measured with the bytecode the
packaging step puts into the bundle, and without it (the same copy, its __pycache__ removed), as
every cold start paid before. Also in the development virtualenv, for comparison.

`import app` loads the routes, the HTTP layer, the rules and boto3 (every route but two reads
DynamoDB, so it is imported in Lambda's init phase); the services, the stores and the mail and KMS
adapters load on a request's first use. The last row adds what the first session-token request
then loads (the auth and session services, their stores and PyJWT), without its I/O.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, median
from lambda_env import link_libraries, unpack

RUNS = 15
BUNDLE = ROOT / "dist" / "dev" / "deployment.zip"
FIRST_SESSION_REQUEST = "import app; from chalicelib.services import get_services; get_services().auth; import jwt"


def timed(argv: list[str], statement: str) -> float:
    """The CPU time (user + system) a fresh process takes to run ``statement``: unlike wall time, it
    does not grow when other work shares this machine's two cores (an import is CPU-bound)."""
    process = subprocess.Popen([*argv, "-c", statement], cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{statement!r} exited with {process.returncode}")
    return usage.ru_utime + usage.ru_stime


def compare(label: str, argv: list[str], prelude: str = "", statement: str = "import app") -> None:
    app, base = [], []
    for _ in range(RUNS):  # interleaved, so drift in the machine's load hits both alike
        base.append(timed(argv, prelude + "import boto3"))
        app.append(timed(argv, prelude + statement))
    print(f"| {label} | {median(base) * 1000:.0f} | {median(app) * 1000:.0f} | {median(app) / median(base):.2f} |")


def read_only(tree: Path) -> None:
    for path in [tree, *tree.rglob("*")]:
        if not path.is_symlink():
            mode = path.stat().st_mode
            path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def writable(tree: Path) -> None:
    for path in [tree, *tree.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def main() -> None:
    print(f"{RUNS} fresh processes each, median CPU time (user + system) in ms")
    print("| where | import boto3 | import app | ratio (goal at most 1.2 in the bundle) |")
    print("|---|---|---|---|")
    compare("development venv", [sys.executable])
    if not BUNDLE.exists():
        print("\n(no bundle: run `make package` to measure it as Lambda loads it)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        compiled, bare, deps = Path(tmp, "bundle"), Path(tmp, "bare"), Path(tmp, "deps")
        deps.mkdir()
        link_libraries(deps, ["boto3"], exclude=unpack(BUNDLE, compiled))
        shutil.copytree(compiled, bare)
        for cache in list(bare.rglob("__pycache__")):
            shutil.rmtree(cache)
        argv = [sys.executable, "-I", "-S", "-B"]
        try:
            for label, tree in (
                ("bundle without bytecode (before)", bare),
                ("deployment bundle, as in Lambda", compiled),
            ):
                read_only(tree)
                prelude = f"import sys; sys.path[:0] = [{str(tree)!r}, {str(deps)!r}]; "
                compare(f"{label}, read-only", argv, prelude)
            compare("deployment bundle, then a first session request's modules", argv, prelude, FIRST_SESSION_REQUEST)
        finally:
            writable(compiled)
            writable(bare)


if __name__ == "__main__":
    main()
