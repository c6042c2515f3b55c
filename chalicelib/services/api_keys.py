"""API keys: creating, listing and revoking a user's keys, and authenticating a request by one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chalicelib.config import Settings
from chalicelib.errors import NotFoundError, UnauthorizedError, invalid_field
from chalicelib.security.api_keys import display_prefix, generate_api_key, has_valid_checksum, hash_api_key
from chalicelib.security.ids import new_id
from chalicelib.store import dynamo
from chalicelib.store.api_keys import ApiKey, ApiKeyStore
from chalicelib.store.users import User, UserStore

NAME_MAX = 64
DESCRIPTION_MAX = 256
BATCH_DELETE_MAX = 100
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
    if not 1 <= len(name) <= NAME_MAX or not name.strip():
        raise invalid_field("name", f"1-{NAME_MAX} characters, not blank")


def check_description(description: str | None) -> None:
    if description is not None and len(description) > DESCRIPTION_MAX:
        raise invalid_field("description", f"at most {DESCRIPTION_MAX} characters")


class ApiKeyService:
    def __init__(self, settings: Settings, clock: Callable[[], int]) -> None:
        self.clock = clock
        self.store = ApiKeyStore(settings)
        self.users = UserStore(settings)

    def create(self, user_id: str, name: str, description: str | None, expires_at: int | None) -> CreatedApiKey:
        """Make a key for ``user_id`` and store its hash. Raises 400 for an invalid field."""
        now = self.clock()
        check_name(name)
        check_description(description)
        if expires_at is not None and expires_at <= now:
            raise invalid_field("expires_at", "must be in the future (or null for never)")
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
        )
        self.store.put(record)
        return CreatedApiKey(record, key)

    def list_page(self, user_id: str, limit: int, cursor: str | None) -> tuple[list[ApiKey], str | None]:
        """One page of the user's keys, oldest first; expired keys are gone, purged or not.
        Raises 400 for a cursor not from this list."""
        try:
            return self.store.list_page(user_id, limit, cursor, self.clock())
        except dynamo.InvalidCursorError:
            raise invalid_field("cursor", "not a cursor from this list") from None

    def delete(self, user_id: str, key_id: str) -> None:
        """Revoke one of the user's keys. Raises NotFoundError for an unknown, expired or another's key."""
        now = self.clock()
        key_hash = self.store.hash_of(user_id, key_id, now)
        if key_hash is None or not self.store.delete(key_hash, user_id, now):
            raise NotFoundError("No such API key.")

    def delete_many(self, user_id: str, key_ids: Sequence[str]) -> BatchDeleteResult:
        """Revoke up to 100 of the user's keys at once; ids of unknown or others' keys are not found."""
        if not 1 <= len(key_ids) <= BATCH_DELETE_MAX:
            raise invalid_field("ids", f"1-{BATCH_DELETE_MAX} ids")
        wanted = list(dict.fromkeys(key_ids))  # each id reported once, in the order given
        hashes = self.store.hashes_of(user_id, wanted, self.clock())
        self.store.delete_many(list(hashes.values()))
        return BatchDeleteResult(
            deleted=[k for k in wanted if k in hashes], not_found=[k for k in wanted if k not in hashes]
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
            raise UnauthorizedError(KEY_REFUSED)
        stale = now - LAST_USED_PRECISION
        if key.last_used_at is None or key.last_used_at <= stale:
            self.store.touch(key.key_hash, now, not_since=stale)
        return key, user
