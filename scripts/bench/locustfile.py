"""The load test's journey (`make load`, run by scripts/bench/load.py): each simulated user signs up,
then logs in, uses its API key and its session, lists its keys and takes applications through
their life (create, rename, add and remove a collaborator, delete).

Every reply other than the one the contract gives is an error. On quitting, the figures go as JSON
to the file named by LOAD_REPORT.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from typing import Any

from locust import HttpUser, between, events, task
from locust.exception import StopUser

PASSWORD = "correct horse battery"
statuses: Counter[int] = Counter()


@events.request.add_listener
def _count(response: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    statuses[getattr(response, "status_code", 0) or 0] += 1


@events.quitting.add_listener
def _report(environment: Any, **_: Any) -> None:
    total = environment.stats.total
    routes = {
        f"{entry.method} {entry.name}": {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50": entry.get_response_time_percentile(0.5),
            "p99": entry.get_response_time_percentile(0.99),
        }
        for entry in environment.stats.entries.values()
    }
    report = {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "seconds": (total.last_request_timestamp or 0) - (total.start_time or 0),
        "p50": total.get_response_time_percentile(0.5),
        "p99": total.get_response_time_percentile(0.99),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": [f"{e.method} {e.name}: {e.error} ({e.occurrences}x)" for e in environment.stats.errors.values()],
        "routes": routes,
    }
    path = os.environ.get("LOAD_REPORT")
    if path:
        with open(path, "w") as out:
            json.dump(report, out)


class Member(HttpUser):
    wait_time = between(0.05, 0.25)

    def on_start(self) -> None:
        self.username = "u" + uuid.uuid4().hex[:20]
        self.friend = None
        signed = self.client.post(
            "/v1/signup",
            json={"username": self.username, "email": f"{self.username}@example.com", "password": PASSWORD},
        )
        if signed.status_code != 201:
            raise StopUser  # counted once as an error, not again by every task of a user with no account
        self.token = signed.json()["token"]
        key = self.client.post("/v1/user/api-keys", json={"name": "device"}, headers=self.auth())
        if key.status_code != 201:
            raise StopUser
        self.key = key.json()["key"]
        friend = "f" + uuid.uuid4().hex[:20]
        made = self.client.post(
            "/v1/signup",
            json={"username": friend, "email": f"{friend}@example.com", "password": PASSWORD},
            name="/v1/signup (collaborator)",
        )
        self.friend = friend if made.status_code == 201 else None

    def auth(self, credential: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential or self.token}"}

    @task(3)
    def login(self) -> None:
        reply = self.client.post("/v1/login", json={"username": self.username, "password": PASSWORD})
        if reply.status_code == 200:
            self.token = reply.json()["token"]

    @task(10)
    def use_the_key(self) -> None:
        self.client.get("/v1/user", headers=self.auth(self.key), name="/v1/user (API key)")

    @task(5)
    def use_the_session(self) -> None:
        self.client.get("/v1/user", headers=self.auth(), name="/v1/user (session)")

    @task(2)
    def list_keys(self) -> None:
        self.client.get("/v1/user/api-keys", headers=self.auth())

    @task(2)
    def application_life(self) -> None:
        created = self.client.post(
            "/v1/applications", json={"name": "app-" + uuid.uuid4().hex[:8]}, headers=self.auth()
        )
        if created.status_code != 201:
            return
        app = f"/v1/applications/{created.json()['id']}"
        self.client.patch(app, json={"description": "under load"}, headers=self.auth(), name="/v1/applications/{id}")
        if self.friend:
            path = f"{app}/collaborators/{self.friend}"
            name = "/v1/applications/{id}/collaborators/{username}"
            self.client.put(path, json={"role": "observer"}, headers=self.auth(), name=name)
            self.client.delete(path, headers=self.auth(), name=name)
        self.client.get(app, headers=self.auth(), name="/v1/applications/{id}")
        self.client.delete(app, headers=self.auth(), name="/v1/applications/{id}")
