"""`make run` stops within seconds of Ctrl-C or SIGTERM, every time, also when a burst of signals
arrives at once (make forwards the signal to its child: two arrive together) and a client holds
an idle keep-alive connection."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.e2e.conftest import ROOT, free_port

BURSTS = [
    [signal.SIGTERM] * 5,
    [signal.SIGINT, signal.SIGTERM, signal.SIGINT, signal.SIGTERM, signal.SIGINT],
    [signal.SIGINT] * 5,
]


@pytest.mark.parametrize("burst", BURSTS, ids=["5 SIGTERM", "mixed", "5 SIGINT"])
def test_a_burst_of_signals_stops_the_dev_server_within_seconds(burst: list[signal.Signals]) -> None:
    port = free_port()
    env = os.environ | {"PORT": str(port), "PYTHONUNBUFFERED": "1", "PURGE_INTERVAL_SECONDS": "3600"}
    env.pop("DYNAMODB_ENDPOINT", None)  # moto in the server's own process, as `make run` has it
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "dev_server.py")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, as make's child is
    )
    try:
        client = requests.Session()  # keeps its connection open after the request
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None and time.monotonic() < deadline, "the dev server did not start"
            try:
                if client.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        started = time.monotonic()
        for sig in burst:
            os.killpg(process.pid, sig)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=1)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
