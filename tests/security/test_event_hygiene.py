"""No secret reaches the security or audit logs: the whole journey of the log-hygiene test, then a
search of every stored event item and every event the API returns for every password, token, key,
TOTP secret, code and recovery code the journey used."""

from __future__ import annotations

import json
import re

import boto3

from chalicelib.services import Services
from tests.conftest import Api, FakeClock
from tests.security.test_log_hygiene import Secrets, journey


def stored_events(services: Services) -> list[dict]:
    settings = services.settings
    client = boto3.client("dynamodb", endpoint_url=settings.dynamodb_endpoint, region_name=settings.aws_region)
    items: list[dict] = []
    for page in client.get_paginator("scan").paginate(TableName=settings.table_name("events")):
        items += page["Items"]
    return items


def test_no_secret_of_a_whole_journey_reaches_any_event(api: Api, services: Services, clock: FakeClock) -> None:
    seen = Secrets()
    journey(api, clock, seen)
    alice = api.login("alice").body["token"]
    listed = []
    cursor = ""
    while cursor is not None:
        page = api.get(f"/v1/user/events?cursor={cursor}", token=alice).body
        listed += page["events"]
        cursor = page["next_cursor"]
    stored = stored_events(services)
    types = {e["type"] for e in listed}
    # The journey's own events are there (so the search below searched something).
    assert {"signup", "login", "login.failed", "api_key.created", "api_key.deleted"} <= types, types
    assert {"two_factor.enabled", "two_factor.disabled", "recovery_code.used"} <= types, types
    text = json.dumps(stored) + json.dumps(listed)
    leaked = sorted(value for value in seen.values if value in text)
    leaked += sorted(code for code in seen.codes if re.search(rf"(?<![0-9A-Za-z]){code}(?![0-9A-Za-z])", text))
    assert leaked == [], f"secrets in events: {[v[:12] + '...' for v in leaked]}"
