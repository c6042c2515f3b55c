"""The Node.js SDK's own tests (`node --test clients/node/test/`), run against the clients' dev server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.clients.conftest import ON_MOTO, MailServer
from tests.e2e.conftest import ROOT

pytestmark = ON_MOTO


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and node is missing (apt-get install nodejs)")
        pytest.skip("node is not installed (apt-get install nodejs): the Node SDK's tests are skipped")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < 20:
        pytest.fail(f"the Node SDK needs Node 20 or later (global fetch); this is {version}")
    return node


def test_the_node_sdk_passes_its_tests_against_the_dev_server(clients_server: MailServer) -> None:
    node = node_or_skip()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LATCHKEY_")} | {
        "LATCHKEY_URL": clients_server.url,
        "LATCHKEY_TEST_MAIL_DIR": str(clients_server.mail_dir),
        "NODE_OPTIONS": "",
    }
    done = subprocess.run(
        [node, "--test", "--test-reporter=tap", "clients/node/test/"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = f"{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, f"node --test exited {done.returncode}:\n{output[-30000:]}"
    passed = re.search(r"^# pass (\d+)$", done.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) >= 20, output[-5000:]  # it ran the tests, not nothing
    assert re.search(r"^# fail 0$", done.stdout, re.MULTILINE), output[-5000:]
