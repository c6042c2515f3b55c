"""Who is calling: a bearer credential (session token or API key) to a Principal."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.errors import ForbiddenError, UnauthorizedError
from chalicelib.security.tokens import PENDING, SESSION
from chalicelib.services.sessions import SessionService
from chalicelib.store.users import User

API_KEY_PREFIX = "lk_"


@dataclass(frozen=True)
class Principal:
    user: User
    via: str  # "session", "api_key" or "pending"
    credential_id: str  # the session id or the API key id

    @property
    def user_id(self) -> str:
        return self.user.user_id


class AuthService:
    def __init__(self, sessions: SessionService) -> None:
        self.sessions = sessions

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
        return Principal(user=user, via=SESSION, credential_id=session.session_id)

    def authenticate_pending(self, credential: str) -> Principal:
        """The caller behind a pending login token. Raises UnauthorizedError for anything else."""
        if credential.startswith(API_KEY_PREFIX):
            raise UnauthorizedError("This route needs a pending login token from POST /v1/login.")
        session, user = self.sessions.verify(credential, PENDING)
        return Principal(user=user, via=PENDING, credential_id=session.session_id)

    def _authenticate_api_key(self, credential: str) -> Principal:
        raise UnauthorizedError("The API key is invalid, expired or revoked.")
