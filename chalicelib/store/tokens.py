"""The tokens table: single-use email tokens (verification, address change, password reset) and
device tokens, keyed by the SHA-256 of the token (never the token itself). ``by_user`` finds a
user's tokens of one kind, to void earlier ones or end them all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.tables import TOKENS, expiry_attributes

BY_USER = "by_user"


@dataclass(frozen=True)
class StoredToken:
    token_hash: str
    user_id: str
    kind: str  # e.g. "email_verification", "email_change", "password_reset", "device"
    created_at: int
    expires_at: int
    data: dict[str, Any] = field(default_factory=dict)  # what the token is for (a new address, say)

    def live(self, now: int) -> bool:
        return self.expires_at > now


def _parse(item: dict[str, Any]) -> StoredToken:
    return StoredToken(
        token_hash=item["token_hash"],
        user_id=item["user_id"],
        kind=item["kind"],
        created_at=item["created_at"],
        expires_at=item["expires_at"],
        data=item.get("data") or {},
    )


class TokenStore:
    def __init__(self, settings: Settings) -> None:
        self.table = settings.table_name(TOKENS.name)

    def ref(self, token_hash: str) -> dynamo.Ref[StoredToken]:
        return dynamo.Ref(self.table, {"token_hash": token_hash}, _parse)

    def put_entry(self, token: StoredToken) -> dict[str, Any]:
        """A transaction entry writing a new token."""
        item = {
            "token_hash": token.token_hash,
            "user_id": token.user_id,
            "kind": token.kind,
            "created_at": token.created_at,
            "data": token.data or None,
        } | expiry_attributes(TOKENS, token.token_hash, token.expires_at)
        return {
            "Put": {
                "TableName": self.table,
                "Item": dynamo.to_item(item),
                "ConditionExpression": "attribute_not_exists(token_hash)",
            }
        }

    def put(self, token: StoredToken) -> None:
        dynamo.client().put_item(**self.put_entry(token)["Put"])

    def spend_entry(self, token_hash: str, kind: str, now: int) -> dict[str, Any]:
        """A transaction entry deleting a live token of ``kind``: it fails if the token was spent,
        voided, has expired or is of another kind, so a token works once at most."""
        return {
            "Delete": {
                "TableName": self.table,
                "Key": dynamo.to_item({"token_hash": token_hash}),
                "ConditionExpression": "kind = :kind AND expires_at > :now",
                "ExpressionAttributeValues": dynamo.to_item({":kind": kind, ":now": now}),
            }
        }

    def spend(self, token_hash: str, kind: str, now: int) -> StoredToken | None:
        """Delete a live token of ``kind`` and return it; None if it was not there to spend."""
        reply = dynamo.if_condition_holds(
            lambda: dynamo.client().delete_item(
                **self.spend_entry(token_hash, kind, now)["Delete"], ReturnValues="ALL_OLD"
            )
        )
        if reply is None or "Attributes" not in reply:
            return None
        return _parse(dynamo.from_item(reply["Attributes"]))

    def hashes_of(self, user_id: str, kinds: Sequence[str]) -> list[str]:
        """The hashes of a user's tokens of ``kinds`` (from the index, which may lag a moment)."""
        hashes: list[str] = []
        for kind in kinds:
            for page in dynamo.query_pages(
                TableName=self.table,
                IndexName=BY_USER,
                KeyConditionExpression="user_id = :user AND kind = :kind",
                ExpressionAttributeValues=dynamo.to_item({":user": user_id, ":kind": kind}),
            ):
                hashes += [str(dynamo.from_item(i)["token_hash"]) for i in page.get("Items", [])]
        return hashes

    def all_hashes_of(self, user_id: str) -> list[str]:
        """The hashes of a user's tokens of every kind, in one Query (from the index, as above)."""
        hashes: list[str] = []
        for page in dynamo.query_pages(
            TableName=self.table,
            IndexName=BY_USER,
            KeyConditionExpression="user_id = :user",
            ExpressionAttributeValues=dynamo.to_item({":user": user_id}),
            ProjectionExpression="token_hash",
        ):
            hashes += [str(dynamo.from_item(i)["token_hash"]) for i in page.get("Items", [])]
        return hashes

    def delete_many(self, token_hashes: Sequence[str]) -> None:
        dynamo.delete_many(self.table, ({"token_hash": h} for h in token_hashes))
