"""The passkeys table (WebAuthn credentials, keyed by credential id: a login finds its credential
with one GetItem) and the passkey challenges table (single use, 5 minutes, keyed by the SHA-256 of
the challenge, never the challenge itself)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import Binary

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.tables import PASSKEY_CHALLENGES, PASSKEYS, expiry_attributes

BY_USER = "by_user"


@dataclass(frozen=True)
class Passkey:
    credential_id: str  # base64url, as the browser names it
    passkey_id: str  # time-ordered: the order of a user's list
    user_id: str
    name: str
    public_key: bytes  # the COSE public key, as the authenticator gave it (public: stored plain)
    sign_count: int
    created_at: int
    last_used_at: int | None = None
    transports: tuple[str, ...] = ()
    backed_up: bool = False


def _bytes(value: Any) -> bytes:
    return bytes(value.value) if isinstance(value, Binary) else bytes(value)  # type: ignore[attr-defined]


def _parse(item: dict[str, Any]) -> Passkey:
    return Passkey(
        credential_id=item["credential_id"],
        passkey_id=item["passkey_id"],
        user_id=item["user_id"],
        name=item["name"],
        public_key=_bytes(item["public_key"]),
        sign_count=int(item.get("sign_count", 0)),
        created_at=item["created_at"],
        last_used_at=item.get("last_used_at"),
        transports=tuple(item.get("transports") or ()),
        backed_up=bool(item.get("backed_up", False)),
    )


class PasskeyExistsError(Exception):
    """The credential id is registered already (to this account or another)."""


class PasskeyChangedError(Exception):
    """The passkey was deleted, or its counter moved, since it was read."""


class PasskeyStore:
    def __init__(self, settings: Settings) -> None:
        self.table = settings.table_name(PASSKEYS.name)

    def ref(self, credential_id: str) -> dynamo.Ref[Passkey]:
        return dynamo.Ref(self.table, {"credential_id": credential_id}, _parse)

    def create(self, passkey: Passkey, with_entries: list[dict[str, Any]]) -> None:
        """Store a new passkey with its event. Raises PasskeyExistsError if the credential id is taken."""
        item = {
            "credential_id": passkey.credential_id,
            "passkey_id": passkey.passkey_id,
            "user_id": passkey.user_id,
            "name": passkey.name,
            "public_key": passkey.public_key,
            "sign_count": passkey.sign_count,
            "created_at": passkey.created_at,
            "transports": list(passkey.transports) or None,
            "backed_up": passkey.backed_up,
        }
        put = {
            "Put": {
                "TableName": self.table,
                "Item": dynamo.to_item(item),
                "ConditionExpression": "attribute_not_exists(credential_id)",
            }
        }

        def taken(failed: list[int]) -> None:
            if 0 in failed:
                raise PasskeyExistsError(passkey.credential_id)

        dynamo.transact([put, *with_entries], on_condition_failure=taken)

    def of_user(self, user_id: str) -> list[Passkey]:
        """Every passkey of a user, oldest first (from the index, which may lag a moment)."""
        found: list[Passkey] = []
        for page in dynamo.query_pages(
            TableName=self.table,
            IndexName=BY_USER,
            KeyConditionExpression="user_id = :user",
            ExpressionAttributeValues=dynamo.to_item({":user": user_id}),
        ):
            found += [_parse(dynamo.from_item(i)) for i in page.get("Items", [])]
        return found

    def page(self, user_id: str, limit: int, cursor: str | None) -> tuple[list[Passkey], str | None]:
        """One page of a user's passkeys, oldest first. Raises dynamo.InvalidCursorError for a
        cursor not from this user's list."""
        params = {
            "TableName": self.table,
            "IndexName": BY_USER,
            "KeyConditionExpression": "user_id = :user",
            "ExpressionAttributeValues": dynamo.to_item({":user": user_id}),
        }
        items, next_cursor = dynamo.query_page(
            params, limit, cursor, ("credential_id", "passkey_id", "user_id"), {"user_id": user_id}
        )
        return [_parse(i) for i in items], next_cursor

    def rename_entry(self, passkey: Passkey, name: str) -> dict[str, Any]:
        """A transaction entry renaming a passkey as it was read: it fails if it was deleted or
        renamed meanwhile."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": dynamo.to_item({"credential_id": passkey.credential_id}),
                "UpdateExpression": "SET #name = :name",
                "ConditionExpression": "user_id = :user AND #name = :old",
                "ExpressionAttributeNames": {"#name": "name"},
                "ExpressionAttributeValues": dynamo.to_item(
                    {":name": name, ":user": passkey.user_id, ":old": passkey.name}
                ),
            }
        }

    def delete_entry(self, credential_id: str, user_id: str) -> dict[str, Any]:
        """A transaction entry deleting a passkey of ``user_id``; it fails if it is not theirs."""
        return {
            "Delete": {
                "TableName": self.table,
                "Key": dynamo.to_item({"credential_id": credential_id}),
                "ConditionExpression": "user_id = :user",
                "ExpressionAttributeValues": dynamo.to_item({":user": user_id}),
            }
        }

    def used_entry(self, passkey: Passkey, sign_count: int, backed_up: bool, now: int) -> dict[str, Any]:
        """A transaction entry recording a use: the new counter, only if the stored one is still the
        one the login was checked against (two logins with one counter value: one wins)."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": dynamo.to_item({"credential_id": passkey.credential_id}),
                "UpdateExpression": "SET sign_count = :count, last_used_at = :now, backed_up = :backed_up",
                "ConditionExpression": "user_id = :user AND sign_count = :old",
                "ExpressionAttributeValues": dynamo.to_item(
                    {
                        ":count": sign_count,
                        ":now": now,
                        ":backed_up": backed_up,
                        ":user": passkey.user_id,
                        ":old": passkey.sign_count,
                    }
                ),
            }
        }

    def delete_of_user(self, user_id: str) -> int:
        """Delete every passkey of a user (with the account), found by the ``by_user`` index;
        returns how many."""
        keys = [{"credential_id": p.credential_id} for p in self.of_user(user_id)]
        dynamo.delete_many(self.table, keys)
        return len(keys)


@dataclass(frozen=True)
class Challenge:
    challenge_hash: str
    purpose: str  # "registration" or "login"
    created_at: int
    expires_at: int
    session_id: str | None = None  # the session (registration) or pending login (login) that asked


def _parse_challenge(item: dict[str, Any]) -> Challenge:
    return Challenge(
        challenge_hash=item["challenge_hash"],
        purpose=item["purpose"],
        created_at=item["created_at"],
        expires_at=item["expires_at"],
        session_id=item.get("session_id"),
    )


class ChallengeStore:
    def __init__(self, settings: Settings) -> None:
        self.table = settings.table_name(PASSKEY_CHALLENGES.name)

    def ref(self, challenge_hash: str) -> dynamo.Ref[Challenge]:
        return dynamo.Ref(self.table, {"challenge_hash": challenge_hash}, _parse_challenge)

    def put(self, challenge: Challenge) -> None:
        item = {
            "challenge_hash": challenge.challenge_hash,
            "purpose": challenge.purpose,
            "created_at": challenge.created_at,
            "session_id": challenge.session_id,
        } | expiry_attributes(PASSKEY_CHALLENGES, challenge.challenge_hash, challenge.expires_at)
        dynamo.put_new(self.table, item, {"challenge_hash": challenge.challenge_hash})

    def spend_entry(self, challenge: Challenge, now: int) -> dict[str, Any]:
        """A transaction entry deleting a live challenge as it was read: it fails if it was spent
        meanwhile (or has expired), so a challenge works once at most, also under a race."""
        return {
            "Delete": {
                "TableName": self.table,
                "Key": dynamo.to_item({"challenge_hash": challenge.challenge_hash}),
                "ConditionExpression": "purpose = :purpose AND expires_at > :now",
                "ExpressionAttributeValues": dynamo.to_item({":purpose": challenge.purpose, ":now": now}),
            }
        }

    def spend(self, challenge_hash: str, purpose: str, session_id: str | None, now: int) -> Challenge | None:
        """Delete a live challenge of ``purpose`` asked for by ``session_id`` (None: by nobody) and
        return it; None if there was none such to spend (unknown, expired, spent, someone else's)."""
        condition = "purpose = :purpose AND expires_at > :now AND "
        values: dict[str, Any] = {":purpose": purpose, ":now": now}
        if session_id is None:
            condition += "attribute_not_exists(session_id)"
        else:
            condition += "session_id = :session"
            values[":session"] = session_id
        reply = dynamo.if_condition_holds(
            lambda: dynamo.client().delete_item(
                TableName=self.table,
                Key=dynamo.to_item({"challenge_hash": challenge_hash}),
                ConditionExpression=condition,
                ExpressionAttributeValues=dynamo.to_item(values),
                ReturnValues="ALL_OLD",
            )
        )
        if reply is None or "Attributes" not in reply:
            return None
        return _parse_challenge(dynamo.from_item(reply["Attributes"]))

    def forget(self, challenge_hash: str) -> None:
        """Delete a challenge whatever its state (a login that failed burns its challenge)."""
        dynamo.client().delete_item(TableName=self.table, Key=dynamo.to_item({"challenge_hash": challenge_hash}))
