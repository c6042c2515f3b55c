"""The account's email address: verifying it, and changing it through a verification of the new one.

Sign-up mails a verification link (24 hours); more can be asked for, at most one a minute and 10 a
day per user (sign-up's counting as the first). A change of address takes effect only when the
new address's link is opened: that one transaction releases the old address's claim, claims the
new one, updates the user, spends the token and records the event; then a notice goes to the old
address. Until then the old address stays in force.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings
from chalicelib.errors import ConflictError, ServiceUnavailableError, TooManyRequestsError, invalid_field
from chalicelib.rules import check_email
from chalicelib.services import messages
from chalicelib.services.events import EventLog
from chalicelib.services.identity import Actor
from chalicelib.services.mail_tokens import EMAIL_CHANGE, EMAIL_VERIFICATION, MailTokens, TokenSpentError
from chalicelib.store import dynamo
from chalicelib.store.throttles import ThrottleStore
from chalicelib.store.tokens import StoredToken
from chalicelib.store.users import User, UserStore

if TYPE_CHECKING:
    from chalicelib.mail import Mailer, Message

VERIFICATION_TTL_SECONDS = 86400
MAIL_GAP_SECONDS = 60  # at most one verification mail a minute...
MAILS_PER_DAY = 10  # ...and 10 a day, per user
DAY = 86400
EMAIL_TAKEN = "email: this email is already registered"

logger = logging.getLogger(__name__)


class EmailService:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], int],
        events: EventLog,
        mail_tokens: MailTokens,
        mailer: Callable[[], Mailer],
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.users = UserStore(settings)
        self.limits = ThrottleStore(settings)
        self.events = events
        self.tokens = mail_tokens
        self._mailer = mailer

    def signed_up(self, user: User) -> None:
        """Mail a new account's verification link. It counts as the first of the day's mails; a
        failure to send is logged, not raised (the account exists, and a new link can be asked for)."""
        self.limits.start_slots(_verify_key(user.user_id), self.clock(), DAY)
        data = {"email": user.email}
        token = self.tokens.issue(user, EMAIL_VERIFICATION, VERIFICATION_TTL_SECONDS, data, first=True)
        try:
            self._mailer().send(messages.verify_email(self.settings, user.username, user.email, token))
        except Exception:
            logger.exception("mail not sent: email_verification")

    def resend_verification(self, user: User) -> None:
        """Mail a new verification link; earlier ones stop working. Raises 409 if the address is
        verified, 429 beyond one a minute or 10 a day (earlier links then still work), 503 if the
        mail could not be sent."""
        if user.email_verified:
            raise ConflictError("email: this address is already verified")
        self._take_slot(_verify_key(user.user_id))
        token = self.tokens.issue(user, EMAIL_VERIFICATION, VERIFICATION_TTL_SECONDS, {"email": user.email})
        self._send(messages.verify_email(self.settings, user.username, user.email, token))

    def request_change(self, user: User, new_email: str, actor: Actor) -> str:
        """Mail a link to ``new_email`` that makes it the user's address; returns the pending address.

        Raises 400 naming ``email`` for the current address, 409 if an account has it, 429 beyond one
        request a minute or 10 a day, 503 if the mail could not be sent.
        """
        check_email(new_email)
        if new_email.lower() == user.email.lower():
            raise invalid_field("email", "this is already your address")
        if dynamo.get_many(self.users.claim_ref(new_email))[0] is not None:
            raise ConflictError(EMAIL_TAKEN)
        self._take_slot(_change_key(user.user_id))
        event = self.events.for_user(user.user_id, "email.change_requested", actor, pending_email=new_email)
        data = {"email": new_email, "from": user.email}
        token = self.tokens.issue(
            user, EMAIL_CHANGE, VERIFICATION_TTL_SECONDS, data, with_entries=[self.events.entry(event)]
        )
        self._send(messages.confirm_new_email(self.settings, user.username, new_email, token))
        return new_email

    def verify(self, token: str, actor: Actor) -> str:
        """Spend a verification or address-change token; returns the (new) address, now verified.

        Raises 400 naming ``token`` for a used, expired, voided or unknown one (also when the
        address changed since it was sent), 409 if the new address was taken meanwhile.
        """
        stored, user = self.tokens.find(token, (EMAIL_VERIFICATION, EMAIL_CHANGE))
        via_email = Actor(user.username, "email", None, actor.address, actor.user_agent)
        if stored.kind == EMAIL_VERIFICATION:
            if stored.data.get("email") != user.email:
                raise self.tokens.bad_token()  # sent to an address the account no longer has
            update = self.users.spend_token_entry(
                user.user_id, EMAIL_VERIFICATION, stored.token_hash, {"email_verified": True}, {"email": user.email}
            )
            event = self.events.for_user(user.user_id, "email.verified", via_email, email=user.email)
            self._spend(stored, update, [self.events.entry(event)])
            return user.email
        new_email, old_email = str(stored.data.get("email")), str(stored.data.get("from"))
        if old_email != user.email:
            raise self.tokens.bad_token()  # the address changed another way since
        update = self.users.spend_token_entry(
            user.user_id,
            EMAIL_CHANGE,
            stored.token_hash,
            {"email": new_email, "email_verified": True},
            {"email": old_email},
        )
        event = self.events.for_user(user.user_id, "email.changed", via_email, **{"from": old_email, "to": new_email})
        moves = self.users.move_email_entries(user.user_id, old_email, new_email, self.clock())
        self._spend(stored, update, [*moves, self.events.entry(event)])
        try:
            self._mailer().send(messages.email_changed(self.settings, user.username, old_email, new_email))
        except Exception:
            logger.exception("mail not sent: email_changed")
        return new_email

    def _spend(self, stored: StoredToken, update: dict[str, Any], entries: list[dict[str, Any]]) -> None:
        def taken(failed: list[int]) -> None:
            # Of an address change's entries: 0 releases the old claim, 1 claims the new address.
            if 1 in failed:
                raise ConflictError(EMAIL_TAKEN)
            raise TokenSpentError("email")

        try:
            self.tokens.spend(stored, update, entries, on_other_failure=taken)
        except TokenSpentError:
            raise self.tokens.bad_token() from None

    def _take_slot(self, key: str) -> None:
        wait = self.limits.take_slot(key, self.clock(), MAIL_GAP_SECONDS, MAILS_PER_DAY, DAY)
        if wait:
            raise TooManyRequestsError(
                "Mails of this kind are limited to one a minute and 10 a day: try again later.", wait
            )

    def _send(self, message: Message) -> None:
        try:
            self._mailer().send(message)
        except Exception:
            logger.exception("mail not sent: %s", message.kind)
            raise ServiceUnavailableError("The mail could not be sent: try again in a moment.", 30) from None


def _verify_key(user_id: str) -> str:
    return f"mail-verify#{user_id}"


def _change_key(user_id: str) -> str:
    return f"mail-change#{user_id}"
