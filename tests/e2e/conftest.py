"""The dev server (`make run`'s script), started by the tests themselves, on a free port."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
_servers = itertools.count()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevServer:
    def __init__(
        self, url: str, table_prefix: str, mail_dir: Path, process: subprocess.Popen[bytes] | None = None
    ) -> None:
        self.url = url
        self.table_prefix = table_prefix
        self.mail_dir = mail_dir  # the server's outbox (MAIL_DIR): a directory of its own
        self.process = process

    def stop(self) -> None:
        """Stop it before the session ends (a server that purges every second costs the others' CPU)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


ServerFactory = Callable[..., DevServer]


@pytest.fixture(scope="session")
def start_server(dynamodb_endpoint: str) -> Iterator[ServerFactory]:
    """Start dev servers with extra environment; all are stopped at the end of the session."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> DevServer:
        port = free_port()
        prefix = f"e2e{os.getpid()}x{next(_servers)}-"
        env.setdefault("MAIL_DIR", tempfile.mkdtemp(prefix="latchkey-mail-"))
        environment = (
            os.environ
            | {
                "PORT": str(port),
                "DYNAMODB_ENDPOINT": dynamodb_endpoint,
                "TABLE_PREFIX": prefix,
                "PYTHONUNBUFFERED": "1",
            }
            | env
        )
        # Its output goes to a file beside its outbox: what to read when a test sees a 500.
        log = open(Path(env["MAIL_DIR"]) / "server.log", "wb")  # noqa: SIM115 (the server writes until the end)
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "dev_server.py")],
            env=environment,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the dev server exited with {process.returncode}")
            try:
                if requests.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    return DevServer(url, prefix, Path(env["MAIL_DIR"]), process)
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("the dev server did not answer within 30 s")

    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def server(start_server: ServerFactory) -> DevServer:
    return start_server()
