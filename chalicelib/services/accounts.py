"""Accounts: signing up and logging in (the password step; the second factor is two_factor's)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.config import Settings
from chalicelib.errors import ConflictError, InvalidCredentialsError
from chalicelib.rules import check_email, check_username
from chalicelib.security.ids import new_id
from chalicelib.security.passwords import hash_password, verify_password
from chalicelib.security.tokens import PENDING
from chalicelib.services.events import EventLog
from chalicelib.services.identity import Actor, Origin
from chalicelib.services.passwords import check_password
from chalicelib.services.sessions import IssuedToken, SessionService
from chalicelib.services.throttle import LoginThrottle
from chalicelib.store.users import EmailTakenError, User, UsernameTakenError, UserStore

if TYPE_CHECKING:
    from chalicelib.services.email import EmailService

LOGIN_FAILED = "The username or password is incorrect."


@dataclass(frozen=True)
class LoginResult:
    token: IssuedToken
    two_factor_required: bool
    device_token: str | None = None  # a completed login's; a pending one has none yet


@dataclass(frozen=True)
class SignupResult:
    user: User
    token: IssuedToken
    device_token: str


class AccountService:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], int],
        sessions: SessionService,
        throttle: LoginThrottle,
        events: EventLog | None = None,
        email: Callable[[], EmailService] | None = None,
    ) -> None:
        self.clock = clock
        self.users = UserStore(settings)
        self.sessions = sessions
        self.throttle = throttle
        self.events = events or EventLog(settings, clock)
        self._email = email  # built on first use: logins never need it

    def signup(
        self, username: str, email: str, password: str, origin: Origin, actor: Actor | None = None
    ) -> SignupResult:
        """Create a user, a first session and a device token. Raises 400 for invalid fields, 409 if taken."""
        check_username(username)
        check_email(email)
        check_password(password, username, email)
        user = User(
            user_id=new_id(),
            username=username,
            email=email,
            password_hash=hash_password(password),
            created_at=self.clock(),
        )
        signed_up = self.events.for_user(user.user_id, "signup", _as(user, actor or _from(origin)))
        try:
            self.users.create(user, with_entries=[self.events.entry(signed_up)])
        except UsernameTakenError:
            raise ConflictError("username: this username is taken") from None
        except EmailTakenError:
            raise ConflictError("email: this email is already registered") from None
        if self._email is not None:
            self._email().signed_up(user)  # the verification mail
        device_token, device_entry = self.throttle.devices.new(user.user_id)
        token = self.sessions.issue(user.user_id, origin=origin, also=[device_entry])
        return SignupResult(user, token, device_token)

    def login(
        self, login: str, password: str, origin: Origin, actor: Actor | None = None, device_token: str | None = None
    ) -> LoginResult:
        """Check a password login, under the brute-force limits (services/throttle.py).

        Returns a full session token and a device token (``device_token`` itself, if it is a live
        one of the account), or a pending token when two-factor authentication is on. Raises
        InvalidCredentialsError (one message for unknown user and wrong password) or
        TooManyRequestsError.
        """
        address = origin.address or "unknown"
        actor = actor or _from(origin)
        # Two round trips before the password is checked: the name's claim, then the user, the
        # counters and the device token together.
        user_id = self.users.find_id(login)
        account = user_id or self.throttle.unknown_account(login)
        also = [self.users.ref(user_id)] if user_id else []
        attempt = self.throttle.begin(account, user_id, address, device_token, *also)
        user: User | None = attempt.extra[0] if user_id else None
        if not verify_password(user.password_hash if user else None, password) or user is None:
            self.throttle.failed(attempt, actor, "password")
            raise InvalidCredentialsError(LOGIN_FAILED)
        if user.two_factor_enabled:
            pending = self.sessions.issue(user.user_id, PENDING, origin, device_token=attempt.device_token)
            return LoginResult(pending, two_factor_required=True)
        done = self.throttle.completion(attempt, user.user_id, _as(user, actor), two_factor=False)
        token = self.sessions.issue(user.user_id, origin=origin, also=done.entries)
        self.throttle.succeeded(attempt)
        return LoginResult(token, two_factor_required=False, device_token=done.device_token)


def _from(origin: Origin) -> Actor:
    return Actor(address=origin.address, user_agent=origin.user_agent)


def _as(user: User, actor: Actor) -> Actor:
    """The actor of a login: the user, from where the request came."""
    return Actor(user.username, None, None, actor.address, actor.user_agent)
