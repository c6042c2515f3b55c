"""The grants table: who may do what to an application, one item per (application, user).

The owner's access is a grant too, so one read answers "may this user do this to this
application". The grantee's username is kept on the grant (usernames never change), so that
listing collaborators needs no read of the users table. The ``by_user`` index lists a user's
applications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.tables import GRANTS

OWNER_ROLE = "owner"
BY_USER = "by_user"


@dataclass(frozen=True)
class Grant:
    app_id: str
    user_id: str
    username: str
    role: str
    added_at: int


class GrantExistsError(Exception):
    """The user already has a grant on the application."""


class GrantMissingError(Exception):
    """The user has no grant on the application (or it is the owner's, which these writes never touch)."""


class ApplicationGoneError(Exception):
    """The application does not exist (any more)."""


def _key(app_id: str, user_id: str) -> dict[str, str]:
    return {"app_id": app_id, "user_id": user_id}


def _parse(item: dict[str, Any]) -> Grant:
    return Grant(
        app_id=item["app_id"],
        user_id=item["user_id"],
        username=item["username"],
        role=item["role"],
        added_at=item["added_at"],
    )


class GrantStore:
    def __init__(self, settings: Settings) -> None:
        self.table = settings.table_name(GRANTS.name)

    def ref(self, app_id: str, user_id: str) -> dynamo.Ref[Grant]:
        return dynamo.Ref(self.table, _key(app_id, user_id), _parse)

    def put_entry(self, grant: Grant) -> dict[str, Any]:
        """A transaction entry writing a new grant (failing if the user already has one)."""
        item = _key(grant.app_id, grant.user_id) | {
            "username": grant.username,
            "role": grant.role,
            "added_at": grant.added_at,
        }
        return {
            "Put": {
                "TableName": self.table,
                "Item": dynamo.to_item(item),
                "ConditionExpression": "attribute_not_exists(user_id)",
            }
        }

    def add(self, grant: Grant, app_exists: dict[str, Any]) -> None:
        """Write a new grant if the application still exists (``app_exists`` is its condition check).

        Raises GrantExistsError or ApplicationGoneError.
        """

        def raise_failure(failed: list[int]) -> None:
            if 0 in failed:
                raise ApplicationGoneError(grant.app_id)
            raise GrantExistsError(grant.user_id)

        dynamo.transact([app_exists, self.put_entry(grant)], on_condition_failure=raise_failure)

    def change_role(self, app_id: str, user_id: str, role: str) -> Grant:
        """Give an existing collaborator another role. Raises GrantMissingError if they have none.

        It never creates a grant, so it needs no check that the application exists: a grant of a
        deleted application is deleted with it, or is already gone and the condition fails.
        """
        reply = dynamo.if_condition_holds(
            lambda: dynamo.client().update_item(
                TableName=self.table,
                Key=dynamo.to_item(_key(app_id, user_id)),
                UpdateExpression="SET #role = :role",
                ConditionExpression="attribute_exists(user_id) AND #role <> :owner",
                ExpressionAttributeNames={"#role": "role"},
                ExpressionAttributeValues=dynamo.to_item({":role": role, ":owner": OWNER_ROLE}),
                ReturnValues="ALL_NEW",
            )
        )
        if reply is None:
            raise GrantMissingError(user_id)
        return _parse(dynamo.from_item(reply["Attributes"]))

    def remove(self, app_id: str, user_id: str) -> None:
        """Delete a collaborator's grant. Raises GrantMissingError if they have none (or are the owner)."""
        deleted = dynamo.if_condition_holds(
            lambda: dynamo.client().delete_item(
                TableName=self.table,
                Key=dynamo.to_item(_key(app_id, user_id)),
                ConditionExpression="attribute_exists(user_id) AND #role <> :owner",
                ExpressionAttributeNames={"#role": "role"},
                ExpressionAttributeValues=dynamo.to_item({":owner": OWNER_ROLE}),
            )
        )
        if deleted is None:
            raise GrantMissingError(user_id)

    def collaborators(self, app_id: str, limit: int, cursor: str | None) -> tuple[list[Grant], str | None]:
        """One page of an application's grants other than the owner's, by user id (strongly consistent).

        Raises dynamo.InvalidCursorError for a cursor of another list.
        """
        params = {
            "TableName": self.table,
            "KeyConditionExpression": "app_id = :app",
            "FilterExpression": "#role <> :owner",
            "ExpressionAttributeNames": {"#role": "role"},
            "ExpressionAttributeValues": dynamo.to_item({":app": app_id, ":owner": OWNER_ROLE}),
            "ConsistentRead": True,
        }
        items, next_cursor = dynamo.query_page(params, limit, cursor, ("app_id", "user_id"), {"app_id": app_id})
        return [_parse(i) for i in items], next_cursor

    def of_user(self, user_id: str, limit: int, cursor: str | None) -> tuple[list[Grant], str | None]:
        """One page of a user's grants, by application id, from the ``by_user`` index.

        The index is eventually consistent: callers confirm each grant against the table.
        Raises dynamo.InvalidCursorError for a cursor of another list.
        """
        params = {
            "TableName": self.table,
            "IndexName": BY_USER,
            "KeyConditionExpression": "user_id = :user",
            "ExpressionAttributeValues": dynamo.to_item({":user": user_id}),
        }
        items, next_cursor = dynamo.query_page(params, limit, cursor, ("user_id", "app_id"), {"user_id": user_id})
        return [_parse(i) for i in items], next_cursor

    def delete_all(self, app_id: str) -> int:
        """Delete every grant of an application, owner's included, in batches of 25. Returns how many."""
        deleted = 0
        for page in dynamo.query_pages(
            TableName=self.table,
            KeyConditionExpression="app_id = :app",
            ExpressionAttributeValues=dynamo.to_item({":app": app_id}),
            ProjectionExpression="app_id, user_id",
            ConsistentRead=True,
        ):
            keys: Sequence[dict[str, Any]] = [dynamo.from_item(i) for i in page.get("Items", [])]
            dynamo.delete_many(self.table, keys)
            deleted += len(keys)
        return deleted
