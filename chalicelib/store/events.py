"""The events table: the security log of each user (``USER#<id>``) and the audit log of each
application (``APP#<id>``), one item per event, newest first by a reverse Query of the event id
(time-ordered, so also events within one second keep their order). Each expires after the
retention period; the purge removes it, DynamoDB's TTL is the backstop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.tables import EVENTS, expiry_attributes

_CURSOR_FIELDS = ("stream", "event_id")


def user_stream(user_id: str) -> str:
    return f"USER#{user_id}"


def app_stream(app_id: str) -> str:
    return f"APP#{app_id}"


@dataclass(frozen=True)
class Event:
    stream: str
    event_id: str
    type: str
    created_at: int
    expires_at: int
    actor: str | None = None  # the username of who acted
    via: str | None = None  # "session", "api_key", "email" or None
    api_key_prefix: str | None = None
    address: str | None = None
    user_agent: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _parse(item: dict[str, Any]) -> Event:
    return Event(
        stream=item["stream"],
        event_id=item["event_id"],
        type=item["type"],
        created_at=item["created_at"],
        expires_at=item["expires_at"],
        actor=item.get("actor"),
        via=item.get("via"),
        api_key_prefix=item.get("api_key_prefix"),
        address=item.get("address"),
        user_agent=item.get("user_agent"),
        details=item.get("details") or {},
    )


class EventStore:
    def __init__(self, settings: Settings) -> None:
        self.table = settings.table_name(EVENTS.name)

    def put_entry(self, event: Event) -> dict[str, Any]:
        """A transaction entry that writes ``event``: put it in the transaction of its change."""
        item = {
            "stream": event.stream,
            "event_id": event.event_id,
            "type": event.type,
            "created_at": event.created_at,
            "actor": event.actor,
            "via": event.via,
            "api_key_prefix": event.api_key_prefix,
            "address": event.address,
            "user_agent": event.user_agent,
            "details": event.details or None,
        } | expiry_attributes(event.expires_at)
        return {"Put": {"TableName": self.table, "Item": dynamo.to_item(item)}}

    def put(self, *events: Event) -> None:
        """Write events that record no change of their own (a failed login), or that follow a change
        already made (so a request dying between the two loses the event, never invents one)."""
        for event in events:
            dynamo.client().put_item(**self.put_entry(event)["Put"])

    def page(self, stream: str, limit: int, cursor: str | None, now: int) -> tuple[list[Event], str | None]:
        """One page of a stream's live events, newest first. Raises dynamo.InvalidCursorError."""
        params = {
            "TableName": self.table,
            "KeyConditionExpression": "#stream = :stream",  # STREAM is one of DynamoDB's reserved words
            "FilterExpression": "expires_at > :now",
            "ExpressionAttributeNames": {"#stream": "stream"},
            "ExpressionAttributeValues": dynamo.to_item({":stream": stream, ":now": now}),
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        items, next_cursor = dynamo.query_page(params, limit, cursor, _CURSOR_FIELDS, {"stream": stream})
        return [_parse(i) for i in items], next_cursor

    def delete_stream(self, stream: str) -> int:
        """Delete every event of a stream (a deleted account's log). Returns how many."""
        deleted = 0
        for page in dynamo.query_pages(
            TableName=self.table,
            KeyConditionExpression="#stream = :stream",
            ExpressionAttributeNames={"#stream": "stream"},
            ExpressionAttributeValues=dynamo.to_item({":stream": stream}),
            ProjectionExpression="#stream, event_id",
        ):
            keys = [dynamo.from_item(i) for i in page.get("Items", [])]
            dynamo.delete_many(self.table, keys)
            deleted += len(keys)
        return deleted
