"""Structured request logs: one JSON line per request, with ids and figures, never a credential."""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import PASSWORD, Api


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "latchkey_events"]


def test_one_json_line_per_request_with_route_status_and_user(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    signed_up = api.signup("alice").body
    api.get("/v1/user", token=signed_up["token"])
    api.get("/v1/user", token="forged")
    lines = request_lines(caplog)
    assert [(line["route"], line["status"]) for line in lines] == [
        ("/v1/signup", 201),
        ("/v1/user", 200),
        ("/v1/user", 401),
    ]
    assert lines[1]["user_id"] == signed_up["user"]["id"] and lines[2]["user_id"] is None
    assert all(line["request_id"] and line["latency_ms"] >= 0 and line["method"] for line in lines)


def test_no_credential_reaches_the_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = api.signup("alice").body["token"]
    login = api.login("alice").body["token"]
    api.login("alice", "a wrong password")
    api.post("/v1/user/refresh-token", token=login)
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (PASSWORD, "a wrong password", token, login):
        assert secret not in text
