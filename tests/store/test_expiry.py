"""purge_expired (store/expiry.py) against each backend: by the expiry index, day by day, in batches
of 25, through unprocessed items."""

from __future__ import annotations

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.expiry import purge_expired
from chalicelib.store.sessions import Session, SessionStore
from tests.conftest import START, count_dynamodb_calls
from tests.store.test_dynamo import Throttled, stored_session_ids

DAY = 86400


def put_sessions_expiring(settings: Settings, prefix: str, expires_at: list[int]) -> None:
    store = SessionStore(settings)
    for n, when in enumerate(expires_at):
        store.put(Session(f"{prefix}{n:03d}", "u1", "session", created_at=when - DAY, expires_at=when))


def test_purge_deletes_what_expired_over_the_look_back_days_through_unprocessed_items(settings: Settings) -> None:
    # 70 expired sessions over 7 days (10 a day), and 5 that expire within the next second to 3 days.
    put_sessions_expiring(settings, "old", [START - d * DAY - n * 60 for d in range(7) for n in range(10)])
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
