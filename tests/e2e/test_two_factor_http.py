"""Two-factor over real HTTP, as the README tells it: codes from pyotp at the real time."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
import requests

from tests.conftest import PASSWORD
from tests.e2e.conftest import DevServer

pytestmark = pytest.mark.e2e


def test_enable_then_eight_simultaneous_logins_with_one_code_succeed_once(server: DevServer) -> None:
    name = f"totp_{uuid.uuid4().hex[:8]}"
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    token = requests.post(f"{server.url}/v1/signup", json=body, timeout=10).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    setup = requests.post(f"{server.url}/v1/user/2fa/setup", headers=auth, timeout=10).json()
    app = pyotp.parse_uri(setup["otpauth_uri"])  # what an authenticator app does with the QR code
    assert isinstance(app, pyotp.TOTP) and app.secret == setup["secret"]
    enabled = requests.post(f"{server.url}/v1/user/2fa/enable", json={"code": app.now()}, headers=auth, timeout=10)
    assert enabled.status_code == 200 and len(enabled.json()["recovery_codes"]) == 10

    login = {"username": name, "password": PASSWORD}
    pendings = [requests.post(f"{server.url}/v1/login", json=login, timeout=10).json() for _ in range(8)]
    assert all(p["two_factor_required"] for p in pendings)
    # The next step's code: later than the one that enabled, and accepted one step early.
    code = app.at(time.time() + 30)

    def attempt(n: int) -> int:
        headers = {"Authorization": f"Bearer {pendings[n]['token']}"}
        return requests.post(
            f"{server.url}/v1/login/totp", json={"code": code}, headers=headers, timeout=30
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(8)))
    assert sorted(statuses) == [200] + [401] * 7
