"""The DynamoDB client and the few operations every store shares.

The client is created lazily and cached (moto or DynamoDB Local must be reachable before the first
call, and tests reset it). Items are converted with boto3's serializers; numbers come back as int.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.config import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")
Item = dict[str, Any]

_client: DynamoDBClient | None = None
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

BATCH_WRITE_LIMIT = 25  # DynamoDB's limit per BatchWriteItem
BATCH_GET_LIMIT = 100  # DynamoDB's limit per BatchGetItem
_MAX_BATCH_ATTEMPTS = 8


def client() -> DynamoDBClient:
    """The process's DynamoDB client, created on first use from the settings."""
    global _client
    if _client is None:
        import boto3
        from botocore.config import Config

        settings = get_settings()
        _client = boto3.client(
            "dynamodb",
            region_name=settings.aws_region,
            endpoint_url=settings.dynamodb_endpoint or None,
            config=Config(
                retries={"mode": "standard", "max_attempts": 4},
                connect_timeout=2,
                read_timeout=5,
                tcp_keepalive=True,
            ),
        )
    return _client


def reset_client() -> None:
    """Forget the cached client (tests point the next one at another endpoint)."""
    global _client
    _client = None


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Python values to DynamoDB attribute values; None values are left out."""
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> Item:
    """DynamoDB attribute values to Python values; whole numbers become int."""
    out: Item = {}
    for k, v in item.items():
        value = _deserializer.deserialize(v)
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        out[k] = value
    return out


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_condition_failure(exc: ClientError) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


def cancellation_reasons(exc: ClientError) -> list[str]:
    """The per-item reason codes of a cancelled transaction ('None' for items that were fine)."""
    reasons = exc.response.get("CancellationReasons") or []
    return [str(r.get("Code", "None")) for r in reasons]


@dataclass(frozen=True)
class Ref(Generic[T]):
    """One item to fetch: its table, its key, and how to turn it into a dataclass."""

    table: str
    key: Mapping[str, Any]
    parse: Callable[[Item], T]


KEY_VALUE_MAX_BYTES = 2048  # DynamoDB's limit for a partition key value (a sort key's is 1024)


def could_exist(key: Mapping[str, Any]) -> bool:
    """False for a key that DynamoDB could never have stored: an empty or oversized string value.

    DynamoDB answers a read of such a key with a ValidationException (moto just finds nothing), so
    a lookup by an id from a request would otherwise be a 500 instead of a 404.
    """
    return all(not isinstance(v, str) or 0 < len(v.encode()) <= KEY_VALUE_MAX_BYTES for v in key.values())


def get_many(*refs: Ref[Any]) -> list[Any]:
    """Fetch items from any tables in one BatchGetItem (retrying unprocessed keys).

    Returns one parsed value or None per ref, in order (None without asking for a key that
    could not exist). At most 100 refs.
    """
    if not all(could_exist(ref.key) for ref in refs):
        wanted_refs = [ref for ref in refs if could_exist(ref.key)]
        found_by_ref = dict(zip(map(id, wanted_refs), get_many(*wanted_refs), strict=True))
        return [found_by_ref.get(id(ref)) for ref in refs]
    if not refs:
        return []
    if len(refs) == 1:
        ref = refs[0]
        got = client().get_item(TableName=ref.table, Key=to_item(ref.key), ConsistentRead=True).get("Item")
        return [ref.parse(from_item(got)) if got else None]
    assert len(refs) <= BATCH_GET_LIMIT
    wanted: dict[str, Any] = {}
    for ref in refs:
        entry = wanted.setdefault(ref.table, {"Keys": [], "ConsistentRead": True})
        key = to_item(ref.key)
        if key not in entry["Keys"]:
            entry["Keys"].append(key)
    found: list[tuple[str, Item]] = []
    for attempt in range(_MAX_BATCH_ATTEMPTS):
        reply = client().batch_get_item(RequestItems=wanted)
        for table, items in reply.get("Responses", {}).items():
            found.extend((table, from_item(item)) for item in items)
        wanted = reply.get("UnprocessedKeys") or {}
        if not wanted:
            break
        _backoff(attempt)
    else:
        raise RuntimeError("BatchGetItem left keys unprocessed after retries")
    results: list[Any] = []
    for ref in refs:
        match = next(
            (item for table, item in found if table == ref.table and all(item.get(k) == v for k, v in ref.key.items())),
            None,
        )
        results.append(ref.parse(match) if match is not None else None)
    return results


def delete_many(table: str, keys: Iterable[Mapping[str, Any]]) -> int:
    """Delete items in BatchWriteItem calls of at most 25, retrying unprocessed ones. Returns calls made."""
    calls = 0
    for chunk in chunked(list(keys), BATCH_WRITE_LIMIT):
        pending: dict[str, Any] = {table: [{"DeleteRequest": {"Key": to_item(k)}} for k in chunk]}
        for attempt in range(_MAX_BATCH_ATTEMPTS):
            calls += 1
            pending = client().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            _backoff(attempt)
        else:
            raise RuntimeError("BatchWriteItem left items unprocessed after retries")
    return calls


def query_pages(**params: Any) -> Iterator[dict[str, Any]]:
    """Every page of a Query, following LastEvaluatedKey."""
    while True:
        page: dict[str, Any] = dict(client().query(**params))
        yield page
        last = page.get("LastEvaluatedKey")
        if not last:
            return
        params["ExclusiveStartKey"] = last


def chunked(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _backoff(attempt: int) -> None:
    time.sleep(min(1.0, 0.02 * (2**attempt)))


class InvalidCursorError(ValueError):
    """A list cursor that this service did not issue for this list."""


def encode_cursor(key: Mapping[str, Any]) -> str:
    import base64
    import json

    raw = json.dumps(dict(key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fields: Sequence[str], fixed: Mapping[str, Any]) -> dict[str, Any]:
    """Decode a cursor; it must hold exactly ``fields`` as non-empty strings and agree with ``fixed``.

    DynamoDB refuses an empty string in a key (moto lets it pass), so an empty value would be a 500.
    """
    import base64
    import binascii
    import json

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: a cursor of nested brackets (found by hypothesis; it was a 500).
        raise InvalidCursorError("not a cursor") from None
    if not isinstance(key, dict) or set(key) != set(fields) or not all(isinstance(v, str) and v for v in key.values()):
        raise InvalidCursorError("not a cursor")
    if any(key.get(k) != v for k, v in fixed.items()):
        raise InvalidCursorError("not a cursor for this list")
    return key


def query_page(
    params: dict[str, Any], limit: int, cursor: str | None, key_fields: Sequence[str], fixed: Mapping[str, Any]
) -> tuple[list[Item], str | None]:
    """One page of a Query: at most ``limit`` items and the cursor of the next page (None at the end).

    ``key_fields`` are the attributes that make up the query's LastEvaluatedKey (table and index
    keys); ``fixed`` are those the cursor must agree with (the partition being listed). It reads
    one item more than it returns, so the last page never ends in an empty one.
    """
    params = dict(params)
    if cursor:
        params["ExclusiveStartKey"] = to_item(decode_cursor(cursor, key_fields, fixed))
    items: list[Item] = []
    while len(items) <= limit:
        params["Limit"] = limit + 1 - len(items)
        page = client().query(**params)
        items.extend(from_item(i) for i in page.get("Items", []))
        if not page.get("LastEvaluatedKey"):
            break
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    return items, encode_cursor({k: items[-1][k] for k in key_fields})


ConditionFailureHandler = Callable[[list[int]], None]


def transact(items: list[dict[str, Any]], on_condition_failure: ConditionFailureHandler) -> None:
    """TransactWriteItems (at most 100 items), retried when it lost a race with another transaction.

    When conditions fail, ``on_condition_failure`` gets the positions of the failed items and raises
    the domain error; a transaction that keeps conflicting raises the ClientError.
    """
    assert len(items) <= 100
    for attempt in range(_MAX_BATCH_ATTEMPTS):
        try:
            client().transact_write_items(TransactItems=items)  # type: ignore[arg-type]
            return
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = cancellation_reasons(exc)
            failed = [i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"]
            if failed:
                on_condition_failure(failed)
                raise
            if "TransactionConflict" not in reasons or attempt == _MAX_BATCH_ATTEMPTS - 1:
                raise
        _backoff(attempt)


def if_condition_holds(write: Callable[[], T]) -> T | None:
    """Run a conditional write: its reply, or None when its condition failed."""
    try:
        return write()
    except ClientError as exc:
        if is_condition_failure(exc):
            return None
        raise


class _GroupsFailedError(Exception):
    """Some groups of a packed transaction failed their conditions (internal to transact_groups)."""


def transact_groups(groups: Sequence[list[dict[str, Any]]], per_transaction: int) -> list[bool]:
    """Write ``groups`` of transaction entries, each group all or nothing (a change and its event),
    packed ``per_transaction`` groups to a TransactWriteItems (at most 100 entries in all).

    A group whose condition fails is left out and the others of its transaction are written again
    without it, so a request dying midway leaves each group whole: written, or not. Returns, per
    group, whether it was written.
    """
    written = [False] * len(groups)
    for chunk in chunked(range(len(groups)), per_transaction):
        todo = list(chunk)
        while todo:
            entries: list[dict[str, Any]] = []
            owners: list[int] = []
            for g in todo:
                entries += groups[g]
                owners += [g] * len(groups[g])
            failed: set[int] = set()

            def note(positions: list[int], failed: set[int] = failed, owners: list[int] = owners) -> None:
                failed.update(owners[p] for p in positions)
                raise _GroupsFailedError

            try:
                transact(entries, on_condition_failure=note)
            except _GroupsFailedError:
                todo = [g for g in todo if g not in failed]
                continue
            for g in todo:
                written[g] = True
            break
    return written
