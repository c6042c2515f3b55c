"""The single-use tokens that mails carry: email verification, address change, password reset.

A token is 256 random bits; only its SHA-256 is stored (tokens table), and the same hash is kept on
the user item as the user's one live token of its kind. Spending one is a transaction that deletes
the token (conditionally: once, before it expires) and changes the user only if that hash is still
the live one, so that a newer token voids every earlier one at once, even before the tokens table's
``by_user`` index (eventually consistent) has caught up; the voided records are deleted too, and
the purge removes any left when they expire.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.config import Settings
from chalicelib.errors import BadRequestError, invalid_field
from chalicelib.rules import TOKEN_MAX
from chalicelib.security.opaque import hash_opaque_token, new_opaque_token
from chalicelib.store import dynamo
from chalicelib.store.tokens import StoredToken, TokenStore
from chalicelib.store.users import User, UserStore

EMAIL_VERIFICATION, EMAIL_CHANGE, PASSWORD_RESET = "email_verification", "email_change", "password_reset"
DEVICE = "device"
MAIL_KINDS = (EMAIL_VERIFICATION, EMAIL_CHANGE, PASSWORD_RESET)
TOKEN_REFUSED = "this link's token is invalid, used or has expired: ask for a new one"  # noqa: S105


class TokenSpentError(Exception):
    """The token was spent, voided or expired since it was read (or the user changed meanwhile)."""


class MailTokens:
    def __init__(self, settings: Settings, clock: Callable[[], int]) -> None:
        self.clock = clock
        self.store = TokenStore(settings)
        self.users = UserStore(settings)

    def issue(
        self,
        user: User,
        kind: str,
        ttl: int,
        data: dict[str, Any] | None = None,
        with_entries: Sequence[dict[str, Any]] = (),
        first: bool = False,
    ) -> str:
        """A new token of ``kind`` for ``user``, which voids the earlier ones (``first``: a new
        account has none to look for); returns the token."""
        token = new_opaque_token()
        self.issue_hashed(user, kind, hash_opaque_token(token), ttl, data, with_entries, first)
        return token

    def issue_hashed(
        self,
        user: User,
        kind: str,
        token_hash: str,
        ttl: int,
        data: dict[str, Any] | None = None,
        with_entries: Sequence[dict[str, Any]] = (),
        first: bool = False,
    ) -> None:
        """Store a token by its hash, make it the user's live one of its kind, with ``with_entries``
        (its event), in one transaction; then delete the records of the tokens it voided."""
        now = self.clock()
        earlier = [] if first else self.store.hashes_of(user.user_id, [kind])
        record = StoredToken(token_hash, user.user_id, kind, now, now + ttl, data or {})
        entries = [self.store.put_entry(record), self.users.current_token_entry(user.user_id, kind, token_hash)]

        def account_gone(failed: list[int]) -> None:
            raise TokenSpentError(kind)

        dynamo.transact([*entries, *with_entries], on_condition_failure=account_gone)
        self.store.delete_many([h for h in earlier if h != token_hash])

    def find(self, token: str, kinds: Sequence[str]) -> tuple[StoredToken, User]:
        """The live token of one of ``kinds`` and its user. Raises 400 naming ``token`` otherwise."""
        if not token or len(token) > TOKEN_MAX:
            raise self.bad_token()
        token_hash = hash_opaque_token(token)
        stored: StoredToken | None = dynamo.get_many(self.store.ref(token_hash))[0]
        if stored is None or stored.kind not in kinds or not stored.live(self.clock()):
            raise self.bad_token()
        found = dynamo.get_many(self.users.ref_with_token(stored.user_id, stored.kind))[0]
        if found is None or found[1] != token_hash:
            raise self.bad_token()  # voided by a newer token, or the account is gone
        return stored, found[0]

    def spend(
        self,
        stored: StoredToken,
        user_update: dict[str, Any],
        with_entries: Sequence[dict[str, Any]] = (),
        on_other_failure: Callable[[list[int]], None] | None = None,
    ) -> None:
        """Spend ``stored`` with ``user_update`` (from UserStore.spend_token_entry) and ``with_entries``
        in one transaction. Raises TokenSpentError if the token or the user is not as read; the
        failed positions of ``with_entries`` (from 0) go to ``on_other_failure``."""

        def spent(failed: list[int]) -> None:
            if 0 in failed or 1 in failed:
                raise TokenSpentError(stored.kind)
            if on_other_failure is not None:
                on_other_failure([i - 2 for i in failed])

        spend = self.store.spend_entry(stored.token_hash, stored.kind, self.clock())
        dynamo.transact([spend, user_update, *with_entries], on_condition_failure=spent)

    @staticmethod
    def bad_token() -> BadRequestError:
        return invalid_field("token", TOKEN_REFUSED)
