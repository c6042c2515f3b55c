"""The grants table: who may do what to an application, one item per (application, user).

The owner's access is a grant too, so one read answers "may this user do this to this
application". The grantee's username is kept on the grant (usernames never change), so that
listing collaborators needs no read of the users table. The ``by_user`` index lists a user's
applications.

A collaborator's grant also carries its application's ``owner_id`` and ``person``
(``<lower username>#<app id>``): the sparse ``by_owner`` index (owner_id, person) lists the people
of an owner's applications, each person's grants side by side, so a page of people is a range of
that index and its cursor is the last person's name. A transfer rewrites ``owner_id`` on every
grant of the application in its one transaction (``transfer_entries``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.config import Settings
from chalicelib.rules import OWNER_ROLE
from chalicelib.store import dynamo
from chalicelib.store.tables import GRANTS

BY_USER = "by_user"
BY_OWNER = "by_owner"
# Sorts after every ``<name>#<app id>`` of one person (app ids are [0-9A-Z]) and before the next
# person's (a '#' sorts before every character of a username).
_PAST_PERSON = "#~"
_PERSON_CURSOR = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True)
class Grant:
    app_id: str
    user_id: str
    username: str
    role: str
    added_at: int
    owner_id: str | None = None  # the application's owner, on collaborators' grants


class GrantExistsError(Exception):
    """The user already has a grant on the application."""


class GrantMissingError(Exception):
    """The user has no grant on the application (or it is the owner's, which these writes never touch)."""


class ApplicationGoneError(Exception):
    """The application does not exist (any more)."""


def _key(app_id: str, user_id: str) -> dict[str, str]:
    return {"app_id": app_id, "user_id": user_id}


def person(username: str, app_id: str) -> str:
    """The ``by_owner`` sort key of a collaborator's grant."""
    return f"{username.lower()}#{app_id}"


def _parse(item: dict[str, Any]) -> Grant:
    return Grant(
        app_id=item["app_id"],
        user_id=item["user_id"],
        username=item["username"],
        role=item["role"],
        added_at=item["added_at"],
        owner_id=item.get("owner_id"),
    )


class GrantStore:
    def __init__(self, settings: Settings) -> None:
        self.table = settings.table_name(GRANTS.name)

    def ref(self, app_id: str, user_id: str) -> dynamo.Ref[Grant]:
        return dynamo.Ref(self.table, _key(app_id, user_id), _parse)

    def put_entry(self, grant: Grant) -> dict[str, Any]:
        """A transaction entry writing a new grant (failing if the user already has one). A
        collaborator's grant (``owner_id`` set) goes into the ``by_owner`` index."""
        item = _key(grant.app_id, grant.user_id) | {
            "username": grant.username,
            "role": grant.role,
            "added_at": grant.added_at,
        }
        if grant.owner_id is not None:
            item |= {"owner_id": grant.owner_id, "person": person(grant.username, grant.app_id)}
        return {
            "Put": {
                "TableName": self.table,
                "Item": dynamo.to_item(item),
                "ConditionExpression": "attribute_not_exists(user_id)",
            }
        }

    def add(self, grant: Grant, app_entry: dict[str, Any], with_entries: Sequence[dict[str, Any]] = ()) -> None:
        """Write a new grant if the application is still as ``app_entry`` (its condition) requires,
        with ``with_entries`` (the event) in the same transaction.

        Raises GrantExistsError or ApplicationGoneError.
        """

        def raise_failure(failed: list[int]) -> None:
            if 0 in failed:
                raise ApplicationGoneError(grant.app_id)
            raise GrantExistsError(grant.user_id)

        dynamo.transact([app_entry, self.put_entry(grant), *with_entries], on_condition_failure=raise_failure)

    def change_role(self, grant: Grant, role: str, with_entries: Sequence[dict[str, Any]] = ()) -> Grant:
        """Give an existing collaborator another role, with ``with_entries`` in the same transaction.
        Raises GrantMissingError if they have no grant (or it is the owner's).

        It never creates a grant, so it needs no check that the application exists: a grant of a
        deleted application is deleted with it, or is already gone and the condition fails.
        """
        entry = {
            "Update": {
                "TableName": self.table,
                "Key": dynamo.to_item(_key(grant.app_id, grant.user_id)),
                "UpdateExpression": "SET #role = :role",
                "ConditionExpression": "attribute_exists(user_id) AND #role <> :owner",
                "ExpressionAttributeNames": {"#role": "role"},
                "ExpressionAttributeValues": dynamo.to_item({":role": role, ":owner": OWNER_ROLE}),
            }
        }
        dynamo.transact([entry, *with_entries], on_condition_failure=_raise_missing(grant.user_id))
        return replace(grant, role=role)

    def remove_entry(self, app_id: str, user_id: str, owner_id: str | None = None) -> dict[str, Any]:
        """A transaction entry deleting a collaborator's grant (never the owner's); with
        ``owner_id``, only while the application is still that owner's."""
        condition = "attribute_exists(user_id) AND #role <> :owner"
        values: dict[str, Any] = {":owner": OWNER_ROLE}
        if owner_id is not None:
            condition += " AND owner_id = :owner_id"
            values[":owner_id"] = owner_id
        return {
            "Delete": {
                "TableName": self.table,
                "Key": dynamo.to_item(_key(app_id, user_id)),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#role": "role"},
                "ExpressionAttributeValues": dynamo.to_item(values),
            }
        }

    def remove(self, app_id: str, user_id: str, with_entries: Sequence[dict[str, Any]] = ()) -> None:
        """Delete a collaborator's grant, with ``with_entries`` in the same transaction. Raises
        GrantMissingError if they have none (or are the owner)."""
        dynamo.transact(
            [self.remove_entry(app_id, user_id), *with_entries], on_condition_failure=_raise_missing(user_id)
        )

    def transfer_entries(self, app_id: str, old: Grant, new: Grant, others: Sequence[Grant]) -> list[dict[str, Any]]:
        """Transaction entries handing an application from ``old``'s user to ``new``'s: the old
        owner's grant becomes a developer's, the new one's the owner's (while still a collaborator),
        and every other grant names the new owner."""
        new_owner = {":new_owner": new.user_id, ":owner": OWNER_ROLE}
        entries: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": dynamo.to_item(_key(app_id, old.user_id)),
                    "UpdateExpression": "SET #role = :developer, owner_id = :new_owner, person = :person",
                    "ConditionExpression": "#role = :owner",
                    "ExpressionAttributeNames": {"#role": "role"},
                    "ExpressionAttributeValues": dynamo.to_item(
                        new_owner | {":developer": "developer", ":person": person(old.username, app_id)}
                    ),
                }
            },
            {
                "Update": {
                    "TableName": self.table,
                    "Key": dynamo.to_item(_key(app_id, new.user_id)),
                    "UpdateExpression": "SET #role = :owner REMOVE owner_id, person",
                    "ConditionExpression": "attribute_exists(user_id) AND #role <> :owner",
                    "ExpressionAttributeNames": {"#role": "role"},
                    "ExpressionAttributeValues": dynamo.to_item({":owner": OWNER_ROLE}),
                }
            },
        ]
        for grant in others:
            entries.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": dynamo.to_item(_key(app_id, grant.user_id)),
                        "UpdateExpression": "SET owner_id = :new_owner",
                        "ConditionExpression": "attribute_exists(user_id) AND #role <> :owner",
                        "ExpressionAttributeNames": {"#role": "role"},
                        "ExpressionAttributeValues": dynamo.to_item(new_owner),
                    }
                }
            )
        return entries

    def all_collaborators(self, app_id: str) -> list[Grant]:
        """Every grant of an application other than the owner's (strongly consistent)."""
        grants: list[Grant] = []
        for page in dynamo.query_pages(
            TableName=self.table,
            KeyConditionExpression="app_id = :app",
            FilterExpression="#role <> :owner",
            ExpressionAttributeNames={"#role": "role"},
            ExpressionAttributeValues=dynamo.to_item({":app": app_id, ":owner": OWNER_ROLE}),
            ConsistentRead=True,
        ):
            grants += [_parse(dynamo.from_item(i)) for i in page.get("Items", [])]
        return grants

    def people_page(self, owner_id: str, limit: int, cursor: str | None) -> tuple[list[list[Grant]], str | None]:
        """One page of the people of ``owner_id``'s applications: for each of at most ``limit``
        people (by lower-case username), their grants on those applications, by application id.

        A range of the ``by_owner`` index: from after the cursor's person to the first grant of the
        page's last person + 1 (read to know whether there is a next page). The index lags the
        table: callers confirm each grant. Raises dynamo.InvalidCursorError for another list's cursor.
        """
        condition = "owner_id = :owner"
        values: dict[str, Any] = {":owner": owner_id}
        if cursor:
            after = dynamo.decode_cursor(cursor, ("owner_id", "after"), {"owner_id": owner_id})["after"]
            if not _PERSON_CURSOR.fullmatch(after):
                raise dynamo.InvalidCursorError("not a cursor for this list")
            condition += " AND person > :after"
            values[":after"] = after + _PAST_PERSON
        params: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": BY_OWNER,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": dynamo.to_item(values),
            "Limit": dynamo.BATCH_GET_LIMIT,
        }
        people: dict[str, list[Grant]] = {}
        while len(people) <= limit:
            page = dynamo.client().query(**params)
            for item in map(dynamo.from_item, page.get("Items", [])):
                name = str(item["person"]).split("#", 1)[0]
                if name not in people and len(people) == limit:
                    return list(people.values()), dynamo.encode_cursor(
                        {"owner_id": owner_id, "after": list(people)[-1]}
                    )
                people.setdefault(name, []).append(_parse(item))
            if not page.get("LastEvaluatedKey"):
                break
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return list(people.values()), None

    def of_person(self, owner_id: str, username: str) -> list[Grant]:
        """Every grant of ``username`` on ``owner_id``'s applications, from the ``by_owner`` index."""
        grants: list[Grant] = []
        for page in dynamo.query_pages(
            TableName=self.table,
            IndexName=BY_OWNER,
            KeyConditionExpression="owner_id = :owner AND begins_with(person, :person)",
            ExpressionAttributeValues=dynamo.to_item({":owner": owner_id, ":person": username.lower() + "#"}),
        ):
            grants += [_parse(dynamo.from_item(i)) for i in page.get("Items", [])]
        return grants

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


def _raise_missing(user_id: str) -> dynamo.ConditionFailureHandler:
    def raise_missing(failed: list[int]) -> None:
        raise GrantMissingError(user_id)

    return raise_missing
