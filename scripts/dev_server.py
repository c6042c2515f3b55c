"""`make run`: the API on Chalice's local server, over an embedded DynamoDB, with the hourly purge.

Starts moto's DynamoDB server in this process (or, with ``--db dynamodb-local``, Amazon's DynamoDB
Local keeping its data in .cache/dynamodb-data), creates the tables from store/tables.py that are
missing, serves the app at 127.0.0.1:$PORT (default 8000), and runs purge_expired_sessions every
PURGE_INTERVAL_SECONDS (default 3600), as EventBridge would. Mail goes to the outbox in MAIL_DIR
(default .cache/mail), each message's subject and link printed here. Ctrl-C stops everything.

TOTP secrets are encrypted with KMS as in AWS: moto's server in this process serves it (the same
one as DynamoDB's with moto; one of its own beside DynamoDB Local), with a key made at start, or,
with DynamoDB Local's kept data, the key kept beside it. KMS_ENDPOINT and TOTP_KMS_KEY_ID, when
set, name another KMS and key.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import threading
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
DYNAMODB_LOCAL_DATA = ROOT / ".cache" / "dynamodb-data"


def stage_environment(stage: str) -> dict[str, str]:
    """The environment variables .chalice/config.json gives ``stage``."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))
    return env


def scheduled_event() -> dict[str, object]:
    """The event EventBridge sends a scheduled Lambda function."""
    from datetime import datetime

    return {
        "version": "0",
        "id": secrets.token_hex(16),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": os.environ.get("AWS_REGION", "us-east-1"),
        "resources": ["arn:aws:events:us-east-1:000000000000:rule/latchkey-dev-purge_expired_sessions"],
        "detail": {},
    }


def kept_signing_key(directory: Path) -> str:
    """The signing key kept beside DynamoDB Local's data (made on first use), so that tokens
    outlive a restart as the sessions they name do."""
    path = directory / "jwt-secret"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the API locally.")
    parser.add_argument(
        "--db",
        choices=("moto", "dynamodb-local"),
        default="moto",
        help="moto in this process, data in memory (default); or DynamoDB Local, data kept in .cache/dynamodb-data",
    )
    db = parser.parse_args().db
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8000"))
    # Nothing leaves the machine: mail goes to the outbox (MAIL_DIR), whatever the stage sends with,
    # and its links open this server's dashboard.
    os.environ.setdefault("MAIL_TRANSPORT", "outbox")
    os.environ.setdefault("PUBLIC_URL", f"http://{host}:{port}")
    explicit_key = os.environ.get("TOTP_KMS_KEY_ID")
    for name, value in stage_environment("dev").items():
        os.environ.setdefault(name, value)
    if not explicit_key:  # the stage's alias names the key in AWS; locally a key is made below
        os.environ.pop("TOTP_KMS_KEY_ID", None)
    # With moto, a fresh signing key per start unless one is given: restarting the server logs
    # everyone out, which a development server may do (its in-memory data is gone too). DynamoDB
    # Local keeps its data, and the key is kept with it.
    if db == "dynamodb-local" and not os.environ.get("DYNAMODB_ENDPOINT"):
        os.environ.setdefault("JWT_SECRET", kept_signing_key(DYNAMODB_LOCAL_DATA))
    os.environ.setdefault("JWT_SECRET", secrets.token_urlsafe(48))

    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the app's JSON lines, as in Lambda

    import local_dynamodb
    from chalice.config import Config
    from chalice.local import LocalDevServer

    from chalicelib.config import Settings

    local_dynamodb.use_fake_aws_credentials()
    endpoint = os.environ.get("DYNAMODB_ENDPOINT")
    kms_endpoint = os.environ.get("KMS_ENDPOINT")
    stops = []
    kept_data = not endpoint and db == "dynamodb-local"
    if kept_data:
        endpoint, stop_db = local_dynamodb.start_dynamodb_local(db_path=DYNAMODB_LOCAL_DATA)
        stops.append(stop_db)
    elif not endpoint:
        endpoint, stop_db = local_dynamodb.start_moto()
        stops.append(stop_db)
        kms_endpoint = kms_endpoint or endpoint  # moto serves KMS on the same port
    if not kms_endpoint:
        kms_endpoint, stop_kms = local_dynamodb.start_moto()
        stops.append(stop_kms)
        if kept_data and not os.environ.get("TOTP_KMS_KEY_ID"):
            # DynamoDB Local keeps the secrets it was given: keep the key that encrypted them too.
            os.environ["TOTP_KMS_KEY_ID"] = local_dynamodb.kept_kms_key(
                DYNAMODB_LOCAL_DATA / "kms-key.json", kms_endpoint
            )
    local_dynamodb.install(Settings.from_env(), endpoint, kms_endpoint)

    from app import app, purge_expired_sessions

    interval = float(os.environ.get("PURGE_INTERVAL_SECONDS", "3600"))
    stopping = threading.Event()

    def purge_on_schedule() -> None:
        while not stopping.wait(interval):
            try:
                purge_expired_sessions(scheduled_event(), None)
            except Exception:  # keep the schedule alive, as EventBridge would retry the next hour
                app.log.exception("scheduled purge failed")

    threading.Thread(target=purge_on_schedule, name="purge", daemon=True).start()
    server = LocalDevServer(app, Config(chalice_stage="dev"), host, port)

    def stop(*_: object) -> None:
        stopping.set()
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        f"Latchkey on http://{host}:{port} (DynamoDB at {endpoint}, KMS at {kms_endpoint}); Ctrl-C stops it.",
        flush=True,
    )
    server.serve_forever()
    for stop_service in stops:
        stop_service()


if __name__ == "__main__":
    main()
