"""schemathesis against the running dev server: every documented operation, generated requests in
all four phases (examples, coverage, fuzzing, stateful links), and every response checked against
the document. Fails on any 5xx, any response the document does not allow, and any request the
schema rejects that the app accepts. Its configuration is tests/e2e/schemathesis.toml."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import app
from chalicelib.openapi import document
from tests.e2e.conftest import ROOT, ServerFactory
from tests.e2e.test_http import signup, unique

pytestmark = pytest.mark.e2e
CONFIG = ROOT / "tests" / "e2e" / "schemathesis.toml"
METHODS = {"get", "put", "post", "delete", "patch"}


def documented() -> dict[tuple[str, str], str]:
    """(path, method) to operationId, for every operation of the reference."""
    return {
        (path, method): op["operationId"]
        for path, item in document()["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def phantoms() -> list[str]:
    routed = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    return sorted(op for key, op in documented().items() if key not in routed)


# Once, against Amazon's DynamoDB Local (the closer to AWS of the two backends, with its limits on
# keys and items); a run costs about 90 s, and the moto run would find nothing the other does not.
@pytest.mark.parametrize("dynamodb_endpoint", ["dynamodb-local"], indirect=True)
def test_the_api_holds_up_to_schemathesis(start_server: ServerFactory, tmp_path: Path) -> None:
    # A fuzzer fails many logins from one address: lift that limit so its later logins still work.
    server = start_server(LOGIN_FAILURES_PER_ADDRESS_PER_HOUR="1000000")
    token = signup(server, unique("fuzzer"))["token"]
    st = Path(sys.executable).with_name("st")
    command = [str(st), "--no-color", "--config-file", str(CONFIG), "run", f"{server.url}/v1/openapi.json"]
    command += ["--url", server.url, "--report", "junit,vcr", "--report-dir", str(tmp_path)]
    # An operation the app does not route yet is test_openapi's failure to report, not this run's.
    for operation_id in phantoms():
        command += ["--exclude-operation-id", operation_id]
    started = time.monotonic()
    run = subprocess.run(
        command,
        env=os.environ | {"LATCHKEY_FUZZ_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = run.stdout + run.stderr
    summary = output[output.rfind("SUMMARY") :]
    phases = output[output.find("Examples (in") : output.find("=====")]
    print(f"schemathesis: {time.monotonic() - started:.0f} s\n{phases}\n{summary}")  # shown with pytest -s
    assert run.returncode == 0, output[-20000:]
    # schemathesis leaves out the operation that serves the document it was loaded from.
    operations = len(documented()) - len(phantoms()) - 1
    tested = re.search(r"Tested:\s+(\d+)", summary)
    assert tested and int(tested.group(1)) == operations, summary
