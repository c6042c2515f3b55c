"""The shared store operations (store/dynamo.py) against each backend: batch limits, unprocessed
items, transactions, conditional updates and paginated queries, where moto and DynamoDB differ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.config import Settings
from chalicelib.errors import ServiceUnavailableError
from chalicelib.store import dynamo
from chalicelib.store.throttles import ThrottleStore
from tests.conftest import count_dynamodb_calls


def sessions_table(settings: Settings) -> str:
    return settings.table_name("sessions")


def put_sessions(settings: Settings, count: int) -> list[dict[str, str]]:
    keys = [{"session_id": f"s{n:03d}"} for n in range(count)]
    for key in keys:
        item = key | {"user_id": "u1", "kind": "session", "created_at": 1, "expires_at": 2}
        item |= {"expiry_bucket": "1970-01-01"}
        dynamo.client().put_item(TableName=sessions_table(settings), Item=dynamo.to_item(item))
    return keys


def stored_session_ids(settings: Settings) -> set[str]:
    pages = dynamo.client().get_paginator("scan").paginate(TableName=sessions_table(settings))
    return {dynamo.from_item(i)["session_id"] for p in pages for i in p["Items"]}


class Throttled:
    """DynamoDB under load: the next ``times`` batch calls each process only ``take`` requests and
    hand the rest back as unprocessed, as DynamoDB does when a partition is throttled (with
    ``take=0`` they process all but report all unprocessed: a delete or a read may be repeated)."""

    def __init__(self, operation: str, take: int, times: int) -> None:
        self.operation, self.take, self.times = operation, take, times
        self.held: dict[str, Any] | None = None
        self.sizes: list[int] = []
        events = dynamo.client().meta.events
        events.register(f"provide-client-params.dynamodb.{operation}", self.before)
        events.register(f"after-call.dynamodb.{operation}", self.after)

    def before(self, params: dict[str, Any], **_: Any) -> None:
        requests = params["RequestItems"]
        self.sizes.append(sum(len(self._entries(v)) for v in requests.values()))
        self.held = None
        if self.times <= 0:
            return
        self.times -= 1
        [(table, value)] = requests.items()
        entries = self._entries(value)
        held = list(entries[self.take :] if self.take else entries)
        del entries[self.take or len(entries) :]
        if held:
            self.held = {table: value | {"Keys": held}} if self.operation == "BatchGetItem" else {table: held}

    def after(self, parsed: dict[str, Any], **_: Any) -> None:
        if self.held:
            parsed["UnprocessedKeys" if self.operation == "BatchGetItem" else "UnprocessedItems"] = self.held

    def _entries(self, value: Any) -> list[Any]:
        return value["Keys"] if self.operation == "BatchGetItem" else value


def test_delete_many_writes_batches_of_25_and_deletes_everything(settings: Settings) -> None:
    keys = put_sessions(settings, 60)
    calls = count_dynamodb_calls()
    assert dynamo.delete_many(sessions_table(settings), keys) == 3
    assert calls == ["BatchWriteItem"] * 3
    assert stored_session_ids(settings) == set()


def test_a_batch_of_26_is_refused_by_dynamodb_so_delete_many_never_sends_one(settings: Settings) -> None:
    keys = put_sessions(settings, 26)
    sizes = Throttled("BatchWriteItem", take=25, times=0).sizes
    dynamo.delete_many(sessions_table(settings), keys)
    assert sizes == [25, 1]


def test_delete_many_retries_unprocessed_items_until_all_are_deleted(settings: Settings) -> None:
    keys = put_sessions(settings, 30)
    throttled = Throttled("BatchWriteItem", take=10, times=3)
    assert dynamo.delete_many(sessions_table(settings), keys) == 4  # 25 as 10+10+5 (two retries), then 5
    assert throttled.sizes == [25, 15, 5, 5]
    assert stored_session_ids(settings) == set()


def test_delete_many_gives_up_when_items_stay_unprocessed(settings: Settings) -> None:
    keys = put_sessions(settings, 3)
    Throttled("BatchWriteItem", take=0, times=100)
    with pytest.raises(ServiceUnavailableError) as gave_up:  # the request answers 503, retry later
        dynamo.delete_many(sessions_table(settings), keys)
    assert isinstance(gave_up.value.__cause__, dynamo.RetriesExhaustedError)


def test_get_many_retries_unprocessed_keys_and_keeps_the_order(settings: Settings) -> None:
    keys = put_sessions(settings, 5)
    table = sessions_table(settings)
    refs = [dynamo.Ref(table, k, lambda item: item["session_id"]) for k in reversed(keys)]
    throttled = Throttled("BatchGetItem", take=2, times=2)
    assert dynamo.get_many(*refs) == ["s004", "s003", "s002", "s001", "s000"]
    assert throttled.sizes == [5, 3, 1]


def test_get_many_reads_100_keys_with_repeats_and_misses_in_one_call(settings: Settings) -> None:
    # DynamoDB refuses a BatchGetItem that names one key twice; get_many sends each key once.
    keys = put_sessions(settings, 40)
    table = sessions_table(settings)
    wanted = keys + keys + [{"session_id": f"missing{n}"} for n in range(20)]
    calls = count_dynamodb_calls()
    found = dynamo.get_many(*(dynamo.Ref(table, k, lambda item: item["session_id"]) for k in wanted))
    assert calls == ["BatchGetItem"]
    assert found == [k["session_id"] for k in keys] * 2 + [None] * 20


def test_transact_reports_which_conditions_failed(settings: Settings) -> None:
    table = settings.table_name("users")
    dynamo.client().put_item(TableName=table, Item=dynamo.to_item({"pk": "B", "user_id": "b"}))

    def put(pk: str) -> dict[str, Any]:
        item = dynamo.to_item({"pk": pk, "user_id": "new"})
        return {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}

    failures: list[list[int]] = []
    with pytest.raises(ClientError):
        dynamo.transact([put("A"), put("B"), put("C")], on_condition_failure=failures.append)
    assert failures == [[1]]
    got = dynamo.get_many(*(dynamo.Ref(table, {"pk": pk}, lambda item: item["user_id"]) for pk in "ABC"))
    assert got == [None, "b", None]  # nothing of the cancelled transaction was written


def test_a_conditional_update_that_fails_changes_nothing(settings: Settings) -> None:
    store = ThrottleStore(settings)
    for _ in range(3):
        store.increment("k", expires_at=100)
    store.lock("k", at_least=5, until=200)  # the condition fails: not locked, count kept
    [counter] = dynamo.get_many(store.ref("k"))
    assert (counter.count, counter.locked_until, counter.expires_at) == (3, 0, 100)
    store.lock("k", at_least=3, until=200)
    [counter] = dynamo.get_many(store.ref("k"))
    assert (counter.count, counter.locked_until, counter.expires_at) == (0, 200, 200)


@pytest.fixture
def grants(settings: Settings) -> Iterator[str]:
    """A user with 7 grants (app ids a0..a6), listed by the grants table's by_user index."""
    table = settings.table_name("grants")
    for n in range(7):
        item = {"app_id": f"a{n}", "user_id": "u1", "role": "viewer"}
        dynamo.client().put_item(TableName=table, Item=dynamo.to_item(item))
    dynamo.client().put_item(TableName=table, Item=dynamo.to_item({"app_id": "a0", "user_id": "u2"}))
    yield table


def list_grants(table: str, limit: int, cursor: str | None) -> tuple[list[str], str | None]:
    params = {
        "TableName": table,
        "IndexName": "by_user",
        "KeyConditionExpression": "user_id = :u",
        "ExpressionAttributeValues": dynamo.to_item({":u": "u1"}),
    }
    items, following = dynamo.query_page(params, limit, cursor, ("app_id", "user_id"), {"user_id": "u1"})
    return [i["app_id"] for i in items], following


@pytest.mark.parametrize("limit", [1, 2, 3, 6, 7, 8, 100])
def test_query_page_walks_an_index_page_by_page(grants: str, limit: int) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        ids, cursor = list_grants(grants, limit, cursor)
        pages += 1
        assert 0 < len(ids) <= limit
        seen += ids
        if cursor is None:
            break
    assert seen == [f"a{n}" for n in range(7)]
    assert pages == -(-7 // limit)  # no empty last page


BAD_CURSORS = {
    "not base64": "%%%",
    "another user's list": dynamo.encode_cursor({"app_id": "a1", "user_id": "u2"}),
    "missing a field": dynamo.encode_cursor({"user_id": "u1"}),
    "a number": dynamo.encode_cursor({"app_id": 5, "user_id": "u1"}),
    "an empty key value": dynamo.encode_cursor({"app_id": "", "user_id": "u1"}),
}


@pytest.mark.parametrize("kind", list(BAD_CURSORS))
def test_query_page_refuses_cursors_it_did_not_issue(grants: str, kind: str) -> None:
    with pytest.raises(dynamo.InvalidCursorError):
        list_grants(grants, 2, BAD_CURSORS[kind])


def test_a_cursor_past_the_last_item_gives_an_empty_last_page(grants: str) -> None:
    assert list_grants(grants, 2, dynamo.encode_cursor({"app_id": "zzz", "user_id": "u1"})) == ([], None)


def test_get_many_finds_nothing_under_keys_dynamodb_could_not_hold(settings: Settings) -> None:
    # DynamoDB refuses to read an empty or oversized key value (moto finds nothing): not found, not a 500.
    [key] = put_sessions(settings, 1)
    table = sessions_table(settings)
    weird = [{"session_id": ""}, {"session_id": "x" * 2049}, {"session_id": "é" * 1025}]
    refs = [dynamo.Ref(table, k, lambda item: item["session_id"]) for k in [*weird, key]]
    calls = count_dynamodb_calls()
    assert dynamo.get_many(*refs) == [None, None, None, "s000"]
    assert dynamo.get_many(*refs[:1]) == [None]
    assert calls == ["GetItem"]


class Conflicting:
    """The next ``times`` TransactWriteItems lose a race with another transaction, as on DynamoDB
    under contention (neither moto nor DynamoDB Local, which run transactions one at a time, does it)."""

    def __init__(self, times: int) -> None:
        self.times = times
        dynamo.client().meta.events.register("before-call.dynamodb.TransactWriteItems", self.before)

    def before(self, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if self.times <= 0:
            return None
        self.times -= 1
        count = len(json.loads(params["body"])["TransactItems"])
        reasons = [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (count - 1)
        error = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
        return type("Reply", (), {"status_code": 400})(), {"Error": error, "CancellationReasons": reasons}


def test_transact_retries_a_transaction_that_lost_a_race(settings: Settings) -> None:
    table = settings.table_name("users")
    item = dynamo.to_item({"pk": "A"})
    put = {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
    lost = Conflicting(times=2)
    dynamo.transact([put], on_condition_failure=lambda failed: None)
    assert lost.times == 0  # lost twice, then went through
    assert dynamo.get_many(dynamo.Ref(table, {"pk": "A"}, lambda item: item["pk"])) == ["A"]
    always = Conflicting(times=100)
    with pytest.raises(ServiceUnavailableError) as gave_up:  # the request answers 503, retry later
        dynamo.transact([put], on_condition_failure=lambda failed: None)
    assert isinstance(gave_up.value.__cause__, ClientError)
    assert always.times == 100 - 8  # it gave up after 8 attempts
