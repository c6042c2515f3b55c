"""Who is calling and from where: the types a request hands the services.

A module of their own, below every service: the HTTP layer builds them without loading a service,
and the services that take them import no other service for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.store.api_keys import Scope
    from chalicelib.store.sessions import Session
    from chalicelib.store.users import User

API_KEY = "api_key"


@dataclass(frozen=True)
class Principal:
    user: User
    via: str  # "session", "api_key" or "pending"
    credential_id: str  # the session id or the API key id
    session: Session | None = None  # the stored session, when a session or pending token authenticated the call
    api_key_prefix: str | None = None  # the key's prefix, when an API key authenticated the call
    device_token: str | None = None  # what a pending token carries from its login (see security.tokens)
    scope: Scope | None = None  # the key's scope: what of the user's access the call may use (None: all)

    @property
    def user_id(self) -> str:
        return self.user.user_id


@dataclass(frozen=True)
class Origin:
    """Where a request came from: the client's address and user agent, as the edge saw them."""

    address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Actor:
    """Who acted and from where, as events record it."""

    username: str | None = None
    via: str | None = None  # "session", "api_key", "email" (a link from a mail) or None
    api_key_prefix: str | None = None
    address: str | None = None
    user_agent: str | None = None
