"""Session tokens: issuing them, and checking one against its stored session on every request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.config import Settings
from chalicelib.errors import UnauthorizedError
from chalicelib.security.ids import new_id
from chalicelib.security.tokens import PENDING, SESSION, InvalidTokenError, TokenClaims, issue_token, verify_token
from chalicelib.store import dynamo
from chalicelib.store.secrets import load_signing_key
from chalicelib.store.sessions import Session, SessionStore
from chalicelib.store.users import User, UserStore

if TYPE_CHECKING:
    from chalicelib.services.auth import Principal


@dataclass(frozen=True)
class Origin:
    """Where a request came from: the client's address and user agent, as the edge saw them."""

    address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: int


class SessionService:
    def __init__(self, settings: Settings, clock: Callable[[], int]) -> None:
        self.settings = settings
        self.clock = clock
        self.store = SessionStore(settings)
        self.users = UserStore(settings)

    @cached_property
    def _key(self) -> bytes:
        return load_signing_key(self.settings)

    def issue(
        self, user_id: str, kind: str = SESSION, origin: Origin | None = None, authenticated_at: int | None = None
    ) -> IssuedToken:
        """Store a new session for ``user_id``, begun from ``origin``, and return its signed token.
        It was authenticated now, unless ``authenticated_at`` says otherwise (a refresh)."""
        session = self._new_session(user_id, kind, origin or Origin(), authenticated_at)
        self.store.put(session)
        return self._token(session)

    def refresh(self, principal: Principal) -> IssuedToken:
        """A new session for the caller's, inheriting its authentication time and origin:
        refreshing is not authenticating."""
        old = principal.session
        assert old is not None  # refresh takes a session token
        origin = Origin(old.address, old.user_agent)
        return self.issue(old.user_id, origin=origin, authenticated_at=old.authenticated_at)

    def exchange(self, pending: Session, max_failures: int) -> IssuedToken | None:
        """A full session token for a live pending session, which is spent in the same write.
        None if the pending session was already exchanged, has expired or is dead."""
        session = self._new_session(pending.user_id, SESSION, Origin(pending.address, pending.user_agent), None)
        if not self.store.exchange(pending.session_id, session, self.clock(), max_failures):
            return None
        return self._token(session)

    def end_all(self, user_id: str, keep: str | None = None) -> int:
        """End every session of the user (full and pending) except ``keep``; returns how many ended."""
        ids = [s for s in self.store.ids_of(user_id) if s != keep]
        self.store.delete_many(ids)
        return len(ids)

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
        )

    def _token(self, session: Session) -> IssuedToken:
        claims = TokenClaims(session.user_id, session.session_id, session.kind, session.created_at, session.expires_at)
        return IssuedToken(issue_token(claims, self._key), session.expires_at)

    def verify(self, token: str, kind: str = SESSION) -> tuple[Session, User]:
        """The live session of ``token`` and its user, in one round trip.

        Raises UnauthorizedError if the token is forged, expired, of another kind, or names a
        session that is gone.
        """
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
        if (
            session is None
            or user is None
            or session.user_id != claims.user_id
            or session.kind != claims.kind
            or session.expires_at <= now
        ):
            raise UnauthorizedError("The token is invalid or has expired.")
        return session, user
