"""Accounts: signing up and logging in (the password step; the second factor is two_factor's)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.config import Settings
from chalicelib.errors import ConflictError, InvalidCredentialsError, invalid_field
from chalicelib.security.ids import new_id
from chalicelib.security.passwords import hash_password, verify_password
from chalicelib.security.tokens import PENDING
from chalicelib.services.sessions import IssuedToken, Origin, SessionService
from chalicelib.services.throttle import LoginThrottle
from chalicelib.store import dynamo
from chalicelib.store.users import EmailTakenError, User, UsernameTakenError, UserStore

USERNAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,31}")
RESERVED_USERNAMES = frozenset({"root", "admin", "administrator", "system", "support", "me"})
EMAIL_MAX = 254
PASSWORD_MIN, PASSWORD_MAX = 10, 128
LOGIN_FAILED = "The username or password is incorrect."
USERNAME_RULE = "3-32 characters of letters, digits and underscores, starting with a letter"


@dataclass(frozen=True)
class LoginResult:
    token: IssuedToken
    two_factor_required: bool


def check_username(username: str) -> None:
    """Raise a 400 naming ``username`` unless it follows the contract's rules."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise invalid_field("username", USERNAME_RULE)
    if username.lower() in RESERVED_USERNAMES:
        raise invalid_field("username", "this name is reserved")


def check_email(email: str) -> None:
    """Raise a 400 naming ``email`` unless it has one @, a local part, and a domain with a dot."""
    local, at, domain = email.partition("@")
    valid = bool(
        len(email) <= EMAIL_MAX
        and at
        and local
        and "@" not in domain
        and "." in domain
        and all(domain.split("."))
        and not any(c.isspace() or ord(c) < 32 for c in email)
    )
    if not valid:
        raise invalid_field("email", "not a valid email address")


def check_password(password: str, username: str, email: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise invalid_field("password", f"{PASSWORD_MIN}-{PASSWORD_MAX} characters")
    if password.lower() in (username.lower(), email.lower()):
        raise invalid_field("password", "must differ from the username and the email")


class AccountService:
    def __init__(
        self, settings: Settings, clock: Callable[[], int], sessions: SessionService, throttle: LoginThrottle
    ) -> None:
        self.clock = clock
        self.users = UserStore(settings)
        self.sessions = sessions
        self.throttle = throttle

    def signup(self, username: str, email: str, password: str, origin: Origin) -> tuple[User, IssuedToken]:
        """Create a user and a first session. Raises 400 for invalid fields, 409 if taken."""
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
        try:
            self.users.create(user)
        except UsernameTakenError:
            raise ConflictError("username: this username is taken") from None
        except EmailTakenError:
            raise ConflictError("email: this email is already registered") from None
        return user, self.sessions.issue(user.user_id, origin=origin)

    def login(self, login: str, password: str, origin: Origin) -> LoginResult:
        """Check a password login, under the brute-force limits.

        Returns a full session token, or a pending one when two-factor authentication is on.
        Raises InvalidCredentialsError (one message for unknown user and wrong password) or
        TooManyRequestsError.
        """
        now = self.clock()
        address = origin.address or "unknown"
        user_id = self.users.find_id(login)
        account = user_id or self.throttle.unknown_account(login)
        refs = self.throttle.refs(account, address, now)
        if user_id:
            user, *values = dynamo.get_many(self.users.ref(user_id), *refs)
        else:
            user, values = None, dynamo.get_many(*refs)
        counters = self.throttle.counters(values)
        self.throttle.check(counters, now)
        if not verify_password(user.password_hash if user else None, password) or user is None:
            self.throttle.failed(account, address, now)
            raise InvalidCredentialsError(LOGIN_FAILED)
        if user.two_factor_enabled:
            return LoginResult(self.sessions.issue(user.user_id, PENDING, origin), two_factor_required=True)
        self.throttle.succeeded(user.user_id, counters)
        return LoginResult(self.sessions.issue(user.user_id, origin=origin), two_factor_required=False)
