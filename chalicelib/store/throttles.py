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
        reply = dynamo.client().update_item(
            TableName=self.table,
            Key=dynamo.to_item({"key": key}),
            UpdateExpression="ADD #count :one SET expires_at = :exp, expiry_bucket = :bucket",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues=dynamo.to_item(
                {":one": 1, ":exp": expires_at, ":bucket": expiry_attributes(expires_at)["expiry_bucket"]}
            ),
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
                    {":until": until, ":zero": 0, ":min": at_least, ":b": expiry_attributes(until)["expiry_bucket"]}
                ),
            )
        )

    def clear(self, key: str) -> None:
        dynamo.client().delete_item(TableName=self.table, Key=dynamo.to_item({"key": key}))

    def take_slot(self, key: str, now: int, gap: int, per_window: int, window: int) -> int:
        """Take one slot of a rate limit: at most one every ``gap`` seconds and ``per_window`` within
        ``window`` seconds of the window's first. Returns 0 if taken, else the seconds to wait.

        One conditional write decides, so simultaneous requests cannot both take the last slot.
        """
        names = {"#key": "key", "#sent": "sent"}
        expiry = expiry_attributes(now + window)
        # In the current window: one more, if there is room and the last was long enough ago.
        same_window = dynamo.if_condition_holds(
            lambda: dynamo.client().update_item(
                TableName=self.table,
                Key=dynamo.to_item({"key": key}),
                UpdateExpression="SET last_at = :now ADD #sent :one",
                ConditionExpression="window_start > :window_open AND last_at <= :since AND #sent < :max",
                ExpressionAttributeNames={"#sent": "sent"},
                ExpressionAttributeValues=dynamo.to_item(
                    {":now": now, ":since": now - gap, ":window_open": now - window, ":max": per_window, ":one": 1}
                ),
            )
        )
        if same_window is not None:
            return 0
        # No window yet, or the last one is over: this is the first of a new one.
        new_window = dynamo.if_condition_holds(
            lambda: dynamo.client().update_item(
                TableName=self.table,
                Key=dynamo.to_item({"key": key}),
                UpdateExpression="SET window_start = :now, last_at = :now, #sent = :one, "
                "expires_at = :exp, expiry_bucket = :bucket",
                ConditionExpression=(
                    "attribute_not_exists(#key) OR (window_start <= :window_open AND last_at <= :since)"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=dynamo.to_item(
                    {":now": now, ":since": now - gap, ":window_open": now - window, ":one": 1}
                    | {":exp": expiry["expires_at"], ":bucket": expiry["expiry_bucket"]}
                ),
            )
        )
        if new_window is not None:
            return 0
        got = dynamo.get_many(dynamo.Ref(self.table, {"key": key}, dict))[0] or {}
        last_at, start, sent = got.get("last_at", 0), got.get("window_start", 0), got.get("sent", 0)
        if last_at > now - gap:
            return max(1, last_at + gap - now)
        if sent >= per_window and start > now - window:
            return max(1, start + window - now)
        return 1  # changed meanwhile: try again in a moment

    def start_slots(self, key: str, now: int, window: int) -> None:
        """Record that the first slot of a new window was taken now (sign-up's verification mail)."""
        expiry = expiry_attributes(now + window)
        dynamo.client().put_item(
            TableName=self.table,
            Item=dynamo.to_item({"key": key, "window_start": now, "last_at": now, "sent": 1} | expiry),
        )
