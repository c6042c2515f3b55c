"""Development-only DynamoDB endpoints: moto's in-process server, and the tables on it.

Used by the dev server and the tests; never deployed (it lives outside chalicelib/).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chalicelib.config import Settings, use_settings
from chalicelib.store import dynamo
from chalicelib.store.tables import TABLES, create_tables

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


def install(settings: Settings, endpoint: str) -> Settings:
    """Point the app at ``endpoint``, create the tables there, and return the settings in force."""
    settings = replace(settings, dynamodb_endpoint=endpoint)
    use_settings(settings)
    dynamo.reset_client()
    create_tables(dynamo.client(), settings)
    return settings


def drop_tables(settings: Settings) -> None:
    client = dynamo.client()
    for table in TABLES:
        client.delete_table(TableName=settings.table_name(table.name))
