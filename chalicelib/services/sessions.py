"""Session tokens: issuing them, and checking one against its stored session on every request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings
from chalicelib.errors import UnauthorizedError
from chalicelib.security.ids import new_id
from chalicelib.security.tokens import PENDING, SESSION, InvalidTokenError, TokenClaims, issue_token, verify_token
from chalicelib.services.identity import Origin
from chalicelib.store import dynamo
from chalicelib.store.secrets import load_signing_key
from chalicelib.store.sessions import Session, SessionStore
from chalicelib.store.users import User, UserStore

if TYPE_CHECKING:
    from chalicelib.services.identity import Principal

# last_used_at is written at most this often per session (as for API keys).
LAST_USED_PRECISION = 300


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: int
    device_token: str | None = None  # a completed login's device token (see services/devices.py)


class SessionService:
    def __init__(
        self, settings: Settings, clock: Callable[[], int], on_user_gone: Callable[[str], None] | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock
        # Called with the user id of a live session whose user is gone (an account deletion that
        # died half-way: services/deletion.py finishes it) before the token is refused.
        self.on_user_gone = on_user_gone
        self.store = SessionStore(settings)
        self.users = UserStore(settings)

    @cached_property
    def _key(self) -> bytes:
        return load_signing_key(self.settings)

    def issue(
        self,
        user_id: str,
        kind: str = SESSION,
        origin: Origin | None = None,
        authenticated_at: int | None = None,
        device_token: str | None = None,
        also: list[dict[str, Any]] | None = None,
    ) -> IssuedToken:
        """Store a new session for ``user_id``, begun from ``origin``, and return its signed token.
        It was authenticated now, unless ``authenticated_at`` says otherwise (a refresh). A pending
        token carries ``device_token`` to the second step; ``also`` are written in one transaction
        with the session (a device token, an event)."""
        session = self._new_session(user_id, kind, origin or Origin(), authenticated_at)
        self.store.put(session, also)
        return self._token(session, device_token if kind == PENDING else None)

    def refresh(self, principal: Principal) -> IssuedToken:
        """A new session for the caller's, inheriting its authentication time and origin:
        refreshing is not authenticating."""
        old = principal.session
        assert old is not None  # refresh takes a session token
        origin = Origin(old.address, old.user_agent)
        return self.issue(old.user_id, origin=origin, authenticated_at=old.authenticated_at)

    def exchange(
        self, pending: Session, max_failures: int, also: list[dict[str, Any]] | None = None
    ) -> IssuedToken | None:
        """A full session token for a live pending session, which is spent in the same write (with
        ``also``). None if the pending session was already exchanged, has expired or is dead."""
        session = self._new_session(pending.user_id, SESSION, Origin(pending.address, pending.user_agent), None)
        if not self.store.exchange(pending.session_id, session, self.clock(), max_failures, also):
            return None
        return self._token(session)

    def end_all(self, user_id: str, keep: str | None = None) -> int:
        """End every session of the user (full and pending) except ``keep``; returns how many live
        full sessions ended (pending logins and expired leftovers go too, uncounted)."""
        now = self.clock()
        ended = [s for s in self.store.all_of(user_id) if s.session_id != keep]
        self.store.delete_many([s.session_id for s in ended])
        return sum(1 for s in ended if s.kind == SESSION and s.expires_at > now)

    def touch(self, session: Session) -> None:
        """Record that ``session`` authenticated a request now: written at most once every
        LAST_USED_PRECISION seconds per session, so a busy session costs no write per request."""
        now = self.clock()
        stale = now - LAST_USED_PRECISION
        if session.last_used_at is None or session.last_used_at <= stale:
            self.store.touch(session.session_id, now, not_since=stale)

    def _new_session(self, user_id: str, kind: str, origin: Origin, authenticated_at: int | None) -> Session:
        now = self.clock()
        ttl = self.settings.session_ttl_seconds if kind == SESSION else self.settings.pending_ttl_seconds
        return Session(
            session_id=new_id(),
            user_id=user_id,
            kind=kind,
            created_at=now,
            expires_at=now + ttl,
            authenticated_at=now if authenticated_at is None else authenticated_at,
            address=origin.address,
            user_agent=origin.user_agent,
            # Issued to a client that just proved itself (or refreshed): its first use. So a new
            # session's requests cost no write for 5 minutes, like any other's.
            last_used_at=now,
        )

    def _token(self, session: Session, device_token: str | None = None) -> IssuedToken:
        claims = TokenClaims(
            session.user_id, session.session_id, session.kind, session.created_at, session.expires_at, device_token
        )
        return IssuedToken(issue_token(claims, self._key), session.expires_at)

    def verify(self, token: str, kind: str = SESSION) -> tuple[Session, User]:
        """The live session of ``token`` and its user, in one round trip.

        Raises UnauthorizedError if the token is forged, expired, of another kind, or names a
        session that is gone.
        """
        _, session, user = self.verify_claims(token, kind)
        return session, user

    def verify_claims(self, token: str, kind: str = SESSION) -> tuple[TokenClaims, Session, User]:
        """As ``verify``, with the token's claims."""
        now = self.clock()
        try:
            claims = verify_token(token, self._key, now)
        except InvalidTokenError:
            raise UnauthorizedError("The token is invalid or has expired.") from None
        if claims.kind != kind:
            raise UnauthorizedError(
                "A pending login token is accepted only by POST /v1/login/totp."
                if claims.kind == PENDING
                else "This route needs a pending login token from POST /v1/login."
            )
        session, user = dynamo.get_many(self.store.ref(claims.session_id), self.users.ref(claims.user_id))
        if session is not None and user is None and self.on_user_gone is not None:
            self.on_user_gone(claims.user_id)
        if (
            session is None
            or user is None
            or session.user_id != claims.user_id
            or session.kind != claims.kind
            or session.expires_at <= now
        ):
            raise UnauthorizedError("The token is invalid or has expired.")
        return claims, session, user
