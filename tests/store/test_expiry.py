"""purge_expired (store/expiry.py) against each backend: by the expiry index, shard by shard and day by
day, in batches of 25, through unprocessed items."""

from __future__ import annotations

import itertools
from collections import Counter

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.expiry import purge_expired
from chalicelib.store.sessions import Session, SessionStore
from chalicelib.store.tables import SESSIONS, expiry_attributes, expiry_buckets, expiry_day, expiry_shard
from tests.conftest import START, count_dynamodb_calls
from tests.store.test_dynamo import Throttled, stored_session_ids

DAY = 86400


def put_sessions_expiring(settings: Settings, prefix: str, expires_at: list[int]) -> None:
    store = SessionStore(settings)
    for n, when in enumerate(expires_at):
        store.put(Session(f"{prefix}{n:03d}", "u1", "session", created_at=when - DAY, expires_at=when))


def test_purge_deletes_what_expired_over_the_look_back_days_through_unprocessed_items(settings: Settings) -> None:
    # 70 expired sessions over the 2 days looked back over, and 5 that expire within the next second to 3 days.
    assert settings.purge_lookback_days == 1
    put_sessions_expiring(settings, "old", [START - d * DAY - n * 60 for d in range(2) for n in range(35)])
    put_sessions_expiring(settings, "live", [START + 1, START + 60, START + DAY, START + 2 * DAY, START + 3 * DAY])
    throttled = Throttled("BatchWriteItem", take=7, times=4)
    calls = count_dynamodb_calls()
    report = purge_expired(settings, START)["sessions"]
    purge_calls = list(calls)
    assert stored_session_ids(settings) == {f"live{n:03d}" for n in range(5)}
    assert (report.deleted, report.items_read) == (70, 70)
    # 70 keys in 3 batches (25, 25, 20); the first 4 calls processed 7 each, so the first batch
    # took 4 calls (7+7+7+4) and the others one each.
    assert throttled.sizes == [25, 18, 11, 4, 25, 20]
    assert report.batch_writes == purge_calls.count("BatchWriteItem") == 6
    assert "Scan" not in purge_calls


def test_purge_counts_the_second_of_expiry_as_expired(settings: Settings) -> None:
    put_sessions_expiring(settings, "s", [START - 1, START, START + 1])
    assert purge_expired(settings, START)["sessions"].deleted == 2
    assert stored_session_ids(settings) == {"s002"}


def test_purge_leaves_records_older_than_the_look_back_to_ttl(settings: Settings) -> None:
    lookback = settings.purge_lookback_days
    put_sessions_expiring(settings, "s", [START - lookback * DAY, START - (lookback + 1) * DAY])
    assert purge_expired(settings, START)["sessions"].deleted == 1
    assert stored_session_ids(settings) == {"s001"}
    assert dynamo.client().describe_time_to_live(TableName=settings.table_name("sessions"))[
        "TimeToLiveDescription"
    ] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def ids_one_per_shard(prefix: str) -> list[str]:
    """One session id for each of the sessions table's expiry shards."""
    found: dict[int, str] = {}
    for n in itertools.count():
        found.setdefault(expiry_shard(SESSIONS, f"{prefix}{n}"), f"{prefix}{n}")
        if len(found) == SESSIONS.expiry_shards:
            return [found[s] for s in range(SESSIONS.expiry_shards)]
    raise AssertionError


def test_the_purge_finds_every_expired_record_in_every_shard_and_nothing_live(settings: Settings) -> None:
    expired, live = ids_one_per_shard("expired"), ids_one_per_shard("live")
    items = [
        {"session_id": session_id, "user_id": "u1", "kind": "session", "created_at": 1}
        | expiry_attributes(SESSIONS, session_id, when)
        for ids, when in ((expired, START - 60), (live, START + 60))
        for session_id in ids
    ]
    assert {i["expiry_bucket"] for i in items} == set(expiry_buckets(SESSIONS, expiry_day(START)))
    table = settings.table_name("sessions")
    for chunk in dynamo.chunked(items, dynamo.BATCH_WRITE_LIMIT):
        pending = {table: [{"PutRequest": {"Item": dynamo.to_item(i)}} for i in chunk]}
        while pending:
            pending = dynamo.client().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    report = purge_expired(settings, START)["sessions"]
    assert stored_session_ids(settings) == set(live)
    assert (report.deleted, report.items_read) == (len(expired), len(expired))
    # One Query per shard and day looked back over, and batches of 25 that mix the shards.
    assert report.queries == SESSIONS.expiry_shards * (settings.purge_lookback_days + 1)
    assert report.batch_writes == -(-len(expired) // dynamo.BATCH_WRITE_LIMIT)


def test_a_record_keeps_its_shard_and_the_shards_spread_evenly() -> None:
    assert (
        expiry_attributes(SESSIONS, "abc", START)["expiry_bucket"]
        == expiry_attributes(SESSIONS, "abc", START + 1)["expiry_bucket"]
    )
    counts = Counter(expiry_shard(SESSIONS, f"s{n}") for n in range(128_000))
    assert set(counts) == set(range(SESSIONS.expiry_shards))
    assert max(counts.values()) < 1.1 * 1000  # 1,000 a shard on average
