"""The throttles table: login failure counters and lockouts, each expiring on its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.tables import THROTTLES, expiry_attributes


@dataclass(frozen=True)
class Counter:
    key: str
    count: int
    locked_until: int
    expires_at: int


def _parse(item: dict[str, Any]) -> Counter:
    return Counter(
        key=item["key"],
        count=item.get("count", 0),
        locked_until=item.get("locked_until", 0),
        expires_at=item["expires_at"],
    )


class ThrottleStore:
    def __init__(self, settings: Settings) -> None:
        self.table = settings.table_name(THROTTLES.name)

    def ref(self, key: str) -> dynamo.Ref[Counter]:
        return dynamo.Ref(self.table, {"key": key}, _parse)

    def increment(self, key: str, expires_at: int) -> int:
        """Add one to a counter (created at zero) and push its expiry out. Returns the new count."""
        bucket = expiry_attributes(THROTTLES, key, expires_at)["expiry_bucket"]
        reply = dynamo.client().update_item(
            TableName=self.table,
            Key=dynamo.to_item({"key": key}),
            UpdateExpression="ADD #count :one SET expires_at = :exp, expiry_bucket = :bucket",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues=dynamo.to_item({":one": 1, ":exp": expires_at, ":bucket": bucket}),
            ReturnValues="UPDATED_NEW",
        )
        return int(dynamo.from_item(reply["Attributes"])["count"])

    def lock(self, key: str, at_least: int, until: int) -> None:
        """Lock a counter that has reached ``at_least`` until ``until``, and start it again from zero
        (so the next failures after the lockout count afresh)."""
        # A failed condition means another request locked it first: nothing left to do.
        dynamo.if_condition_holds(
            lambda: dynamo.client().update_item(
                TableName=self.table,
                Key=dynamo.to_item({"key": key}),
                UpdateExpression="SET locked_until = :until, #count = :zero, expires_at = :until, expiry_bucket = :b",
                ConditionExpression="#count >= :min",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues=dynamo.to_item(
                    {
                        ":until": until,
                        ":zero": 0,
                        ":min": at_least,
                        ":b": expiry_attributes(THROTTLES, key, until)["expiry_bucket"],
                    }
                ),
            )
        )

    def clear(self, key: str) -> None:
        dynamo.client().delete_item(TableName=self.table, Key=dynamo.to_item({"key": key}))
