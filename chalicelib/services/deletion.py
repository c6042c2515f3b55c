"""Deleting an account, and everything of it.

The order, so that a request dying at any step never leaves a half-deleted account that blocks its
name: first one transaction deletes the user item and releases the username and the email (from
its commit on the name and the address are free, and no credential of the user works: sessions
and API keys are checked against the user item). Then the rest goes, each step safe to repeat:
sessions, API keys, tokens (device and mailed), grants on others' applications, counters,
passkeys, and the security log last. What a dying request leaves behind are records of a user who
no longer exists, which nothing can use; the integrity checker reports them, and the purge removes
those that expire.

The owner check against a concurrent application create: an application's create transaction
requires its owner's user item (``UserStore.exists_check``), so none can be created once the
deletion's transaction has committed. One created just before it, which the (eventually
consistent) index of grants did not show to the check yet, is found again by the clean-up's own
query of that index, after the commit, and deleted with the account instead of being orphaned; only
an index lagging past both queries (they are at least one transaction apart) could miss it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.config import Settings
from chalicelib.errors import ConflictError, InvalidPasswordError, InvalidTotpCodeError, invalid_field
from chalicelib.rules import OWNER_ROLE
from chalicelib.security.passwords import verify_password
from chalicelib.services.events import EventLog
from chalicelib.services.mail_tokens import DEVICE, MAIL_KINDS
from chalicelib.services.passwords import HOUR, reset_account_key
from chalicelib.services.sessions import SessionService
from chalicelib.services.throttle import HeldSessionLimit
from chalicelib.store import dynamo
from chalicelib.store.api_keys import ApiKeyStore
from chalicelib.store.applications import Application, ApplicationChangedError, ApplicationStore
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

        dynamo.transact(self.users.delete_entries(user), on_condition_failure=changed)
        self.clean_up(user.user_id)

    def clean_up(self, user_id: str) -> None:
        """Remove every record of a user whose item is gone. Safe to repeat."""
        self.sessions.end_all(user_id)
        self._delete_api_keys(user_id)
        self.tokens.delete_many(self.tokens.hashes_of(user_id, [DEVICE, *MAIL_KINDS]))
        for grant in self._grants(user_id):
            if grant.role == OWNER_ROLE:
                self._delete_application(grant.app_id, user_id)
            else:
                with contextlib.suppress(GrantMissingError):  # removed meanwhile
                    self.grants.remove(grant.app_id, user_id)
        hour = self.clock() // HOUR * HOUR
        for key in (
            *(k.format(user_id) for k in _COUNTER_KEYS),
            *(reset_account_key(user_id, hour - d) for d in (0, HOUR)),
        ):
            self.counters.clear(key)
        self.passkeys.delete_of_user(user_id)
        self.events.forget_user(user_id)

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

    def _delete_application(self, app_id: str, owner_id: str) -> None:
        """An application created while its owner was being deleted goes with the owner."""
        app = dynamo.get_many(self.apps.ref(app_id))[0]
        if app is not None and app.owner_id == owner_id:
            try:
                self.apps.delete(app, self.clock())  # marked deleted, its name released
            except ApplicationChangedError:
                return  # renamed, transferred or deleted meanwhile: no longer this owner's to delete
        self.grants.delete_all(app_id)
        self.apps.remove(app_id)  # the marked item, once its grants are gone (else nothing)

    def _delete_api_keys(self, user_id: str) -> None:
        cursor: str | None = None
        while True:
            # now=0: expired keys too, which the purge would otherwise delete only when it runs.
            keys, cursor = self.api_keys.list_page(user_id, dynamo.BATCH_GET_LIMIT, cursor, now=0)
            # Plain deletes, no events: the security log goes with the account.
            dynamo.delete_many(self.api_keys.table, ({"key_hash": k.key_hash} for k in keys))
            if cursor is None:
                return
