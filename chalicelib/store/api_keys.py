"""The api_keys table: one item per key, keyed by the SHA-256 of the key (never the key itself).

The ``by_user`` index (user_id, key_id) lists a user's keys in creation order and finds the hash
of a key from its id. A key with an expiry carries the expiry attributes (so the purge finds it);
a key without one carries neither.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.tables import API_KEYS, expiry_attributes

BY_USER = "by_user"
_KEY_FIELDS = ("key_hash", "user_id", "key_id")
# The shape of the ids security.ids.new_id makes. Anything else names no key, and is not sent to
# DynamoDB (which refuses an empty string as an index key value).
KEY_ID_PATTERN = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
# An expired key is gone for every reader, whether or not the purge has deleted it yet.
_LIVE = "(attribute_not_exists(expires_at) OR expires_at > :now)"


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    user_id: str
    key_hash: str
    name: str
    description: str | None
    prefix: str
    created_at: int
    expires_at: int | None = None
    last_used_at: int | None = None

    def expired(self, now: int) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def _parse(item: dict[str, Any]) -> ApiKey:
    return ApiKey(
        key_id=item["key_id"],
        user_id=item["user_id"],
        key_hash=item["key_hash"],
        name=item["name"],
        description=item.get("description"),
        prefix=item["prefix"],
        created_at=item["created_at"],
        expires_at=item.get("expires_at"),
        last_used_at=item.get("last_used_at"),
    )


class ApiKeyStore:
    def __init__(self, settings: Settings) -> None:
        self.table = settings.table_name(API_KEYS.name)

    def ref(self, key_hash: str) -> dynamo.Ref[ApiKey]:
        return dynamo.Ref(self.table, {"key_hash": key_hash}, _parse)

    def get(self, key_hash: str) -> ApiKey | None:
        """The key stored under ``key_hash``: one strongly consistent GetItem."""
        key: ApiKey | None = dynamo.get_many(self.ref(key_hash))[0]
        return key

    def put(self, key: ApiKey) -> None:
        item: dict[str, Any] = {
            "key_hash": key.key_hash,
            "key_id": key.key_id,
            "user_id": key.user_id,
            "name": key.name,
            "description": key.description,
            "prefix": key.prefix,
            "created_at": key.created_at,
        }
        if key.expires_at is not None:
            item |= expiry_attributes(API_KEYS, key.key_hash, key.expires_at)
        dynamo.put_new(self.table, item, {"key_hash": key.key_hash})

    def list_page(self, user_id: str, limit: int, cursor: str | None, now: int) -> tuple[list[ApiKey], str | None]:
        """One page of a user's live keys, oldest first, and the next page's cursor.

        The cursor holds the last key id, not the LastEvaluatedKey, which would carry the key's
        hash. Raises dynamo.InvalidCursorError for a cursor that is not from this user's list.
        """
        condition = "user_id = :user"
        values: dict[str, Any] = {":user": user_id, ":now": now}
        if cursor:
            after = dynamo.decode_cursor(cursor, ("user_id", "key_id"), {"user_id": user_id})["key_id"]
            if not KEY_ID_PATTERN.fullmatch(after):
                raise dynamo.InvalidCursorError("not a cursor for this list")
            values[":after"] = after
            condition += " AND key_id > :after"
        params = {
            "TableName": self.table,
            "IndexName": BY_USER,
            "KeyConditionExpression": condition,
            "FilterExpression": _LIVE,
            "ExpressionAttributeValues": dynamo.to_item(values),
        }
        items, more = dynamo.query_page(params, limit, None, _KEY_FIELDS, {"user_id": user_id})
        keys = [_parse(i) for i in items]
        next_cursor = dynamo.encode_cursor({"user_id": user_id, "key_id": keys[-1].key_id}) if more else None
        return keys, next_cursor

    def hash_of(self, user_id: str, key_id: str, now: int) -> str | None:
        """The hash of ``user_id``'s live key ``key_id``, or None: one Query of the ``by_user`` index.
        A string that is not an id names no key and costs nothing."""
        if not KEY_ID_PATTERN.fullmatch(key_id):
            return None
        reply = dynamo.client().query(
            TableName=self.table,
            IndexName=BY_USER,
            KeyConditionExpression="user_id = :user AND key_id = :id",
            FilterExpression=_LIVE,
            ProjectionExpression="key_hash",
            ExpressionAttributeValues=dynamo.to_item({":user": user_id, ":id": key_id, ":now": now}),
        )
        items = reply.get("Items") or []
        return str(dynamo.from_item(items[0])["key_hash"]) if items else None

    def hashes_of(self, user_id: str, key_ids: Sequence[str], now: int) -> dict[str, str]:
        """The hashes of those of ``key_ids`` that are ``user_id``'s live keys, by key id.

        One Query of the ``by_user`` index over the range from the lowest to the highest id asked
        for (a Query cannot ask for a list of sort keys): one round trip for any batch, reading
        only the user's keys that lie between the ids named.
        """
        wanted = {k for k in key_ids if KEY_ID_PATTERN.fullmatch(k)}
        if not wanted:
            return {}
        found: dict[str, str] = {}
        for page in dynamo.query_pages(
            TableName=self.table,
            IndexName=BY_USER,
            KeyConditionExpression="user_id = :user AND key_id BETWEEN :low AND :high",
            FilterExpression=_LIVE,
            ProjectionExpression="key_id, key_hash",
            ExpressionAttributeValues=dynamo.to_item(
                {":user": user_id, ":low": min(wanted), ":high": max(wanted), ":now": now}
            ),
        ):
            for item in map(dynamo.from_item, page.get("Items", [])):
                if item["key_id"] in wanted:
                    found[item["key_id"]] = item["key_hash"]
        return found

    def delete(self, key_hash: str, user_id: str, now: int) -> bool:
        """Delete a key if it is ``user_id``'s and live. False if it was not there (or not theirs)."""
        deleted = dynamo.if_condition_holds(
            lambda: dynamo.client().delete_item(
                TableName=self.table,
                Key=dynamo.to_item({"key_hash": key_hash}),
                ConditionExpression=f"user_id = :user AND {_LIVE}",
                ExpressionAttributeValues=dynamo.to_item({":user": user_id, ":now": now}),
            )
        )
        return deleted is not None

    def delete_many(self, key_hashes: Sequence[str]) -> None:
        """Delete keys in batches of 25 (BatchWriteItem's limit), retrying unprocessed ones."""
        dynamo.delete_many(self.table, ({"key_hash": h} for h in key_hashes))

    def touch(self, key_hash: str, now: int, not_since: int) -> bool:
        """Record a use at ``now`` unless one was recorded after ``not_since``; never recreates a
        deleted key. True if it wrote."""
        # The condition fails when another request recorded a use first, or the key is gone.
        written = dynamo.if_condition_holds(
            lambda: dynamo.client().update_item(
                TableName=self.table,
                Key=dynamo.to_item({"key_hash": key_hash}),
                UpdateExpression="SET last_used_at = :now",
                ConditionExpression=(
                    "attribute_exists(key_hash) AND (attribute_not_exists(last_used_at) OR last_used_at <= :since)"
                ),
                ExpressionAttributeValues=dynamo.to_item({":now": now, ":since": not_since}),
            )
        )
        return written is not None
