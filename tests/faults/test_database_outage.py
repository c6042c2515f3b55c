"""A database that stops answering (DynamoDB Local's JVM paused with SIGSTOP): requests answer
``503`` with ``Retry-After`` within the client's bounded timeouts, never hang or 500; once it
answers again (SIGCONT) the next requests succeed by themselves, and a sign-up cut off mid-way
exists whole or not at all."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import replace

import check_integrity
import local_dynamodb
import pytest
from chalice.test import Client

from app import app
from chalicelib.config import Settings, use_settings
from chalicelib.services import Services, use_services
from chalicelib.store import dynamo
from tests.conftest import PASSWORD, Api, FakeClock

BOUND_SECONDS = 12  # 3 attempts x 2 s read timeout + at most 3 s of backoff, and some slack


@pytest.fixture
def paused_db() -> Iterator[tuple[Api, Settings, int]]:
    """A private DynamoDB Local (it will be paused), the API on it, and the JVM's pid."""
    missing = local_dynamodb.dynamodb_local_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    endpoint, stop = local_dynamodb.start_dynamodb_local()
    pid = int(getattr(stop, "pid"))  # noqa: B009 - local_dynamodb's stopper carries the JVM's pid
    try:
        settings = local_dynamodb.install(
            replace(Settings(), table_prefix="outage-", jwt_secret="outage-signing-key-" + "x" * 32), endpoint
        )
        use_services(Services(settings, FakeClock()))
        with Client(app) as client:
            yield Api(client), settings, pid
    finally:
        os.kill(pid, signal.SIGCONT)
        stop()
        use_settings(None)
        use_services(None)
        dynamo.reset_client()


def timed(call: object) -> tuple[object, float]:
    started = time.monotonic()
    result = call() if callable(call) else None
    return result, time.monotonic() - started


def signup(api: Api, name: str) -> object:
    return api.post("/v1/signup", {"username": name, "email": f"{name}@example.com", "password": PASSWORD})


def test_a_paused_database_answers_503_in_bounded_time_and_recovers(paused_db: tuple[Api, Settings, int]) -> None:
    api, settings, pid = paused_db
    token = api.signup("alice").body["token"]
    assert api.get("/v1/user", token=token).status == 200

    os.kill(pid, signal.SIGSTOP)
    for request in (lambda: api.get("/v1/user", token=token), lambda: signup(api, "bob")):
        reply, took = timed(request)
        assert reply.status == 503, reply.body  # type: ignore[attr-defined]
        assert reply.body["Code"] == "ServiceUnavailableError"  # type: ignore[attr-defined]
        assert 1 <= int(reply.headers["retry-after"]) <= 10  # type: ignore[attr-defined]
        print(f"503 after {took:.1f} s")
        assert took < BOUND_SECONDS

    os.kill(pid, signal.SIGCONT)
    assert api.get("/v1/user", token=token).status == 200
    # Bob's sign-up may have reached the database before it paused (then it is whole) or not.
    again = signup(api, "bob")
    assert again.status in (201, 409), again.body  # type: ignore[attr-defined]
    assert api.login("bob").status == 200
    assert check_integrity.check(settings) == []
