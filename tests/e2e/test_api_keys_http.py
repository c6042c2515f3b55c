"""API keys over real HTTP, as the README's tour uses them."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.conftest import PASSWORD
from tests.e2e.conftest import DevServer

pytestmark = pytest.mark.e2e


def test_the_readme_api_key_tour(server: DevServer) -> None:
    name = f"keys_{uuid.uuid4().hex[:8]}"
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    token = requests.post(f"{server.url}/v1/signup", json=body, timeout=10).json()["token"]
    session = {"Authorization": f"Bearer {token}"}

    created = requests.post(f"{server.url}/v1/user/api-keys", json={"name": "deploy bot"}, headers=session, timeout=5)
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    key, key_id = created.json()["key"], created.json()["id"]
    by_key = {"Authorization": f"Bearer {key}"}
    assert requests.get(f"{server.url}/v1/user", headers=by_key, timeout=5).json()["username"] == name
    listed = requests.get(f"{server.url}/v1/user/api-keys", headers=by_key, timeout=5).json()
    assert [k["id"] for k in listed["api_keys"]] == [key_id] and key not in str(listed)
    assert requests.post(f"{server.url}/v1/user/refresh-token", headers=by_key, timeout=5).status_code == 403

    others = [
        requests.post(f"{server.url}/v1/user/api-keys", json={"name": f"k{i}"}, headers=session, timeout=5).json()["id"]
        for i in range(3)
    ]
    reply = requests.post(
        f"{server.url}/v1/user/api-keys/batch-delete", json={"ids": [*others, "nope"]}, headers=session, timeout=5
    )
    assert reply.json() == {"deleted": others, "not_found": ["nope"]}

    assert requests.delete(f"{server.url}/v1/user/api-keys/{key_id}", headers=session, timeout=5).status_code == 204
    assert requests.get(f"{server.url}/v1/user", headers=by_key, timeout=5).status_code == 401
