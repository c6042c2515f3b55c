"""Passwords: the rules for choosing one, changing it while signed in, and resetting a forgotten one
through a mailed link.

The rules apply wherever a password is chosen (sign-up, change, reset): 10-128 characters, not the
username or the email (ignoring case), and not one of the 10,000 most common passwords.

A reset answers alike whether or not the address has an account: the same reply, and about the same
time (see ``PasswordService.request_reset``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.config import Settings
from chalicelib.errors import InvalidPasswordError, invalid_field
from chalicelib.rules import PASSWORD_MAX, PASSWORD_MIN
from chalicelib.security.common_passwords import is_common
from chalicelib.security.opaque import hash_opaque_token, new_opaque_token
from chalicelib.security.passwords import hash_password, verify_password
from chalicelib.services import messages
from chalicelib.services.events import EventLog
from chalicelib.services.identity import Actor
from chalicelib.services.mail_tokens import PASSWORD_RESET, MailTokens, TokenSpentError
from chalicelib.services.sessions import SessionService
from chalicelib.services.throttle import HeldSessionLimit, LoginThrottle
from chalicelib.store.throttles import ThrottleStore
from chalicelib.store.users import User, UserStore

if TYPE_CHECKING:
    from chalicelib.mail import Mailer

RESET_TTL_SECONDS = 3600
RESETS_PER_ACCOUNT_PER_HOUR = 5
HOUR = 3600
# Every reset request takes at least this long, whether or not the address has an account: what
# differs between the two (the token's write, the mail) is then hidden under the floor. A mail
# transport slower than this (SES having a bad moment) shows through; see docs/API.md.
RESET_REPLY_FLOOR_SECONDS = 0.25
WRONG_PASSWORD = "The current password is incorrect."  # noqa: S105 - a message, not a password

logger = logging.getLogger(__name__)


def check_password(password: str, username: str, email: str, field: str = "password") -> None:
    """Raise a 400 naming ``field`` unless ``password`` follows the rules, saying which it breaks."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise invalid_field(field, f"{PASSWORD_MIN}-{PASSWORD_MAX} characters")
    if password.lower() in (username.lower(), email.lower()):
        raise invalid_field(field, "must differ from the username and the email")
    if is_common(password):
        raise invalid_field(field, "one of the most common passwords, which attackers try first: choose another")


def reset_account_key(account: str, window: int) -> str:
    """The counter of an account's reset requests in the hour that begins at ``window``."""
    return f"reset-account#{account}#{window}"


class PasswordService:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], int],
        sessions: SessionService,
        throttle: LoginThrottle,
        held_session: HeldSessionLimit,
        events: EventLog,
        mail_tokens: MailTokens,
        mailer: Callable[[], Mailer],
        reply_floor: float = RESET_REPLY_FLOOR_SECONDS,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.users = UserStore(settings)
        self.counters = ThrottleStore(settings)
        self.sessions = sessions
        self.throttle = throttle
        self.held_session = held_session
        self.events = events
        self.tokens = mail_tokens
        self._mailer = mailer
        self.reply_floor = reply_floor

    # --- changing it, signed in ---------------------------------------------------------------

    def change(self, user: User, session_id: str, current: str, new: str, actor: Actor) -> int:
        """Change the password; every other session and every device token ends. Returns how many
        other sessions ended.

        Raises 429 while the held-session limit holds, 400 InvalidPasswordError for a wrong current
        password (counted by that limit), 400 naming ``new_password`` for a new one that breaks the
        rules or equals the current one.
        """
        self.held_session.check(user.user_id)
        if not verify_password(user.password_hash, current):
            self.held_session.failed(user.user_id)
            raise InvalidPasswordError(WRONG_PASSWORD)
        self.held_session.succeeded(user.user_id)
        check_password(new, user.username, user.email, "new_password")
        if new == current:
            raise invalid_field("new_password", "must differ from the current password")
        if not self.users.change_password(user.user_id, user.password_hash, hash_password(new)):
            # Changed (or the account deleted) by another request since this one read it.
            raise InvalidPasswordError(WRONG_PASSWORD)
        # Ordered so that a request dying midway leaves the account no weaker than before: the new
        # password first, then the sessions and device tokens it ends, then its record.
        ended = self.sessions.end_all(user.user_id, keep=session_id)
        self.throttle.devices.end_all(user.user_id)
        self.events.record(self.events.for_user(user.user_id, "password.changed", actor, sessions_ended=ended))
        self._notify(messages.password_changed(self.settings, user.username, user.email))
        return ended

    # --- resetting it, by mail ----------------------------------------------------------------

    def request_reset(self, email: str, actor: Actor) -> None:
        """Mail a reset link (valid an hour; earlier ones stop working) if an account has ``email``.

        It answers alike, in about the same time, whether or not one has: both paths read the
        address's claim, count the request against the client address and an account (a stand-in
        for an unknown address, as at login), and make a token; then the reply is held until
        ``reply_floor`` has passed, which hides the writes and the mail that only a real account
        gets. Beyond 5 an hour per account, or PASSWORD_RESETS_PER_ADDRESS_PER_HOUR per client
        address, nothing is sent.
        """
        started = time.monotonic()
        try:
            self._request_reset(email, actor)
        finally:
            left = self.reply_floor - (time.monotonic() - started)
            if left > 0:
                time.sleep(left)

    def _request_reset(self, email: str, actor: Actor) -> None:
        now = self.clock()
        window = now - now % HOUR
        user_id = self.users.find_id(email) if "@" in email else None
        account = user_id or LoginThrottle.unknown_account(email)
        address = actor.address or "unknown"
        by_address = self.counters.increment(f"reset-address#{address}#{window}", expires_at=window + HOUR)
        by_account = self.counters.increment(reset_account_key(account, window), expires_at=window + HOUR)
        token = new_opaque_token()
        token_hash = hash_opaque_token(token)
        over = (
            by_address > self.settings.password_resets_per_address_per_hour or by_account > RESETS_PER_ACCOUNT_PER_HOUR
        )
        if user_id is None or over:
            return
        user = self.users.get(user_id)
        if user is None:
            return
        requested = self.events.for_user(user.user_id, "password.reset_requested", actor)
        self.tokens.issue_hashed(
            user, PASSWORD_RESET, token_hash, RESET_TTL_SECONDS, with_entries=[self.events.entry(requested)]
        )
        self._notify(messages.password_reset(self.settings, user.username, user.email, token))

    def confirm_reset(self, token: str, new: str, actor: Actor) -> None:
        """Set a new password with a reset token: every session and device token of the user ends,
        the login lockout is lifted, a notice is mailed; two-factor stays as it was.

        Raises 400 naming ``token`` for a used, expired, voided or unknown token, 400 naming
        ``new_password`` for one that breaks the rules (the token then still works).
        """
        stored, user = self.tokens.find(token, (PASSWORD_RESET,))
        check_password(new, user.username, user.email, "new_password")
        via_email = Actor(user.username, "email", None, actor.address, actor.user_agent)
        event = self.events.for_user(user.user_id, "password.reset", via_email)
        new_hash = hash_password(new)
        update = self.users.spend_token_entry(
            user.user_id, PASSWORD_RESET, stored.token_hash, {"password_hash": new_hash}, {}
        )
        try:
            self.tokens.spend(stored, update, [self.events.entry(event)])
        except TokenSpentError:
            raise self.tokens.bad_token() from None
        # The password is changed; now what it ends. A request dying here leaves sessions that the
        # old password opened: the reset's notice tells the person, who can reset again.
        self.sessions.end_all(user.user_id)
        self.throttle.devices.end_all(user.user_id)
        self.throttle.lift(user.user_id)
        self._notify(messages.password_was_reset(self.settings, user.username, user.email))

    def _notify(self, message: messages.Message) -> None:
        """Send a mail whose loss must not undo what was done (a notice, or a reset link whose
        failure must look like any other reset): a failure is logged, never raised."""
        try:
            self._mailer().send(message)
        except Exception:
            logger.exception("mail not sent: %s", message.kind)
