"""Who is calling: a bearer credential (session token or API key) to a Principal."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.errors import ForbiddenError, ReauthenticationRequiredError, UnauthorizedError
from chalicelib.security.api_keys import PREFIX as API_KEY_PREFIX
from chalicelib.security.tokens import PENDING, SESSION
from chalicelib.services.identity import API_KEY, Principal
from chalicelib.services.sessions import SessionService

if TYPE_CHECKING:
    from chalicelib.services.api_keys import ApiKeyService


class AuthService:
    def __init__(self, sessions: SessionService, api_keys: Callable[[], ApiKeyService]) -> None:
        self.sessions = sessions
        self._api_keys = api_keys  # built on first use: session-token requests never need it

    def authenticate(self, credential: str, session_only: bool = False) -> Principal:
        """The caller behind a full session token or an API key.

        Raises UnauthorizedError for a bad credential, and ForbiddenError for an API key when
        ``session_only`` (routes that manage keys, two-factor or the account itself).
        """
        if credential.startswith(API_KEY_PREFIX):
            principal = self._authenticate_api_key(credential)
            if session_only:
                raise ForbiddenError("This route needs a session token; API keys may not use it.")
            return principal
        session, user = self.sessions.verify(credential, SESSION)
        self.sessions.touch(session)
        return Principal(user=user, via=SESSION, credential_id=session.session_id, session=session)

    def require_recent(self, principal: Principal | None) -> None:
        """Raise ReauthenticationRequiredError unless the caller's session was authenticated within
        ``REAUTH_MAX_AGE_SECONDS`` (routes marked recent take session tokens only)."""
        session = principal.session if principal else None
        max_age = self.sessions.settings.reauth_max_age_seconds
        if session is None or session.authenticated_at + max_age <= self.sessions.clock():
            raise ReauthenticationRequiredError(
                "This change needs a recent authentication: confirm your password with "
                "POST /v1/user/reauthenticate, then try again."
            )

    def authenticate_pending(self, credential: str) -> Principal:
        """The caller behind a pending login token. Raises UnauthorizedError for anything else."""
        if credential.startswith(API_KEY_PREFIX):
            raise UnauthorizedError("This route needs a pending login token from POST /v1/login.")
        claims, session, user = self.sessions.verify_claims(credential, PENDING)
        return Principal(
            user=user,
            via=PENDING,
            credential_id=session.session_id,
            session=session,
            device_token=claims.device_token,
        )

    def _authenticate_api_key(self, credential: str) -> Principal:
        key, user = self._api_keys().authenticate(credential)
        return Principal(user=user, via=API_KEY, credential_id=key.key_id, api_key_prefix=key.prefix, scope=key.scope)
