"""Capacity and cost per request: the read and write request units each route consumes, and what a
million such requests cost at DynamoDB's on-demand prices.

Runs the round-trip journey (roundtrips.py) against DynamoDB Local (which reports consumed
capacity; moto does not), with ``ReturnConsumedCapacity=INDEXES`` added to every call by a
botocore hook, and sums what the replies report, table and index writes apart. DynamoDB Local
reports a whole TransactWriteItems as 2 units whatever it holds, where AWS bills 2 write units per
item (per KB): the "billed" columns count 2 per item for transactions and take the rest as reported.

Prices: on-demand, us-east-1, since the November 2024 price cut: $0.625 per million write request
units, $0.125 per million read request units.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from common import endpoint  # first: it puts the project on sys.path
from roundtrips import Bench, Clock, journey

from chalicelib.store import dynamo

WRITE_PRICE = 0.625  # USD per million write request units
READ_PRICE = 0.125  # USD per million read request units
READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


@dataclass
class Capacity:
    reads: float = 0.0
    writes: float = 0.0  # table writes
    index_writes: float = 0.0
    billed_reads: float = 0.0
    billed_writes: float = 0.0  # table and index writes, transactions at 2 per item

    @property
    def cost_per_million(self) -> float:
        return self.billed_reads * READ_PRICE + self.billed_writes * WRITE_PRICE


class Metered(Bench):
    """The round-trip bench, also summing the consumed capacity of each measured request."""

    def __init__(self, client: Any, clock: Clock) -> None:
        super().__init__(client, clock)
        self.current = Capacity()
        self.capacity: list[Capacity] = []
        self._items: dict[int, int] = {}
        events = dynamo.client().meta.events
        events.register("before-parameter-build.dynamodb", self._ask)
        events.register("after-call.dynamodb", self._add)

    def _ask(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        params["ReturnConsumedCapacity"] = "INDEXES"
        if model.name == "TransactWriteItems":
            self._items[id(model)] = len(params.get("TransactItems", []))

    def _add(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        consumed = parsed.get("ConsumedCapacity") or []
        entries = consumed if isinstance(consumed, list) else [consumed]
        read = model.name in READS
        for entry in entries:
            table = float((entry.get("Table") or {}).get("CapacityUnits", entry.get("CapacityUnits", 0)))
            indexes = sum(
                float(i.get("CapacityUnits", 0)) for i in (entry.get("GlobalSecondaryIndexes") or {}).values()
            )
            if read:
                self.current.reads += table + indexes
                self.current.billed_reads += table + indexes
            else:
                self.current.writes += table
                self.current.index_writes += indexes
                self.current.billed_writes += indexes + (0 if model.name == "TransactWriteItems" else table)
        if model.name == "TransactWriteItems":
            self.current.billed_writes += 2 * self._items.pop(id(model), 0)

    def measure(
        self, label: str, credential: str, method: str, path: str, body: Any = None, token: str | None = None
    ) -> Any:
        self.current = Capacity()
        reply = super().measure(label, credential, method, path, body, token)
        self.capacity.append(self.current)
        self.current = Capacity()  # what unmeasured set-up calls consume counts nowhere
        return reply


def main() -> None:
    import local_dynamodb
    from chalice.test import Client

    from app import app
    from chalicelib.config import Settings
    from chalicelib.services import Services, use_services

    db_name, url, stop = endpoint("dynamodb-local")
    kms_url, stop_kms = local_dynamodb.start_moto()  # DynamoDB Local serves no KMS
    try:
        settings = local_dynamodb.install(Settings(table_prefix="capacity-", jwt_secret="c" * 48), url, kms_url)
        clock = Clock()
        use_services(Services(settings, clock))
        with Client(app) as client:
            bench = Metered(client, clock)
            journey(bench)
    finally:
        stop()
        stop_kms()
    if "--json" in sys.argv:
        print(json.dumps([vars(r) | vars(c) for r, c in zip(bench.results, bench.capacity, strict=True)], indent=1))
        return
    print(
        f"DynamoDB endpoint: {db_name}. Units as DynamoDB reports them with ReturnConsumedCapacity=INDEXES; "
        f"billed: transactions at 2 write units per item. Prices: on-demand us-east-1 since November 2024, "
        f"${WRITE_PRICE} per million write and ${READ_PRICE} per million read request units."
    )
    print(
        "| route | credential | status | read units | table write units | index write units | billed read units"
        " | billed write units | USD per million requests |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r, c in zip(bench.results, bench.capacity, strict=True):
        print(
            f"| {r.route} | {r.credential} | {r.status} | {c.reads:g} | {c.writes:g} | {c.index_writes:g} |"
            f" {c.billed_reads:g} | {c.billed_writes:g} | {c.cost_per_million:.2f} |"
        )


if __name__ == "__main__":
    main()
