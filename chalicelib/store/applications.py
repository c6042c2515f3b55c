"""The applications table: ``APP#<id>`` holds an application; ``NAME#<owner id>#<lower name>`` claims
its name for its owner, written and released in the same transactions as the application.

``grants_version`` counts the collaborators added: adding one bumps it in the grant's transaction
(on the condition that the owner is still the one the grant names), and a transfer, which rewrites
every grant's ``owner_id``, is conditional on it, so no grant added meanwhile keeps the old owner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.tables import APPLICATIONS


@dataclass(frozen=True)
class Application:
    app_id: str
    name: str
    description: str | None
    owner_id: str
    owner_username: str  # usernames never change, so the owner's is kept here for replies
    created_at: int
    grants_version: int = 0


class ApplicationNameTakenError(Exception):
    """The owner already has an application of that name (ignoring case)."""


class ApplicationChangedError(Exception):
    """The application was deleted or renamed since it was read: read it again and retry."""


# An application that exists and is not marked deleted.
_LIVE_APP = "attribute_exists(pk) AND attribute_not_exists(deleted)"


def _app_key(app_id: str) -> dict[str, str]:
    return {"pk": f"APP#{app_id}"}


def _name_key(owner_id: str, name: str) -> dict[str, str]:
    return {"pk": f"NAME#{owner_id}#{name.lower()}"}


def _parse(item: dict[str, Any]) -> Application:
    return Application(
        app_id=item["app_id"],
        name=item["name"],
        description=item.get("description"),
        owner_id=item["owner_id"],
        owner_username=item["owner_username"],
        created_at=item["created_at"],
        grants_version=item.get("grants_version", 0),
    )


class ApplicationStore:
    def __init__(self, settings: Settings) -> None:
        self.table = settings.table_name(APPLICATIONS.name)

    def ref(self, app_id: str) -> dynamo.Ref[Application]:
        return dynamo.Ref(self.table, _app_key(app_id), _parse)

    def exists_check(self, app_id: str) -> dict[str, Any]:
        """A transaction entry that fails unless the application still exists."""
        return {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": dynamo.to_item(_app_key(app_id)),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }

    def grant_added_entry(self, app_id: str, owner_id: str) -> dict[str, Any]:
        """A transaction entry for adding a collaborator: fails unless the application still exists
        and is ``owner_id``'s, and bumps its ``grants_version``."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": dynamo.to_item(_app_key(app_id)),
                "UpdateExpression": "SET grants_version = if_not_exists(grants_version, :zero) + :one",
                "ConditionExpression": f"{_LIVE_APP} AND owner_id = :owner",
                "ExpressionAttributeValues": dynamo.to_item({":zero": 0, ":one": 1, ":owner": owner_id}),
            }
        }

    def transfer_entries(self, app: Application, owner_id: str, owner_username: str) -> list[dict[str, Any]]:
        """Transaction entries giving ``app`` to another owner: the application (while it is as
        read: same owner, name and grants), the new owner's claim of its name (absent, else the
        transaction fails at position 1), and the release of the old owner's."""
        version = "attribute_not_exists(grants_version)" if app.grants_version == 0 else "grants_version = :version"
        values: dict[str, Any] = {
            ":old": app.owner_id,
            ":new": owner_id,
            ":new_name": owner_username,
            ":name": app.name,
        }
        if app.grants_version:
            values[":version"] = app.grants_version
        return [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": dynamo.to_item(_app_key(app.app_id)),
                    "UpdateExpression": "SET owner_id = :new, owner_username = :new_name",
                    "ConditionExpression": f"{_LIVE_APP} AND owner_id = :old AND #name = :name AND {version}",
                    "ExpressionAttributeNames": {"#name": "name"},
                    "ExpressionAttributeValues": dynamo.to_item(values),
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": dynamo.to_item(
                        _name_key(owner_id, app.name) | {"app_id": app.app_id, "owner_id": owner_id}
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": dynamo.to_item(_name_key(app.owner_id, app.name)),
                    "ConditionExpression": "app_id = :id",
                    "ExpressionAttributeValues": dynamo.to_item({":id": app.app_id}),
                }
            },
        ]

    def create(self, app: Application, with_entries: Sequence[dict[str, Any]] = ()) -> None:
        """Store a new application and claim its name, with ``with_entries``, in one transaction.

        Raises ApplicationNameTakenError if the owner has an application of that name, also when
        two creations race: the transaction lets exactly one of them in.
        """
        record = {
            "app_id": app.app_id,
            "name": app.name,
            "description": app.description,
            "owner_id": app.owner_id,
            "owner_username": app.owner_username,
            "created_at": app.created_at,
        }
        claim = {"app_id": app.app_id, "owner_id": app.owner_id}
        absent = "attribute_not_exists(pk)"
        entries = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": dynamo.to_item(_app_key(app.app_id) | record),
                    "ConditionExpression": absent,
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": dynamo.to_item(_name_key(app.owner_id, app.name) | claim),
                    "ConditionExpression": absent,
                }
            },
            *with_entries,
        ]

        def raise_taken(failed: list[int]) -> None:
            if 1 in failed:
                raise ApplicationNameTakenError(app.name)
            if any(i > 1 for i in failed):  # a condition of ``with_entries`` (the owner exists, say)
                raise ApplicationChangedError(app.app_id)

        dynamo.transact(entries, on_condition_failure=raise_taken)

    def update(
        self, app: Application, name: str, description: str | None, with_entries: Sequence[dict[str, Any]] = ()
    ) -> Application:
        """Rename ``app`` and set its description (None removes it), moving the name claim in the same
        transaction when the name changes other than in case.

        Raises ApplicationNameTakenError, or ApplicationChangedError if ``app`` is no longer what is
        stored (deleted or renamed meanwhile).
        """
        names = {"#name": "name", "#description": "description"}
        values: dict[str, Any] = {":old": app.name, ":new": name}
        expression = "SET #name = :new"
        if description is None:
            expression += " REMOVE #description"
        else:
            expression += ", #description = :description"
            values[":description"] = description
        entries: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": dynamo.to_item(_app_key(app.app_id)),
                    "UpdateExpression": expression,
                    "ConditionExpression": "attribute_exists(pk) AND #name = :old",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": dynamo.to_item(values),
                }
            }
        ]
        if name.lower() != app.name.lower():
            claim = {"app_id": app.app_id, "owner_id": app.owner_id}
            entries.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": dynamo.to_item(_name_key(app.owner_id, app.name)),
                        "ConditionExpression": "app_id = :id",
                        "ExpressionAttributeValues": dynamo.to_item({":id": app.app_id}),
                    }
                }
            )
            entries.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": dynamo.to_item(_name_key(app.owner_id, name) | claim),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )

        def raise_failure(failed: list[int]) -> None:
            if 0 in failed or 1 in failed:
                raise ApplicationChangedError(app.app_id)
            raise ApplicationNameTakenError(name)

        dynamo.transact([*entries, *with_entries], on_condition_failure=raise_failure)
        return replace(app, name=name, description=description)

    def delete(self, app: Application) -> None:
        """Delete ``app`` and release its name in one transaction.

        Raises ApplicationChangedError if ``app`` is no longer what is stored.
        """
        entries = [
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": dynamo.to_item(_app_key(app.app_id)),
                    "ConditionExpression": "attribute_exists(pk) AND #name = :name",
                    "ExpressionAttributeNames": {"#name": "name"},
                    "ExpressionAttributeValues": dynamo.to_item({":name": app.name}),
                }
            },
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": dynamo.to_item(_name_key(app.owner_id, app.name)),
                    "ConditionExpression": "app_id = :id",
                    "ExpressionAttributeValues": dynamo.to_item({":id": app.app_id}),
                }
            },
        ]

        def raise_changed(failed: list[int]) -> None:
            raise ApplicationChangedError(app.app_id)

        dynamo.transact(entries, on_condition_failure=raise_changed)
