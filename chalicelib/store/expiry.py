"""Purging expired records from every table that has the ``by_expiry`` index. No Scan."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.tables import EXPIRY_INDEX, TABLES, expiry_bucket

DAY = 86400


@dataclass
class PurgeReport:
    deleted: int = 0
    items_read: int = 0
    queries: int = 0
    batch_writes: int = 0


def purge_expired(settings: Settings, now: int) -> dict[str, PurgeReport]:
    """Delete every record whose ``expires_at`` has passed, table by table.

    It queries the expiry index day by day, from ``purge_lookback_days`` ago to today, for items
    with ``expires_at <= now``: it reads the expired records and nothing else. Older leftovers
    (the job did not run for longer than the look-back) are DynamoDB TTL's to delete.
    """
    days = [expiry_bucket(now - d * DAY) for d in range(settings.purge_lookback_days, -1, -1)]
    reports: dict[str, PurgeReport] = {}
    for table in (t for t in TABLES if t.expires):
        name = settings.table_name(table.name)
        report = reports[table.name] = PurgeReport()
        keys: list[dict[str, object]] = []
        for day in days:
            for page in dynamo.query_pages(
                TableName=name,
                IndexName=EXPIRY_INDEX,
                KeyConditionExpression="expiry_bucket = :day AND expires_at <= :now",
                ExpressionAttributeValues=dynamo.to_item({":day": day, ":now": now}),
            ):
                report.queries += 1
                report.items_read += int(page.get("ScannedCount", 0))
                keys.extend({k: item[k] for k in table.key_names} for item in map(dynamo.from_item, page["Items"]))
                # Delete full batches as they come, keeping memory flat however much expired.
                full = len(keys) - len(keys) % dynamo.BATCH_WRITE_LIMIT
                report.batch_writes += dynamo.delete_many(name, keys[:full])
                report.deleted += full
                del keys[:full]
        report.batch_writes += dynamo.delete_many(name, keys)
        report.deleted += len(keys)
    return reports
