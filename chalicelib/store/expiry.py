"""Purging expired records from every table that has the ``by_expiry`` index. No Scan.

Each day of the look-back has one index partition per shard (``tables.expiry_buckets``). The purge
reads them in rounds: one page of at most ``PAGE`` keys from every shard that has more (the
queries of a round run side by side), then deletes what the round found in batches of 25 that
take their keys from the shards in turn. So one BatchWriteItem touches many index partitions, and
no shard of the index takes the purge's whole delete rate. What it reads is the expired records
plus one (empty) Query per shard and day.

Some expired records are jobs to finish before they go: a deleted application's grants (the store
finishes those, ``BEFORE_DELETE``), and a tombstoned account deletion (which only the services know
how to finish: ``purge_expired`` leaves such a table alone unless it is given its finisher).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain, zip_longest
from typing import Any

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.tables import APPLICATIONS, EXPIRY_INDEX, TABLES, USERS, Table, expiry_buckets, expiry_day

DAY = 86400
PAGE = 250  # keys per Query: a round holds at most shards x PAGE keys in memory
WORKERS = 16  # Queries of one round in flight at once

Keys = list[dict[str, Any]]


@dataclass
class PurgeReport:
    deleted: int = 0
    items_read: int = 0
    queries: int = 0
    batch_writes: int = 0
    cascaded: int = 0  # records deleted with these (deleted applications' grants, deleted accounts' records)


def _finish_application_deletions(settings: Settings, keys: Keys) -> int:
    """A deleted application's grants go before its item (which is what lets the purge find them)."""
    from chalicelib.store.grants import GrantStore

    grants = GrantStore(settings)
    return sum(grants.delete_all(str(key["pk"]).removeprefix("APP#")) for key in keys)


# What must be deleted before a table's expired records, by table: returns how many it deleted.
BEFORE_DELETE: dict[str, Callable[[Settings, Keys], int]] = {APPLICATIONS.name: _finish_application_deletions}
# Tables whose expired records only a finisher given to purge_expired may delete (the tombstones of
# account deletions: services/deletion.py removes what each one stands for).
NEEDS_FINISHER = frozenset({USERS.name})

# A finisher: called with a batch of expired keys before they are deleted; returns how many records
# it removed with them.
Finisher = Callable[[Keys], int]


def purge_expired(
    settings: Settings,
    now: int,
    finishers: Mapping[str, Finisher] | None = None,
    only: Collection[str] | None = None,
) -> dict[str, PurgeReport]:
    """Delete every record whose ``expires_at`` has passed, table by table.

    It queries the expiry index shard by shard and day by day, from ``purge_lookback_days`` ago
    to today, for items with ``expires_at <= now``: it reads the expired records and nothing else.
    Older leftovers (the job did not run for longer than the look-back) are DynamoDB TTL's to delete.
    A table of ``NEEDS_FINISHER`` is purged only with its finisher in ``finishers``, and last, so
    that a finisher failing leaves the other tables purged. ``only``: these tables alone.
    """
    finishers = finishers or {}
    days = [expiry_day(now - d * DAY) for d in range(settings.purge_lookback_days, -1, -1)]
    tables = [
        t
        for t in TABLES
        if t.expires and (t.name not in NEEDS_FINISHER or t.name in finishers) and (only is None or t.name in only)
    ]
    dynamo.client()  # created once, before the threads share it
    reports: dict[str, PurgeReport] = {}
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="purge") as pool:
        for table in sorted(tables, key=lambda t: t.name in finishers):
            reports[table.name] = _purge_table(settings, table, days, now, pool, finishers.get(table.name))
    return reports


def _purge_table(
    settings: Settings, table: Table, days: list[str], now: int, pool: ThreadPoolExecutor, finisher: Finisher | None
) -> PurgeReport:
    name = settings.table_name(table.name)
    report = PurgeReport()
    pending: Keys = []

    def delete(keys: Keys) -> None:
        if not keys:
            return
        before = BEFORE_DELETE.get(table.name)
        if before:
            report.cascaded += before(settings, keys)
        if finisher:
            report.cascaded += finisher(keys)
        report.batch_writes += dynamo.delete_many(name, keys)
        report.deleted += len(keys)

    def query(bucket: str, start: dict[str, Any] | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "TableName": name,
            "IndexName": EXPIRY_INDEX,
            "KeyConditionExpression": "expiry_bucket = :bucket AND expires_at <= :now",
            "ExpressionAttributeValues": dynamo.to_item({":bucket": bucket, ":now": now}),
            "Limit": PAGE,
        }
        if start:
            params["ExclusiveStartKey"] = start
        return dict(dynamo.client().query(**params))

    for day in days:
        starts: dict[str, dict[str, Any] | None] = dict.fromkeys(expiry_buckets(table, day))
        while starts:
            buckets = list(starts)
            pages = list(pool.map(query, buckets, [starts[b] for b in buckets]))
            starts = {}
            found: list[Keys] = []
            for bucket, page in zip(buckets, pages, strict=True):
                report.queries += 1
                report.items_read += int(page.get("ScannedCount", 0))
                found.append([{k: item[k] for k in table.key_names} for item in map(dynamo.from_item, page["Items"])])
                if page.get("LastEvaluatedKey"):
                    starts[bucket] = page["LastEvaluatedKey"]
            pending.extend(_in_turn(found))
            # Delete full batches as rounds come, keeping memory flat however much expired.
            full = len(pending) - len(pending) % dynamo.BATCH_WRITE_LIMIT
            delete(pending[:full])
            del pending[:full]
    delete(pending)
    return report


def _in_turn(groups: Sequence[Keys]) -> Iterable[dict[str, Any]]:
    """The keys of every group, one from each in turn."""
    return (key for key in chain.from_iterable(zip_longest(*groups)) if key is not None)
