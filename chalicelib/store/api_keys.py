"""The api_keys table: one item per key, keyed by the SHA-256 of the key (never the key itself).

The ``by_user`` index (user_id, key_id) lists a user's keys in creation order and finds a key
from its id. A key with an expiry carries the expiry attributes (so the purge finds it); a key
without one carries neither. A scoped key carries its scope (``scope_applications``,
``scope_permissions``) on its own item, so that authenticating it reads nothing more.
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
class Scope:
    """What a key may reach: these applications only, and at most these permissions (None: no limit)."""

    applications: tuple[str, ...] | None = None
    permissions: tuple[str, ...] | None = None


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
    scope: Scope | None = None

    def expired(self, now: int) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def _parse_scope(item: dict[str, Any]) -> Scope | None:
    applications, permissions = item.get("scope_applications"), item.get("scope_permissions")
    if applications is None and permissions is None:
        return None
    return Scope(
        tuple(applications) if applications is not None else None,
        tuple(permissions) if permissions is not None else None,
    )


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
        scope=_parse_scope(item),
    )


class KeyChangedError(Exception):
    """The key is no longer the user's live key (deleted, expired or rotated meanwhile)."""


class ApiKeyStore:
    def __init__(self, settings: Settings) -> None:
        self.table = settings.table_name(API_KEYS.name)

    def ref(self, key_hash: str) -> dynamo.Ref[ApiKey]:
        return dynamo.Ref(self.table, {"key_hash": key_hash}, _parse)

    def get(self, key_hash: str) -> ApiKey | None:
        """The key stored under ``key_hash``: one strongly consistent GetItem."""
        key: ApiKey | None = dynamo.get_many(self.ref(key_hash))[0]
        return key

    def put_entry(self, key: ApiKey) -> dict[str, Any]:
        """A transaction entry storing a new key."""
        item: dict[str, Any] = {
            "key_hash": key.key_hash,
            "key_id": key.key_id,
            "user_id": key.user_id,
            "name": key.name,
            "description": key.description,
            "prefix": key.prefix,
            "created_at": key.created_at,
        }
        if key.scope is not None:
            if key.scope.applications is not None:
                item["scope_applications"] = list(key.scope.applications)
            if key.scope.permissions is not None:
                item["scope_permissions"] = list(key.scope.permissions)
        if key.expires_at is not None:
            item |= expiry_attributes(key.expires_at)
        return {
            "Put": {
                "TableName": self.table,
                "Item": dynamo.to_item(item),
                "ConditionExpression": "attribute_not_exists(key_hash)",
            }
        }

    def put(self, key: ApiKey, with_entries: Sequence[dict[str, Any]] = ()) -> None:
        """Store a new key, with ``with_entries`` (its event) in the same transaction."""
        dynamo.transact([self.put_entry(key), *with_entries], on_condition_failure=_raise_changed)

    def rotate(
        self, old: ApiKey, new: ApiKey, old_expires_at: int, now: int, with_entries: Sequence[dict[str, Any]]
    ) -> None:
        """Store ``new`` and set ``old``'s expiry to ``old_expires_at``, in one transaction with
        ``with_entries``. Raises KeyChangedError unless ``old`` is still its user's live key."""
        expiry = expiry_attributes(old_expires_at)
        update = {
            "Update": {
                "TableName": self.table,
                "Key": dynamo.to_item({"key_hash": old.key_hash}),
                "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in expiry),
                "ConditionExpression": f"user_id = :user AND key_id = :id AND {_LIVE}",
                "ExpressionAttributeNames": {f"#{k}": k for k in expiry},
                "ExpressionAttributeValues": dynamo.to_item(
                    {f":{k}": v for k, v in expiry.items()} | {":user": old.user_id, ":id": old.key_id, ":now": now}
                ),
            }
        }
        dynamo.transact([self.put_entry(new), update, *with_entries], on_condition_failure=_raise_changed)

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

    def find(self, user_id: str, key_id: str, now: int) -> ApiKey | None:
        """``user_id``'s live key ``key_id``, or None: one Query of the ``by_user`` index (which
        lags the table: writes that depend on it are conditional). A string that is not an id names
        no key and costs nothing."""
        if not KEY_ID_PATTERN.fullmatch(key_id):
            return None
        reply = dynamo.client().query(
            TableName=self.table,
            IndexName=BY_USER,
            KeyConditionExpression="user_id = :user AND key_id = :id",
            FilterExpression=_LIVE,
            ExpressionAttributeValues=dynamo.to_item({":user": user_id, ":id": key_id, ":now": now}),
        )
        items = reply.get("Items") or []
        return _parse(dynamo.from_item(items[0])) if items else None

    def find_many(self, user_id: str, key_ids: Sequence[str], now: int) -> dict[str, ApiKey]:
        """Those of ``key_ids`` that are ``user_id``'s live keys, by key id.

        One Query of the ``by_user`` index over the range from the lowest to the highest id asked
        for (a Query cannot ask for a list of sort keys): one round trip for any batch, reading
        only the user's keys that lie between the ids named.
        """
        wanted = {k for k in key_ids if KEY_ID_PATTERN.fullmatch(k)}
        if not wanted:
            return {}
        found: dict[str, ApiKey] = {}
        for page in dynamo.query_pages(
            TableName=self.table,
            IndexName=BY_USER,
            KeyConditionExpression="user_id = :user AND key_id BETWEEN :low AND :high",
            FilterExpression=_LIVE,
            ExpressionAttributeValues=dynamo.to_item(
                {":user": user_id, ":low": min(wanted), ":high": max(wanted), ":now": now}
            ),
        ):
            for item in map(dynamo.from_item, page.get("Items", [])):
                if item["key_id"] in wanted:
                    found[item["key_id"]] = _parse(item)
        return found

    def delete_entry(self, key: ApiKey, now: int) -> dict[str, Any]:
        """A transaction entry deleting ``key`` if it is still its user's live key."""
        return {
            "Delete": {
                "TableName": self.table,
                "Key": dynamo.to_item({"key_hash": key.key_hash}),
                "ConditionExpression": f"user_id = :user AND {_LIVE}",
                "ExpressionAttributeValues": dynamo.to_item({":user": key.user_id, ":now": now}),
            }
        }

    def delete(self, key: ApiKey, now: int, with_entries: Sequence[dict[str, Any]] = ()) -> bool:
        """Delete a key if it is its user's and live, with ``with_entries`` in the same transaction.
        False if it was not there (or not live)."""
        try:
            dynamo.transact([self.delete_entry(key, now), *with_entries], on_condition_failure=_raise_changed)
        except KeyChangedError:
            return False
        return True

    def delete_many(self, groups: Sequence[list[dict[str, Any]]]) -> list[bool]:
        """Delete keys, each with its event: ``groups`` are ``[delete_entry, event entry]`` pairs,
        50 to a transaction (100 entries, DynamoDB's limit). Returns, per key, whether it was deleted."""
        return dynamo.transact_groups(groups, per_transaction=50)

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


def _raise_changed(failed: list[int]) -> None:
    raise KeyChangedError
