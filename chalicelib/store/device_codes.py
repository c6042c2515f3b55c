"""The device codes table (RFC 8628's device authorization grant): two items per request, each
keyed by the SHA-256 of its code, never the code itself.

- The request, under its device code's hash: who asked (the client's name, address and user agent),
  its state (``pending``, ``approved``, ``denied``, ``used``), the polling interval and the last
  poll, and once decided, by whom and when.
- The user code's item, under the user code's hash: the request's device code hash and what the
  approval page shows, so that a lookup is one read. It is deleted when the request is decided, so
  a user code is approved or denied once.

Both expire with the request (10 minutes, TTL and the purge); an approval is only a mark on the
request: the session is issued when the client polls, in one transaction that spends the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.tables import DEVICE_CODES, expiry_attributes

PENDING, APPROVED, DENIED, USED = "pending", "approved", "denied", "used"
REQUEST, USER_CODE = "request", "user_code"


@dataclass(frozen=True)
class DeviceRequest:
    device_hash: str
    user_code_hash: str
    client_name: str
    created_at: int
    expires_at: int
    interval: int
    status: str = PENDING
    address: str | None = None
    user_agent: str | None = None
    polled_at: int | None = None
    user_id: str | None = None  # who approved or denied it
    decided_at: int | None = None


@dataclass(frozen=True)
class UserCode:
    user_code_hash: str
    device_hash: str
    client_name: str
    created_at: int
    expires_at: int
    address: str | None = None
    user_agent: str | None = None


class DeviceCodeTakenError(Exception):
    """A new request's user code (or, never in practice, device code) is another live request's."""


class DeviceRequestChangedError(Exception):
    """The request was decided, polled, spent or expired since it was read."""


def _parse(item: dict[str, Any]) -> DeviceRequest | UserCode:
    if item.get("kind") == USER_CODE:
        return UserCode(
            user_code_hash=item["code_hash"],
            device_hash=item["device_hash"],
            client_name=item["client_name"],
            created_at=item["created_at"],
            expires_at=item["expires_at"],
            address=item.get("address"),
            user_agent=item.get("user_agent"),
        )
    return DeviceRequest(
        device_hash=item["code_hash"],
        user_code_hash=item["user_code_hash"],
        client_name=item["client_name"],
        created_at=item["created_at"],
        expires_at=item["expires_at"],
        interval=item["interval"],
        status=item["status"],
        address=item.get("address"),
        user_agent=item.get("user_agent"),
        polled_at=item.get("polled_at"),
        user_id=item.get("user_id"),
        decided_at=item.get("decided_at"),
    )


def _request_only(item: dict[str, Any]) -> DeviceRequest | None:
    parsed = _parse(item)
    return parsed if isinstance(parsed, DeviceRequest) else None


def _user_code_only(item: dict[str, Any]) -> UserCode | None:
    parsed = _parse(item)
    return parsed if isinstance(parsed, UserCode) else None


class DeviceCodeStore:
    def __init__(self, settings: Settings) -> None:
        self.table = settings.table_name(DEVICE_CODES.name)

    def request_ref(self, device_hash: str) -> dynamo.Ref[DeviceRequest | None]:
        return dynamo.Ref(self.table, {"code_hash": device_hash}, _request_only)

    def user_code_ref(self, user_code_hash: str) -> dynamo.Ref[UserCode | None]:
        return dynamo.Ref(self.table, {"code_hash": user_code_hash}, _user_code_only)

    def create(self, request: DeviceRequest) -> None:
        """Store a new request and its user code in one transaction. Raises DeviceCodeTakenError if
        either hash is taken (a user code drawn twice: the caller draws again)."""
        shown = {
            "client_name": request.client_name,
            "created_at": request.created_at,
            "address": request.address,
            "user_agent": request.user_agent,
        }
        items = [
            {"code_hash": request.device_hash, "kind": REQUEST, "user_code_hash": request.user_code_hash}
            | shown
            | {"interval": request.interval, "status": request.status}
            | expiry_attributes(DEVICE_CODES, request.device_hash, request.expires_at),
            {"code_hash": request.user_code_hash, "kind": USER_CODE, "device_hash": request.device_hash}
            | shown
            | expiry_attributes(DEVICE_CODES, request.user_code_hash, request.expires_at),
        ]
        puts = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": dynamo.to_item(item),
                    "ConditionExpression": "attribute_not_exists(code_hash)",
                }
            }
            for item in items
        ]

        def taken(failed: list[int]) -> None:
            raise DeviceCodeTakenError

        dynamo.transact(puts, on_condition_failure=taken)

    def polled(self, request: DeviceRequest, now: int, interval: int) -> None:
        """Record a poll of a pending request (and its interval, grown after a ``slow_down``), on the
        condition that no other poll came since it was read. Raises DeviceRequestChangedError."""
        condition = "#status = :pending AND "
        values: dict[str, Any] = {":pending": PENDING, ":now": now, ":interval": interval}
        if request.polled_at is None:
            condition += "attribute_not_exists(polled_at)"
        else:
            condition += "polled_at = :last"
            values[":last"] = request.polled_at
        done = dynamo.if_condition_holds(
            lambda: dynamo.client().update_item(
                TableName=self.table,
                Key=dynamo.to_item({"code_hash": request.device_hash}),
                UpdateExpression="SET polled_at = :now, #interval = :interval",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status", "#interval": "interval"},
                ExpressionAttributeValues=dynamo.to_item(values),
            )
        )
        if done is None:
            raise DeviceRequestChangedError

    def decide_entries(self, code: UserCode, status: str, user_id: str, now: int) -> list[dict[str, Any]]:
        """Transaction entries deciding a live pending request (``approved`` or ``denied`` by
        ``user_id``) and spending its user code: they fail if it was decided meanwhile or expired."""
        return [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": dynamo.to_item({"code_hash": code.device_hash}),
                    "UpdateExpression": "SET #status = :status, user_id = :user, decided_at = :now",
                    "ConditionExpression": "#status = :pending AND expires_at > :now",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": dynamo.to_item(
                        {":status": status, ":user": user_id, ":now": now, ":pending": PENDING}
                    ),
                }
            },
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": dynamo.to_item({"code_hash": code.user_code_hash}),
                    "ConditionExpression": "attribute_exists(code_hash)",
                }
            },
        ]

    def spend_entry(self, request: DeviceRequest, now: int) -> dict[str, Any]:
        """A transaction entry marking an approved request used: it fails unless it is still
        approved (by the same user) and live, so one approval gives one session."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": dynamo.to_item({"code_hash": request.device_hash}),
                "UpdateExpression": "SET #status = :used, polled_at = :now",
                "ConditionExpression": "#status = :approved AND user_id = :user AND expires_at > :now",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": dynamo.to_item(
                    {":used": USED, ":approved": APPROVED, ":user": request.user_id, ":now": now}
                ),
            }
        }

    def decided_by(self, user_id: str) -> list[str]:
        """The hashes of the requests ``user_id`` approved or denied (from the index, which may lag
        a moment): an account's deletion removes them."""
        hashes: list[str] = []
        for page in dynamo.query_pages(
            TableName=self.table,
            IndexName="by_user",
            KeyConditionExpression="user_id = :user",
            ExpressionAttributeValues=dynamo.to_item({":user": user_id}),
        ):
            hashes += [str(dynamo.from_item(i)["code_hash"]) for i in page.get("Items", [])]
        return hashes

    def delete_many(self, hashes: list[str]) -> int:
        """Delete requests by hash; returns how many."""
        dynamo.delete_many(self.table, ({"code_hash": h} for h in hashes))
        return len(hashes)
