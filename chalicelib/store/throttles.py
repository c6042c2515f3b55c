"""The throttles table: login failure counters and lockouts, each expiring on its own."""

from __future__ import annotations

from collections.abc import Sequence
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
    lifted_at: int = 0  # when the account's login lockouts were last lifted (a password reset)


def _parse(item: dict[str, Any]) -> Counter:
    return Counter(
        key=item["key"],
        count=item.get("count", 0),
        locked_until=item.get("locked_until", 0),
        expires_at=item["expires_at"],
        lifted_at=item.get("lifted_at", 0),
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
        self.lock_once(key, at_least, until)

    def clear(self, key: str) -> None:
        dynamo.client().delete_item(TableName=self.table, Key=dynamo.to_item({"key": key}))

    def clear_many(self, keys: Sequence[str]) -> None:
        """Delete counters in batches of 25 (a deleted account's: one call instead of one each)."""
        dynamo.delete_many(self.table, ({"key": k} for k in keys))

    def forget_expired(self, key: str, now: int) -> None:
        """Delete a counter whose expiry has passed (TTL deletes late), so that counting starts afresh."""
        dynamo.if_condition_holds(
            lambda: dynamo.client().delete_item(
                TableName=self.table,
                Key=dynamo.to_item({"key": key}),
                ConditionExpression="expires_at <= :now",
                ExpressionAttributeValues=dynamo.to_item({":now": now}),
            )
        )

    def count_unless_locked(self, key: str, now: int, expires_at: int) -> int | None:
        """Add one to a counter unless it is locked at ``now``: one conditional UpdateItem (an atomic
        ADD, so simultaneous failures are each counted once). The new count, or None if locked."""
        reply = dynamo.if_condition_holds(
            lambda: dynamo.client().update_item(
                TableName=self.table,
                Key=dynamo.to_item({"key": key}),
                UpdateExpression="ADD #count :one SET expires_at = :exp, expiry_bucket = :bucket",
                ConditionExpression=_UNLOCKED,
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues=dynamo.to_item(
                    {":one": 1, ":now": now} | _expiry(key, ":exp", ":bucket", expires_at)
                ),
                ReturnValues="UPDATED_NEW",
            )
        )
        return None if reply is None else int(dynamo.from_item(reply["Attributes"])["count"])

    def wait(self, key: str, count: int, until: int, expires_at: int) -> bool:
        """Lock a counter until ``until`` if its count is still ``count`` (a later failure, counted
        meanwhile, sets its own longer wait). True if it locked."""
        written = dynamo.if_condition_holds(
            lambda: dynamo.client().update_item(
                TableName=self.table,
                Key=dynamo.to_item({"key": key}),
                UpdateExpression="SET locked_until = :until, expires_at = :exp, expiry_bucket = :bucket",
                ConditionExpression="#count = :count",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues=dynamo.to_item(
                    {":until": until, ":count": count} | _expiry(key, ":exp", ":bucket", expires_at)
                ),
            )
        )
        return written is not None

    def lock_once(self, key: str, at_least: int, until: int) -> bool:
        """As ``lock``, and True if this call locked it (False: another request did, or the count
        is below ``at_least``)."""
        written = dynamo.if_condition_holds(
            lambda: dynamo.client().update_item(
                TableName=self.table,
                Key=dynamo.to_item({"key": key}),
                UpdateExpression=(
                    "SET locked_until = :until, #count = :zero, expires_at = :exp, expiry_bucket = :bucket"
                ),
                ConditionExpression="#count >= :min",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues=dynamo.to_item(
                    {":until": until, ":zero": 0, ":min": at_least} | _expiry(key, ":exp", ":bucket", until)
                ),
            )
        )
        return written is not None

    def reset(self, key: str) -> None:
        """Start a counter again from zero, unlocked, keeping when it was last lifted; nothing if absent."""
        dynamo.if_condition_holds(
            lambda: dynamo.client().update_item(
                TableName=self.table,
                Key=dynamo.to_item({"key": key}),
                UpdateExpression="SET #count = :zero, locked_until = :zero",
                ConditionExpression="attribute_exists(#key)",
                ExpressionAttributeNames={"#count": "count", "#key": "key"},
                ExpressionAttributeValues=dynamo.to_item({":zero": 0}),
            )
        )

    def take_slot(self, key: str, now: int, gap: int, per_window: int, window: int) -> int:
        """Take one slot of a rate limit: at most one every ``gap`` seconds and ``per_window`` within
        ``window`` seconds of the window's first. Returns 0 if taken, else the seconds to wait.

        One conditional write decides, so simultaneous requests cannot both take the last slot.
        """
        names = {"#key": "key", "#sent": "sent"}
        expiry = expiry_attributes(THROTTLES, key, now + window)
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
        expiry = expiry_attributes(THROTTLES, key, now + window)
        dynamo.client().put_item(
            TableName=self.table,
            Item=dynamo.to_item({"key": key, "window_start": now, "last_at": now, "sent": 1} | expiry),
        )

    def lift(self, key: str, now: int, expires_at: int) -> None:
        """Reset a counter and remember ``now`` as the moment its lockouts were lifted."""
        dynamo.client().update_item(
            TableName=self.table,
            Key=dynamo.to_item({"key": key}),
            UpdateExpression="SET #count = :zero, locked_until = :zero, lifted_at = :now, "
            "expires_at = :exp, expiry_bucket = :bucket",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues=dynamo.to_item(
                {":zero": 0, ":now": now} | _expiry(key, ":exp", ":bucket", expires_at)
            ),
        )


# A counter is locked while ``locked_until`` lies ahead; failures then are neither counted nor lengthen it.
_UNLOCKED = "attribute_not_exists(locked_until) OR locked_until <= :now"


def _expiry(key: str, exp: str, bucket: str, expires_at: int) -> dict[str, Any]:
    """The expression values of the expiry attributes of the counter ``key``."""
    attributes = expiry_attributes(THROTTLES, key, expires_at)
    return {exp: attributes["expires_at"], bucket: attributes["expiry_bucket"]}
