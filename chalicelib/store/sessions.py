"""The sessions table: one item per issued session token (full or pending), keyed by its id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.tables import SESSIONS, expiry_attributes

SESSION_KIND = "session"  # as security.tokens.SESSION (the store does not import the token code)


@dataclass(frozen=True)
class Session:
    session_id: str
    user_id: str
    kind: str  # "session" or "pending"
    created_at: int
    expires_at: int
    failures: int = 0  # wrong second-factor codes (pending sessions only)
    # When its user last proved who they are: the login or sign-up that began it (inherited by a
    # refreshed session), or a later re-authentication.
    authenticated_at: int = 0
    address: str | None = None  # of the login that began it
    user_agent: str | None = None
    last_used_at: int | None = None


def _parse(item: dict[str, Any]) -> Session:
    return Session(
        session_id=item["session_id"],
        user_id=item["user_id"],
        kind=item["kind"],
        created_at=item["created_at"],
        expires_at=item["expires_at"],
        failures=item.get("failures", 0),
        authenticated_at=item.get("authenticated_at", item["created_at"]),
        address=item.get("address"),
        user_agent=item.get("user_agent"),
        last_used_at=item.get("last_used_at"),
    )


class SessionStore:
    def __init__(self, settings: Settings) -> None:
        self.table = settings.table_name(SESSIONS.name)

    def ref(self, session_id: str) -> dynamo.Ref[Session]:
        return dynamo.Ref(self.table, {"session_id": session_id}, _parse)

    def put_entry(self, session: Session) -> dict[str, Any]:
        """The transaction entry that stores a new session."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": dynamo.to_item(_item(session)),
                "ConditionExpression": "attribute_not_exists(session_id)",
            }
        }

    def put(self, session: Session, also: list[dict[str, Any]] | None = None) -> None:
        """Store a new session; with ``also``, in one transaction with those entries."""
        if also:
            dynamo.transact([self.put_entry(session), *also], on_condition_failure=_raise_failed)
        else:
            dynamo.client().put_item(**self.put_entry(session)["Put"])

    def page(self, user_id: str, limit: int, cursor: str | None, now: int) -> tuple[list[Session], str | None]:
        """One page of a user's live full sessions, newest first (ids are time-ordered), and the next
        page's cursor. Raises dynamo.InvalidCursorError for a cursor not from this user's list."""
        params = {
            "TableName": self.table,
            "IndexName": "by_user",
            "KeyConditionExpression": "user_id = :user",
            "FilterExpression": "kind = :kind AND expires_at > :now",
            "ExpressionAttributeValues": dynamo.to_item({":user": user_id, ":kind": SESSION_KIND, ":now": now}),
            "ScanIndexForward": False,
        }
        items, next_cursor = dynamo.query_page(params, limit, cursor, ("session_id", "user_id"), {"user_id": user_id})
        return [_parse(i) for i in items], next_cursor

    def all_of(self, user_id: str) -> list[Session]:
        """Every stored session of a user (full and pending, live or not), from the ``by_user``
        index (which may lag a moment behind a session just issued)."""
        sessions: list[Session] = []
        for page in dynamo.query_pages(
            TableName=self.table,
            IndexName="by_user",
            KeyConditionExpression="user_id = :user",
            ExpressionAttributeValues=dynamo.to_item({":user": user_id}),
        ):
            sessions += [_parse(dynamo.from_item(i)) for i in page.get("Items", [])]
        return sessions

    def delete_entry(self, session_id: str, user_id: str, now: int) -> dict[str, Any]:
        """A transaction entry deleting a live full session of ``user_id``; it fails if the session
        is not there, not theirs, pending or expired."""
        return {
            "TableName": self.table,
            "Key": dynamo.to_item({"session_id": session_id}),
            "ConditionExpression": "user_id = :user AND kind = :kind AND expires_at > :now",
            "ExpressionAttributeValues": dynamo.to_item({":user": user_id, ":kind": SESSION_KIND, ":now": now}),
        }

    def touch(self, session_id: str, now: int, not_since: int) -> bool:
        """Record a use at ``now`` unless one was recorded after ``not_since``; never recreates an
        ended session. True if it wrote."""
        written = dynamo.if_condition_holds(
            lambda: dynamo.client().update_item(
                TableName=self.table,
                Key=dynamo.to_item({"session_id": session_id}),
                UpdateExpression="SET last_used_at = :now",
                ConditionExpression=(
                    "attribute_exists(session_id) AND (attribute_not_exists(last_used_at) OR last_used_at <= :since)"
                ),
                ExpressionAttributeValues=dynamo.to_item({":now": now, ":since": not_since}),
            )
        )
        return written is not None

    def reauthenticated_entry(self, session_id: str, user_id: str, now: int) -> dict[str, Any]:
        """A transaction entry setting a live full session's ``authenticated_at`` to ``now``; it fails
        if the session has ended meanwhile."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": dynamo.to_item({"session_id": session_id}),
                "UpdateExpression": "SET authenticated_at = :now",
                "ConditionExpression": "user_id = :user AND kind = :kind AND expires_at > :now",
                "ExpressionAttributeValues": dynamo.to_item({":user": user_id, ":kind": SESSION_KIND, ":now": now}),
            }
        }

    def ids_of(self, user_id: str) -> list[str]:
        """The ids of a user's stored sessions, from the ``by_user`` index (which may lag a moment
        behind a session just issued)."""
        ids: list[str] = []
        for page in dynamo.query_pages(
            TableName=self.table,
            IndexName="by_user",
            KeyConditionExpression="user_id = :user",
            ExpressionAttributeValues=dynamo.to_item({":user": user_id}),
            ProjectionExpression="session_id",
        ):
            ids += [str(dynamo.from_item(i)["session_id"]) for i in page.get("Items", [])]
        return ids

    def delete_many(self, session_ids: list[str]) -> None:
        dynamo.delete_many(self.table, ({"session_id": s} for s in session_ids))

    def add_failure(self, session_id: str, limit: int, now: int) -> int | None:
        """Count one wrong code against a live pending session. Returns the new count, or None if
        the session is gone, expired or already had ``limit`` failures (it is dead)."""
        reply = dynamo.if_condition_holds(
            lambda: dynamo.client().update_item(
                TableName=self.table,
                Key=dynamo.to_item({"session_id": session_id}),
                UpdateExpression="SET failures = if_not_exists(failures, :zero) + :one",
                ConditionExpression=(
                    "attribute_exists(session_id) AND expires_at > :now "
                    "AND (attribute_not_exists(failures) OR failures < :limit)"
                ),
                ExpressionAttributeValues=dynamo.to_item({":zero": 0, ":one": 1, ":now": now, ":limit": limit}),
                ReturnValues="UPDATED_NEW",
            )
        )
        if reply is None:
            return None
        return int(dynamo.from_item(reply["Attributes"])["failures"])

    def exchange(
        self, pending_id: str, session: Session, now: int, max_failures: int, also: list[dict[str, Any]] | None = None
    ) -> bool:
        """Replace a live pending session by a full one in one transaction, so that a pending token
        is exchanged once at most. False if it was already gone, expired or dead."""
        delete_pending = {
            "TableName": self.table,
            "Key": dynamo.to_item({"session_id": pending_id}),
            "ConditionExpression": (
                "attribute_exists(session_id) AND expires_at > :now "
                "AND (attribute_not_exists(failures) OR failures < :limit)"
            ),
            "ExpressionAttributeValues": dynamo.to_item({":now": now, ":limit": max_failures}),
        }
        put_session = {
            "TableName": self.table,
            "Item": dynamo.to_item(_item(session)),
            "ConditionExpression": "attribute_not_exists(session_id)",
        }
        try:
            dynamo.transact(
                [{"Delete": delete_pending}, {"Put": put_session}, *(also or [])], on_condition_failure=_spent
            )
        except _SpentError:
            return False
        return True


class _SpentError(Exception):
    pass


class SessionEndedError(Exception):
    """The session a write was conditioned on is gone (ended, expired) or was never there."""


def _raise_failed(failed: list[int]) -> None:
    raise SessionEndedError


def _spent(failed: list[int]) -> None:
    raise _SpentError


def _item(session: Session) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "user_id": session.user_id,
        "kind": session.kind,
        "created_at": session.created_at,
        "authenticated_at": session.authenticated_at,
        "address": session.address,
        "user_agent": session.user_agent,
        "last_used_at": session.last_used_at,
    } | expiry_attributes(session.expires_at)
