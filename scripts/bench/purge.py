"""The purge's cost as the data grows: items read per expired item and BatchWriteItem calls per 25
expired items, with 10,000 live sessions and then ten times as many, 1,000 expired each time."""

from __future__ import annotations

import argparse
import time

from common import endpoint

EXPIRED = 1000
NOW = 2_000_000_000


def fill(settings, live: int, expired: int) -> None:  # type: ignore[no-untyped-def]
    from chalicelib.store import dynamo
    from chalicelib.store.tables import SESSIONS, expiry_attributes

    table = settings.table_name("sessions")
    items = []
    for n in range(live + expired):
        # Live sessions expire over the coming week; expired ones over the past two days.
        expires = NOW + 60 + (n * 37) % 600000 if n < live else NOW - 1 - (n * 53) % 172800
        items.append(
            {"session_id": f"s{n:07d}", "user_id": "u", "kind": "session", "created_at": expires - 604800}
            | expiry_attributes(SESSIONS, f"s{n:07d}", expires)
        )
    for chunk in dynamo.chunked(items, 25):
        pending = {table: [{"PutRequest": {"Item": dynamo.to_item(i)}} for i in chunk]}
        while pending:
            pending = dynamo.client().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="dynamodb-local", choices=["dynamodb-local", "moto"])
    parser.add_argument("--live", type=int, default=10000)
    args = parser.parse_args()
    import local_dynamodb

    from chalicelib.config import Settings
    from chalicelib.store.expiry import purge_expired

    db_name, url, stop = endpoint(args.backend)
    print(f"DynamoDB endpoint: {db_name}; {EXPIRED} expired sessions each run")
    print(
        "| live sessions | expired deleted | items read | read per expired | Query calls | BatchWriteItem"
        " | per 25 expired | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|")
    try:
        for n, live in enumerate((args.live, args.live * 10)):
            settings = local_dynamodb.install(Settings(table_prefix=f"purge{n}-", jwt_secret="p" * 48), url)
            fill(settings, live, EXPIRED)
            started = time.perf_counter()
            report = purge_expired(settings, NOW)["sessions"]
            took = time.perf_counter() - started
            print(
                f"| {live:,} | {report.deleted:,} | {report.items_read:,} | {report.items_read / EXPIRED:.2f} | "
                f"{report.queries} | {report.batch_writes} | {report.batch_writes / (EXPIRED / 25):.2f} | {took:.1f} |"
            )
            local_dynamodb.drop_tables(settings)
    finally:
        stop()


if __name__ == "__main__":
    main()
