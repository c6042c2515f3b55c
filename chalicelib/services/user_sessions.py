"""A user's own sessions: listing them, ending one, the caller's or all the others, and proving
again who they are (re-authentication) for the routes that need a recent authentication."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.config import Settings
from chalicelib.errors import (
    InvalidPasswordError,
    InvalidTotpCodeError,
    NotFoundError,
    UnauthorizedError,
    invalid_field,
)
from chalicelib.services.events import EventLog
from chalicelib.services.identity import Actor
from chalicelib.services.sessions import SessionService
from chalicelib.store import dynamo
from chalicelib.store.sessions import Session, SessionEndedError

if TYPE_CHECKING:
    from chalicelib.services.identity import Principal
    from chalicelib.services.throttle import HeldSessionLimit
    from chalicelib.services.two_factor import TwoFactorService

WRONG_PASSWORD = "The password is incorrect."  # noqa: S105 (a message, not a password)
WRONG_CODE = "The code is wrong, expired or already used."
SESSION_NOT_FOUND = "No such session."


class UserSessions:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], int],
        sessions: SessionService,
        events: EventLog,
        held_session: HeldSessionLimit,
        two_factor: TwoFactorService | Callable[[], TwoFactorService],
    ) -> None:
        self.clock = clock
        self.sessions = sessions
        self.store = sessions.store
        self.events = events
        self.held_session = held_session
        self._two_factor = two_factor

    @property
    def two_factor(self) -> TwoFactorService:
        from chalicelib.services.two_factor import TwoFactorService

        if isinstance(self._two_factor, TwoFactorService):
            return self._two_factor
        return self._two_factor()

    def page(self, user_id: str, limit: int, cursor: str | None) -> tuple[list[Session], str | None]:
        """One page of the user's live full sessions, newest first. 400 for a cursor of another list."""
        try:
            return self.store.page(user_id, limit, cursor, self.clock())
        except dynamo.InvalidCursorError:
            raise invalid_field("cursor", "not a cursor from this list") from None

    def revoke(self, principal: Principal, session_id: str, actor: Actor) -> None:
        """End one of the caller's sessions (its token is refused from the next request on).
        Someone else's, a pending one or an unknown id: NotFoundError."""
        if not self._end(principal.user_id, session_id, "session.revoked", actor, session_id=session_id):
            raise NotFoundError(SESSION_NOT_FOUND)

    def logout(self, principal: Principal, actor: Actor) -> None:
        """End the calling session."""
        assert principal.session is not None  # the route takes session tokens only
        # Gone already (a simultaneous logout, a revocation): the caller is logged out all the same.
        self._end(principal.user_id, principal.session.session_id, "logout", actor)

    def revoke_others(self, principal: Principal, actor: Actor) -> int:
        """End every session of the caller's user but the caller's; returns how many ended."""
        assert principal.session is not None
        ended = self.sessions.end_all(principal.user_id, keep=principal.session.session_id)
        self.events.record(self.events.for_user(principal.user_id, "session.revoked", actor, count=ended))
        return ended

    def _end(self, user_id: str, ended: str, event_type: str, actor: Actor, **details: str) -> bool:
        """Delete a live full session of ``user_id`` and record ``event_type`` in the same write."""
        if not dynamo.could_exist({"session_id": ended}):
            return False
        now = self.clock()
        event = self.events.entry(self.events.for_user(user_id, event_type, actor, **details))
        delete = {"Delete": self.store.delete_entry(ended, user_id, now)}
        try:
            dynamo.transact([delete, event], on_condition_failure=_ended)
        except SessionEndedError:
            return False
        return True

    def reauthenticate(
        self, principal: Principal, password: str, code: str | None, recovery_code: str | None, actor: Actor
    ) -> int:
        """Prove again who the caller is: the password, and a code or recovery code when two-factor is
        on (its step spent as at login). Sets the session's ``authenticated_at`` to now and returns it.

        Raises 400 InvalidPasswordError or InvalidTotpCodeError when wrong (each counts toward the
        held-session limit, which answers 429 once in force), 400 naming ``code`` when two-factor is
        on and neither was given.
        """
        from chalicelib.security.passwords import verify_password

        user, session = principal.user, principal.session
        assert session is not None  # the route takes session tokens only
        if user.two_factor_enabled and code is None and recovery_code is None:
            raise invalid_field("code", "required while two-factor authentication is on (or give recovery_code)")
        self.held_session.check(user.user_id)
        if not verify_password(user.password_hash, password):
            self.held_session.failed(user.user_id)
            raise InvalidPasswordError(WRONG_PASSWORD)
        if user.two_factor_enabled and not self.two_factor.prove(user, code, recovery_code):
            self.held_session.failed(user.user_id)
            raise InvalidTotpCodeError(WRONG_CODE)
        now = self.clock()
        factor = "code" if code is not None else "recovery_code" if recovery_code is not None else None
        details = {"second_factor": factor} if user.two_factor_enabled else {}
        events = [self.events.for_user(user.user_id, "reauthenticated", actor, **details)]
        if factor == "recovery_code":
            events.append(self.events.for_user(user.user_id, "recovery_code.used", actor))
        update = self.store.reauthenticated_entry(session.session_id, user.user_id, now)
        try:
            dynamo.transact([update, *map(self.events.entry, events)], on_condition_failure=_ended)
        except SessionEndedError:
            raise UnauthorizedError("The token is invalid or has expired.") from None
        self.held_session.succeeded(user.user_id)
        return now


def _ended(failed: list[int]) -> None:
    raise SessionEndedError
