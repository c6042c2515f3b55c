"""API keys: creating, rotating, listing and revoking a user's keys, and authenticating a request by one.

A key may carry a scope (services.applications applies it to every application it reaches). Each
change writes its event (``api_key.created``, ``api_key.rotated``, ``api_key.deleted``) in the
change's own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings
from chalicelib.errors import NotFoundError, UnauthorizedError, invalid_field
from chalicelib.rules import (
    ALL_PERMISSIONS,
    API_KEY_NAME_MAX,
    BATCH_DELETE_MAX,
    DESCRIPTION_MAX,
    GRACE_MAX,
    SCOPE_APPLICATIONS_MAX,
)
from chalicelib.security.api_keys import display_prefix, generate_api_key, has_valid_checksum, hash_api_key
from chalicelib.security.ids import new_id
from chalicelib.services.identity import Actor
from chalicelib.store import dynamo
from chalicelib.store.api_keys import ApiKey, ApiKeyStore, KeyChangedError, Scope
from chalicelib.store.users import User, UserStore

if TYPE_CHECKING:
    from chalicelib.services.applications import ApplicationService
    from chalicelib.services.events import EventLog

# last_used_at is written at most this often per key, so a busy key costs no write per request.
LAST_USED_PRECISION = 300
KEY_REFUSED = "The API key is invalid, expired or revoked."


@dataclass(frozen=True)
class CreatedApiKey:
    """A new key's record and the key itself, which exists nowhere else after this reply."""

    record: ApiKey
    key: str


@dataclass(frozen=True)
class BatchDeleteResult:
    deleted: list[str]
    not_found: list[str]


def check_name(name: str) -> None:
    if not 1 <= len(name) <= API_KEY_NAME_MAX or not name.strip():
        raise invalid_field("name", f"1-{API_KEY_NAME_MAX} characters, not blank")


def check_description(description: str | None) -> None:
    if description is not None and len(description) > DESCRIPTION_MAX:
        raise invalid_field("description", f"at most {DESCRIPTION_MAX} characters")


def key_details(key: ApiKey) -> dict[str, Any]:
    """What an event says of a key: never the key or its hash."""
    return {"key_id": key.key_id, "name": key.name, "prefix": key.prefix}


class ApiKeyService:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], int],
        events: Callable[[], EventLog],
        applications: Callable[[], ApplicationService],
        on_user_gone: Callable[[str], None] | None = None,
    ) -> None:
        self.clock = clock
        self.on_user_gone = on_user_gone  # as SessionService's
        self.store = ApiKeyStore(settings)
        self.users = UserStore(settings)
        # Built on first use: authenticating a key needs neither.
        self._events = events
        self._applications = applications

    def create(
        self,
        user: User,
        name: str,
        description: str | None,
        expires_at: int | None,
        scope: dict[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> CreatedApiKey:
        """Make a key for ``user`` and store its hash, with the ``api_key.created`` event.

        ``scope`` is the request's ``{"applications"?, "permissions"?}``. Raises 400 for an invalid
        field, and for a scope naming an application the user cannot access now.
        """
        now = self.clock()
        check_name(name)
        check_description(description)
        if expires_at is not None and expires_at <= now:
            raise invalid_field("expires_at", "must be in the future (or null for never)")
        record, key = self._new_key(user.user_id, name, description, expires_at, self.check_scope(user, scope), now)
        events = self._events()
        event = events.for_user(user.user_id, "api_key.created", _actor(user, actor), **key_details(record))
        self.store.put(record, with_entries=[events.entry(event)])
        return CreatedApiKey(record, key)

    def check_scope(self, user: User, scope: dict[str, Any] | None) -> Scope | None:
        """The Scope of a request's ``scope``: None for no limit (absent, null, ``{}`` or both null).

        Raises 400 naming ``scope.applications`` for ids the user cannot access now (unknown, deleted,
        another's), and ``scope.permissions`` for names that are no permission.
        """
        if not scope:
            return None
        applications, permissions = scope.get("applications"), scope.get("permissions")
        if applications is not None:
            applications = list(dict.fromkeys(applications))
            if not 1 <= len(applications) <= SCOPE_APPLICATIONS_MAX:
                raise invalid_field("scope.applications", f"1-{SCOPE_APPLICATIONS_MAX} application ids")
            reachable = self._applications().accessible(user, applications)
            missing = [a for a in applications if a not in reachable]
            if missing:
                raise invalid_field(
                    "scope.applications", "no application you can access has the id " + ", ".join(missing[:5])
                )
        if permissions is not None:
            unknown = [p for p in permissions if p not in ALL_PERMISSIONS]
            if not permissions or unknown:
                raise invalid_field("scope.permissions", "a non-empty list of " + ", ".join(ALL_PERMISSIONS))
            permissions = [p for p in ALL_PERMISSIONS if p in permissions]
        if applications is None and permissions is None:
            return None
        return Scope(
            tuple(applications) if applications is not None else None,
            tuple(permissions) if permissions is not None else None,
        )

    def rotate(
        self, user: User, key_id: str, grace_seconds: int = 0, actor: Actor | None = None
    ) -> tuple[CreatedApiKey, ApiKey]:
        """A new key with the old one's name, description, scope and expiry; the old one now ends
        ``grace_seconds`` from now (or when it would have, if earlier). One transaction: the new key,
        the old key's end (if it is still the user's live key) and the ``api_key.rotated`` event.

        Returns the new key and the old key as it now is. Raises 400 for a grace out of range, and
        NotFoundError for an unknown, expired or another's key.
        """
        if not 0 <= grace_seconds <= GRACE_MAX:
            raise invalid_field("grace_seconds", f"a whole number from 0 to {GRACE_MAX}")
        now = self.clock()
        old = self.store.find(user.user_id, key_id, now)
        if old is None:
            raise NotFoundError("No such API key.")
        ends = now + grace_seconds
        if old.expires_at is not None:
            ends = min(ends, old.expires_at)
        record, key = self._new_key(user.user_id, old.name, old.description, old.expires_at, old.scope, now)
        events = self._events()
        event = events.for_user(
            user.user_id,
            "api_key.rotated",
            _actor(user, actor),
            **key_details(old),
            new_key_id=record.key_id,
            new_prefix=record.prefix,
            old_key_expires_at=ends,
        )
        try:
            self.store.rotate(old, record, ends, now, with_entries=[events.entry(event)])
        except KeyChangedError:
            raise NotFoundError("No such API key.") from None
        return CreatedApiKey(record, key), replace(old, expires_at=ends)

    def _new_key(
        self, user_id: str, name: str, description: str | None, expires_at: int | None, scope: Scope | None, now: int
    ) -> tuple[ApiKey, str]:
        key = generate_api_key()
        record = ApiKey(
            key_id=new_id(),
            user_id=user_id,
            key_hash=hash_api_key(key),
            name=name,
            description=description,
            prefix=display_prefix(key),
            created_at=now,
            expires_at=expires_at,
            scope=scope,
        )
        return record, key

    def list_page(self, user_id: str, limit: int, cursor: str | None) -> tuple[list[ApiKey], str | None]:
        """One page of the user's keys, oldest first; expired keys are gone, purged or not.
        Raises 400 for a cursor not from this list."""
        try:
            return self.store.list_page(user_id, limit, cursor, self.clock())
        except dynamo.InvalidCursorError:
            raise invalid_field("cursor", "not a cursor from this list") from None

    def delete(self, user: User, key_id: str, actor: Actor | None = None) -> None:
        """Revoke one of the user's keys, with its ``api_key.deleted`` event in the same transaction.
        Raises NotFoundError for an unknown, expired or another's key."""
        now = self.clock()
        key = self.store.find(user.user_id, key_id, now)
        events = self._events()
        if key is None or not self.store.delete(
            key,
            now,
            [events.entry(events.for_user(user.user_id, "api_key.deleted", _actor(user, actor), **key_details(key)))],
        ):
            raise NotFoundError("No such API key.")

    def delete_many(self, user: User, key_ids: Sequence[str], actor: Actor | None = None) -> BatchDeleteResult:
        """Revoke up to 100 of the user's keys at once; ids of unknown or others' keys are not found.

        Each key goes with its own ``api_key.deleted`` event, in transactions of 50 keys and their
        events: a request dying midway leaves each key either live and unlogged, or gone and logged.
        """
        if not 1 <= len(key_ids) <= BATCH_DELETE_MAX:
            raise invalid_field("ids", f"1-{BATCH_DELETE_MAX} ids")
        wanted = list(dict.fromkeys(key_ids))  # each id reported once, in the order given
        now = self.clock()
        found = self.store.find_many(user.user_id, wanted, now)
        events, who = self._events(), _actor(user, actor)
        keys = [found[k] for k in wanted if k in found]
        groups = [
            [
                self.store.delete_entry(key, now),
                events.entry(events.for_user(user.user_id, "api_key.deleted", who, **key_details(key))),
            ]
            for key in keys
        ]
        written = self.store.delete_many(groups)
        deleted = {key.key_id for key, ok in zip(keys, written, strict=True) if ok}
        return BatchDeleteResult(
            deleted=[k for k in wanted if k in deleted], not_found=[k for k in wanted if k not in deleted]
        )

    def authenticate(self, credential: str) -> tuple[ApiKey, User]:
        """The live key of ``credential`` and its user. Raises UnauthorizedError otherwise.

        A bad checksum is refused without I/O. Otherwise one strongly consistent GetItem by hash
        finds the key (so a deleted key fails on the very next request), and one more the user;
        ``last_used_at`` is written only when the stored one is 5 minutes old or more.
        """
        if not has_valid_checksum(credential):
            raise UnauthorizedError(KEY_REFUSED)
        now = self.clock()
        key = self.store.get(hash_api_key(credential))
        if key is None or key.expired(now):
            raise UnauthorizedError(KEY_REFUSED)
        user = self.users.get(key.user_id)
        if user is None:
            if self.on_user_gone is not None:
                self.on_user_gone(key.user_id)
            raise UnauthorizedError(KEY_REFUSED)
        stale = now - LAST_USED_PRECISION
        if key.last_used_at is None or key.last_used_at <= stale:
            self.store.touch(key.key_hash, now, not_since=stale)
        return key, user


def _actor(user: User, actor: Actor | None) -> Actor:
    """The actor of an event: as the route saw the caller, else the user by a session."""
    if actor is not None:
        return actor
    return Actor(username=user.username, via="session")
