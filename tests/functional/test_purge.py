"""purge_expired_sessions: invoked as EventBridge would, it deletes what expired and nothing else."""

from __future__ import annotations

from chalicelib.security.tokens import PENDING
from chalicelib.services import Services
from chalicelib.store import dynamo
from tests.conftest import Api, FakeClock, count_dynamodb_calls

WEEK = 604800


def scheduled_event(api: Api) -> dict:
    return api.client.events.generate_cw_event(
        source="aws.events",
        detail_type="Scheduled Event",
        detail={},
        resources=["arn:aws:events:us-east-1:123456789012:rule/latchkey-dev-purge_expired_sessions"],
    )


def session_ids(services: Services) -> set[str]:
    table = services.settings.table_name("sessions")
    pages = dynamo.client().get_paginator("scan").paginate(TableName=table)
    return {dynamo.from_item(i)["session_id"] for p in pages for i in p["Items"]}


def test_purge_deletes_expired_sessions_and_keeps_live_ones(api: Api, services: Services, clock: FakeClock) -> None:
    user_id = api.signup("alice").body["user"]["id"]
    for _ in range(60):
        services.sessions.issue(user_id)
    clock.advance(WEEK // 2)
    fresh_token = services.sessions.issue(user_id).token
    clock.advance(WEEK // 2 - 3600)
    pending = services.sessions.issue(user_id, PENDING)
    clock.advance(3600)  # the first 61 sessions (signup's included) expire now; the pending one an hour ago
    live = services.sessions.verify(fresh_token)[0].session_id

    calls = count_dynamodb_calls()
    reply = api.client.lambda_.invoke("purge_expired_sessions", scheduled_event(api))
    purge_calls = list(calls)
    assert reply.payload["sessions"]["deleted"] == 62
    assert session_ids(services) == {live}
    assert api.get("/v1/user", token=fresh_token).status == 200
    assert api.get("/v1/user", token=pending.token).status == 401
    # It read by the expiry index and deleted in batches of 25: no Scan, 3 batches for 62 sessions.
    assert "Scan" not in purge_calls
    # (The sign-up's verification token and mail counter expired too, each deleted in its own batch.)
    assert reply.payload["sessions"]["batch_writes"] == 3
    assert purge_calls.count("BatchWriteItem") == sum(r["batch_writes"] for r in reply.payload.values())
    assert reply.payload["sessions"]["items_read"] == 62


def test_purge_removes_expired_login_counters(api: Api, services: Services, clock: FakeClock) -> None:
    api.signup("alice")
    api.login("alice", "wrong password")
    throttles = services.settings.table_name("throttles")
    # The account's, the account's from this address, the address's hourly one, and sign-up's
    # verification-mail counter (a day's).
    assert dynamo.client().scan(TableName=throttles)["Count"] == 4
    clock.advance(86400)
    reply = api.client.lambda_.invoke("purge_expired_sessions", scheduled_event(api))
    assert reply.payload["throttles"]["deleted"] == 4
    assert dynamo.client().scan(TableName=throttles)["Count"] == 0


def test_purge_with_nothing_expired_deletes_nothing(api: Api, services: Services) -> None:
    api.signup("alice")
    reply = api.client.lambda_.invoke("purge_expired_sessions", scheduled_event(api))
    assert reply.payload["sessions"]["deleted"] == 0
    assert len(session_ids(services)) == 1


def test_purge_is_scheduled_hourly() -> None:
    from app import app

    [event_source] = [s for s in app.event_sources if s.name == "purge_expired_sessions"]
    assert event_source.schedule_expression.to_string() == "rate(1 hour)"


def test_the_purge_runs_as_often_as_the_integrity_checker_expects() -> None:
    """The checker reports a deletion left for two purge intervals: the interval is the schedule's."""
    import app
    from chalicelib.services.purge import INTERVAL_SECONDS

    [schedule] = app.app.event_sources
    rate = schedule.schedule_expression
    seconds = {"MINUTES": 60, "HOURS": 3600, "DAYS": 86400}[rate.unit]
    assert rate.value * seconds == INTERVAL_SECONDS
