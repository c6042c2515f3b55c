"""Device tokens (OWASP's device cookies): what a browser or CLI that has logged in before sends with
its next login, so that a stranger's failures against the account never lock it out.

A device token is opaque (256 random bits), stored only as its SHA-256 in the tokens table (kind
``device``), lives 365 days, and ends with a password change or reset (``end_all``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.config import Settings
from chalicelib.security.opaque import hash_opaque_token, new_opaque_token
from chalicelib.store import dynamo
from chalicelib.store.tokens import StoredToken, TokenStore

DEVICE = "device"
DEVICE_TTL_SECONDS = 365 * 86400


class DeviceTokens:
    def __init__(self, settings: Settings, clock: Callable[[], int]) -> None:
        self.clock = clock
        self.store = TokenStore(settings)

    @staticmethod
    def hash(token: str) -> str:
        return hash_opaque_token(token)

    def ref(self, token: str) -> dynamo.Ref[StoredToken]:
        """The stored record of ``token``, to fetch with the other reads of a login."""
        return self.store.ref(self.hash(token))

    @staticmethod
    def valid(stored: StoredToken | None, user_id: str | None, now: int) -> bool:
        """Whether a fetched record is a live device token of ``user_id``: anything else (unknown,
        expired, another account's, another kind of token) is as if no token had been sent."""
        return (
            stored is not None and user_id is not None and stored.kind == DEVICE and stored.user_id == user_id
        ) and stored.live(now)

    def new(self, user_id: str) -> tuple[str, dict[str, Any]]:
        """A new device token of ``user_id`` and the transaction entry that stores it (hashed)."""
        token = new_opaque_token()
        now = self.clock()
        record = StoredToken(self.hash(token), user_id, DEVICE, now, now + DEVICE_TTL_SECONDS)
        return token, self.store.put_entry(record)

    def end_all(self, user_id: str) -> int:
        """End every device token of the user (a password change or reset, account deletion).
        Returns how many ended (the ``by_user`` index may lag a moment behind one just issued)."""
        hashes = self.store.hashes_of(user_id, [DEVICE])
        self.store.delete_many(hashes)
        return len(hashes)
