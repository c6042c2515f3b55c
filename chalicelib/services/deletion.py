"""Deleting an account, and everything of it.

The order, so that a request dying at any step never leaves a half-deleted account that blocks its
name, nor records that nothing removes: first one transaction deletes the user item, releases the
username and the email, and writes the account's tombstone (``DELETED#<id>``, due at once in the
users table's expiry index). From its commit on the name and the address are free, and no
credential of the user works: sessions and API keys are checked against the user item. Then the
rest goes, each step safe to repeat: sessions, API keys, tokens (device and mailed), grants on
others' applications, counters, passkeys, the device logins it decided, the security log, and the
tombstone last. A request that dies
after the transaction leaves records of a user who no longer exists, which nothing can use, and the
tombstone: the next purge (hourly) finds it and runs the same clean-up, then deletes it; so does a
request that meets a leftover session or API key (``finish``), before it is refused.

The owner check against a concurrent application create: an application's create transaction
requires its owner's user item (``UserStore.exists_check``), so none can be created once the
deletion's transaction has committed. One created just before it, which the (eventually
consistent) index of grants did not show to the check yet, is found again by the clean-up's own
query of that index, after the commit, and deleted with the account instead of being orphaned; only
an index lagging past both queries (they are at least one transaction apart) could miss it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from chalicelib.config import Settings
from chalicelib.errors import ConflictError, InvalidPasswordError, InvalidTotpCodeError, invalid_field
from chalicelib.rules import OWNER_ROLE
from chalicelib.security.passwords import verify_password
from chalicelib.services.events import EventLog
from chalicelib.services.passwords import HOUR, reset_account_key
from chalicelib.services.sessions import SessionService
from chalicelib.services.throttle import HeldSessionLimit
from chalicelib.store import dynamo
from chalicelib.store.api_keys import ApiKeyStore
from chalicelib.store.applications import Application, ApplicationChangedError, ApplicationStore
from chalicelib.store.device_codes import DeviceCodeStore
from chalicelib.store.events import user_stream
from chalicelib.store.grants import Grant, GrantMissingError, GrantStore
from chalicelib.store.passkeys import PasskeyStore
from chalicelib.store.throttles import ThrottleStore
from chalicelib.store.tokens import TokenStore
from chalicelib.store.users import User, UserStore

if TYPE_CHECKING:
    from chalicelib.services.two_factor import TwoFactorService

WRONG_PASSWORD = "The password is incorrect."  # noqa: S105 - a message, not a password
WRONG_CODE = "The code is wrong, expired or already used."
# Counters of the user's own, by key (and the password resets' of this hour and the last).
_COUNTER_KEYS = ("held#{}", "login-account#{}", "mail-verify#{}", "mail-change#{}")


class AccountDeletion:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], int],
        sessions: SessionService,
        held_session: HeldSessionLimit,
        two_factor: Callable[[], TwoFactorService],
        events: EventLog,
    ) -> None:
        self.clock = clock
        self.users = UserStore(settings)
        self.apps = ApplicationStore(settings)
        self.grants = GrantStore(settings)
        self.api_keys = ApiKeyStore(settings)
        self.tokens = TokenStore(settings)
        self.counters = ThrottleStore(settings)
        self.passkeys = PasskeyStore(settings)
        self.device_codes = DeviceCodeStore(settings)
        self.sessions = sessions
        self.held_session = held_session
        self._two_factor = two_factor
        self.events = events

    def delete(self, user: User, password: str, code: str | None, recovery_code: str | None) -> None:
        """Delete the account, proven by its password (and a code when two-factor is on).

        Raises 429 while the held-session limit holds; 400 InvalidPasswordError or
        InvalidTotpCodeError (both counted by that limit); 400 naming ``code`` when two-factor is on
        and no code came; 409 naming the applications the user owns.
        """
        self.held_session.check(user.user_id)
        if not verify_password(user.password_hash, password):
            self.held_session.failed(user.user_id)
            raise InvalidPasswordError(WRONG_PASSWORD)
        if user.two_factor_enabled:
            if code is None and recovery_code is None:
                raise invalid_field("code", "required: two-factor authentication is on (or send recovery_code)")
            if not self._two_factor().prove(user, code, recovery_code):
                self.held_session.failed(user.user_id)
                raise InvalidTotpCodeError(WRONG_CODE)
        self.held_session.succeeded(user.user_id)
        owned = [app.name for app in self._owned(user.user_id)]
        if owned:
            raise ConflictError(
                "You own these applications: " + ", ".join(sorted(owned)) + ". Transfer or delete them first."
            )

        def changed(failed: list[int]) -> None:
            raise ConflictError("The account changed while it was being deleted; try again.")

        now = self.clock()
        dynamo.transact(self.users.delete_entries(user, now), on_condition_failure=changed)
        self.clean_up(user.user_id, now)
        self.users.remove_tombstone(user.user_id)

    def finish_tombstoned(self, user_ids: Sequence[str]) -> int:
        """Finish the deletions whose tombstones the purge found (it deletes the tombstones after):
        the clean-up of each one still there. Returns how many records were removed."""
        removed = 0
        for chunk in dynamo.chunked(user_ids, dynamo.BATCH_GET_LIMIT):
            for tombstone in dynamo.get_many(*(self.users.tombstone_ref(u) for u in chunk)):
                if tombstone is not None:  # else its own request finished meanwhile
                    removed += self.clean_up(tombstone.user_id, tombstone.deleted_at)
        return removed

    def finish(self, user_id: str) -> None:
        """Finish the deletion of ``user_id`` if one is in progress (its tombstone is there): what a
        request that meets a credential of a deleted user does before refusing it, so that the
        leftovers go at once rather than at the next purge."""
        tombstone = dynamo.get_many(self.users.tombstone_ref(user_id))[0]
        if tombstone is not None:
            self.clean_up(user_id, tombstone.deleted_at)
            self.users.remove_tombstone(user_id)

    def clean_up(self, user_id: str, deleted_at: int) -> int:
        """Remove every record of a user whose item is gone (deleted at ``deleted_at``). Safe to
        repeat, and to run beside another clean-up of the same user (a request's and the purge's).
        Returns how many records it removed (the counters uncounted: they may not exist).

        The one place that knows every kind of record of a user: the request and the purge both
        run it, so another kind (passkeys, say) is one more step here, before the security log.
        """
        sessions = [s.session_id for s in self.sessions.store.all_of(user_id)]
        self.sessions.store.delete_many(sessions)
        removed = len(sessions) + self._delete_api_keys(user_id)
        tokens = self.tokens.all_hashes_of(user_id)  # device and mailed, every kind
        self.tokens.delete_many(tokens)
        removed += len(tokens)
        for grant in self._grants(user_id):
            if grant.role == OWNER_ROLE:
                removed += self._delete_application(grant.app_id, user_id)
            else:
                with contextlib.suppress(GrantMissingError):  # removed meanwhile
                    self.grants.remove(grant.app_id, user_id)
                    removed += 1
        hour = deleted_at // HOUR * HOUR
        self.counters.clear_many(
            [
                *(k.format(user_id) for k in _COUNTER_KEYS),
                *(reset_account_key(user_id, hour - d) for d in (0, HOUR)),
            ]
        )
        removed += self.passkeys.delete_of_user(user_id)
        removed += self.device_codes.delete_many(self.device_codes.decided_by(user_id))
        # Last, so that a clean-up dying before it leaves the log of what was deleted.
        return removed + self.events.store.delete_stream(user_stream(user_id))

    def _owned(self, user_id: str) -> list[Application]:
        """The applications the user owns, each confirmed against the applications table."""
        owner_grants = [g for g in self._grants(user_id) if g.role == OWNER_ROLE]
        found: list[Application | None] = []
        for chunk in dynamo.chunked(owner_grants, dynamo.BATCH_GET_LIMIT):
            found += dynamo.get_many(*(self.apps.ref(g.app_id) for g in chunk))
        return [app for app in found if app is not None and app.owner_id == user_id]

    def _grants(self, user_id: str) -> list[Grant]:
        grants: list[Grant] = []
        cursor: str | None = None
        while True:
            page, cursor = self.grants.of_user(user_id, dynamo.BATCH_GET_LIMIT, cursor)
            grants += page
            if cursor is None:
                return grants

    def _delete_application(self, app_id: str, owner_id: str) -> int:
        """An application created while its owner was being deleted goes with the owner. Returns
        how many grants went with it."""
        app = dynamo.get_many(self.apps.ref(app_id))[0]
        if app is not None and app.owner_id == owner_id:
            try:
                self.apps.delete(app, self.clock())  # marked deleted, its name released
            except ApplicationChangedError:
                return 0  # renamed, transferred or deleted meanwhile: no longer this owner's to delete
        removed = self.grants.delete_all(app_id)
        self.apps.remove(app_id)  # the marked item, once its grants are gone (else nothing)
        return removed

    def _delete_api_keys(self, user_id: str) -> int:
        removed = 0
        cursor: str | None = None
        while True:
            # now=0: expired keys too, which the purge would otherwise delete only when it runs.
            keys, cursor = self.api_keys.list_page(user_id, dynamo.BATCH_GET_LIMIT, cursor, now=0)
            # Plain deletes, no events: the security log goes with the account.
            dynamo.delete_many(self.api_keys.table, ({"key_hash": k.key_hash} for k in keys))
            removed += len(keys)
            if cursor is None:
                return removed
