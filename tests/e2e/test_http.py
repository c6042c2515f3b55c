"""End to end over real HTTP, as a user follows the README: the dev server started by the tests."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import requests

from tests.conftest import PASSWORD
from tests.e2e.conftest import DevServer, ServerFactory

pytestmark = pytest.mark.e2e


def unique(name: str) -> str:
    return f"{name}_{uuid.uuid4().hex[:8]}"


def signup(server: DevServer, username: str) -> dict:
    reply = requests.post(
        f"{server.url}/v1/signup",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
        timeout=10,
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_health(server: DevServer) -> None:
    reply = requests.get(f"{server.url}/v1/health", timeout=5)
    assert reply.status_code == 200 and reply.json() == {"status": "ok"}


def test_the_readme_journey(server: DevServer) -> None:
    name = unique("alice")
    created = signup(server, name)
    login = requests.post(f"{server.url}/v1/login", json={"username": name, "password": PASSWORD}, timeout=10)
    assert login.status_code == 200 and login.json()["two_factor_required"] is False
    assert login.headers["Cache-Control"] == "no-store"
    auth = {"Authorization": f"Bearer {login.json()['token']}"}
    me = requests.get(f"{server.url}/v1/user", headers=auth, timeout=5)
    assert me.status_code == 200 and me.json() == created["user"]
    refreshed = requests.post(f"{server.url}/v1/user/refresh-token", headers=auth, timeout=5)
    assert refreshed.status_code == 200
    again = requests.get(f"{server.url}/v1/user", headers={"Authorization": f"Bearer {refreshed.json()['token']}"})
    assert again.json()["username"] == name


def test_errors_have_the_contract_shape(server: DevServer) -> None:
    reply = requests.post(f"{server.url}/v1/signup", data="{", headers={"Content-Type": "application/json"})
    assert reply.status_code == 400 and reply.json()["Code"] == "BadRequestError"
    reply = requests.get(f"{server.url}/v1/user", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert reply.status_code == 401 and set(reply.json()) == {"Code", "Message"}


def test_an_unknown_path_is_answered_by_the_platform(server: DevServer) -> None:
    reply = requests.get(f"{server.url}/v1/no-such-thing", timeout=5)
    assert reply.status_code == 403 and reply.json() == {"message": "Missing Authentication Token"}


def test_simultaneous_signups_over_http_create_one_user(server: DevServer) -> None:
    name = unique("racer")

    def attempt(n: int) -> int:
        body = {"username": name, "email": f"{name}{n}@example.com", "password": PASSWORD}
        return requests.post(f"{server.url}/v1/signup", json=body, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(8)))
    assert sorted(statuses) == [201] + [409] * 7


def test_the_schedule_purges_expired_sessions(start_server: ServerFactory, dynamodb_endpoint: str) -> None:
    # A one-day look-back: each run queries every expiry shard of every day it looks back over.
    server = start_server(SESSION_TTL_SECONDS="2", PURGE_INTERVAL_SECONDS="1", PURGE_LOOKBACK_DAYS="1")
    token = signup(server, unique("brief"))["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{server.url}/v1/user", headers=auth, timeout=5).status_code == 200
    dynamodb = boto3.client("dynamodb", endpoint_url=dynamodb_endpoint, region_name="us-east-1")
    table = f"{server.table_prefix}sessions"
    deadline = time.monotonic() + 15
    while dynamodb.scan(TableName=table)["Count"] and time.monotonic() < deadline:
        time.sleep(0.5)
    try:
        assert dynamodb.scan(TableName=table)["Count"] == 0
        assert requests.get(f"{server.url}/v1/user", headers=auth, timeout=5).status_code == 401
    finally:
        server.stop()
