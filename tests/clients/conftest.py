"""The clients (Python SDK, CLI, Node.js SDK) against the dev server, on moto only.

The dev-server fixtures are tests/e2e's. What a client sends does not depend on the DynamoDB behind
the API, whose own tests run on both backends, so every module here that uses a server pins
``dynamodb_endpoint`` to moto (``ON_MOTO``). The CLI is run as people run it: the ``latchkey``
command that ``make install`` put into .venv, in a subprocess, with its own home and config
directory and the file store forced (never the real keyring).
"""

from __future__ import annotations

import email
import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from tests.clients.stub import stub  # noqa: F401 - a fixture
from tests.conftest import PASSWORD
from tests.e2e.conftest import ROOT, ServerFactory, free_port, start_server  # noqa: F401 - start_server: a fixture

ON_MOTO = [pytest.mark.e2e, pytest.mark.parametrize("dynamodb_endpoint", ["moto"], indirect=True)]
SOURCE = ROOT / "clients" / "python" / "src" / "latchkey"
LATCHKEY = Path(sys.executable).parent / "latchkey"


@dataclass
class MailServer:
    """The dev server, and the directory it writes its mail to (MAIL_DIR)."""

    url: str
    mail_dir: Path

    def messages_to(self, address: str) -> list[Message]:
        """The messages sent to ``address``, oldest first."""
        found = []
        for path in sorted(self.mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
            message = email.message_from_bytes(path.read_bytes())
            if address.lower() in str(message.get("To", "")).lower():
                found.append(message)
        return found

    def last_token(self, address: str) -> str:
        """The ``token=`` of the last message to ``address`` that asks the reader to act."""
        for message in reversed(self.messages_to(address)):
            for part in message.walk():
                if part.get_content_type() == "text/plain":
                    text = part.get_payload(decode=True).decode()  # type: ignore[union-attr]
                    match = re.search(r"token=([A-Za-z0-9_\-]+)", text)
                    if match:
                        return match.group(1)
        raise AssertionError(f"no message with a token was sent to {address}")


@pytest.fixture(scope="session")
def clients_server(start_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory) -> MailServer:  # noqa: F811
    """One dev server for the clients' tests, writing its mail into a directory of their own."""
    mail_dir = tmp_path_factory.mktemp("mail")
    server = start_server(MAIL_DIR=str(mail_dir))
    return MailServer(server.url, mail_dir)


def free_port_url() -> str:
    """The URL of a loopback port where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


def unique_name(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def latchkey_command() -> Path:
    """The installed ``latchkey`` command, checked to be this checkout's (else: run make install)."""
    spec = importlib.util.find_spec("latchkey")
    if not LATCHKEY.exists() or spec is None or spec.origin is None:
        pytest.fail("the latchkey command is not installed in this environment: run `make install`")
    installed = Path(spec.origin).parent
    stale = [
        source.name
        for source in SOURCE.glob("*.py")
        if not (installed / source.name).exists() or (installed / source.name).read_bytes() != source.read_bytes()
    ]
    if stale:
        pytest.fail(f"the installed latchkey package differs from clients/python ({stale}): run `make install`")
    return LATCHKEY


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Cli:
    """Runs ``latchkey`` for one person: their own home, config directory and server URL."""

    def __init__(self, command: Path, url: str, home: Path) -> None:
        self.command = command
        self.home = home
        self.config = home / ".config"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(self.config),
            "LATCHKEY_URL": url,
            "LATCHKEY_KEYRING": "0",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "LANG": "C.UTF-8",
        }

    @property
    def credentials_file(self) -> Path:
        return self.config / "latchkey" / "credentials.json"

    def argv(self, *args: str) -> list[str]:
        return [str(self.command), *args]

    def __call__(self, *args: str, input: str | None = None, **env: str) -> Result:
        done = subprocess.run(
            self.argv(*args),
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=self.env | env,
            timeout=60,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)


CliFactory = Callable[[], Cli]


@pytest.fixture
def cli_for(latchkey_command: Path, clients_server: MailServer, tmp_path: Path) -> Iterator[CliFactory]:
    """Make CLIs for several people (each with a home of their own) in one test."""
    count = iter(range(100))

    def make() -> Cli:
        home = tmp_path / f"home{next(count)}"
        home.mkdir()
        return Cli(latchkey_command, clients_server.url, home)

    yield make


@pytest.fixture
def cli(cli_for: CliFactory) -> Cli:
    return cli_for()


def signed_up(url: str, prefix: str = "u", password: str = PASSWORD) -> tuple[str, str]:
    """A new account (by the SDK): its username and session token."""
    from latchkey import Client

    name = unique_name(prefix)
    with Client(url, "") as client:
        reply = client.signup(name, f"{name}@example.com", password)
    return name, reply.token
