"""The domain: the rules of accounts, sessions, API keys, two-factor and applications.

Services know nothing of HTTP. ``get_services()`` builds them once per container from the
settings; tests replace the clock to move time instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.config import Settings, get_settings

if TYPE_CHECKING:
    from chalicelib.mail import Mailer
    from chalicelib.services.accounts import AccountService
    from chalicelib.services.api_keys import ApiKeyService
    from chalicelib.services.applications import ApplicationService
    from chalicelib.services.auth import AuthService
    from chalicelib.services.deletion import AccountDeletion
    from chalicelib.services.device_login import DeviceLoginService
    from chalicelib.services.devices import DeviceTokens
    from chalicelib.services.email import EmailService
    from chalicelib.services.events import EventLog
    from chalicelib.services.mail_tokens import MailTokens
    from chalicelib.services.passkeys import PasskeyService
    from chalicelib.services.passwords import PasswordService
    from chalicelib.services.purge import PurgeService
    from chalicelib.services.sessions import SessionService
    from chalicelib.services.throttle import HeldSessionLimit, LoginThrottle
    from chalicelib.services.two_factor import TwoFactorService
    from chalicelib.services.user_sessions import UserSessions

_services: Services | None = None


class SystemClock:
    """Seconds since the epoch, whole."""

    def __call__(self) -> int:
        return int(time.time())


@dataclass
class Services:
    settings: Settings
    clock: Callable[[], int]

    # Each service is built on first use: a request builds only the services it calls, and the heavy
    # libraries (argon2, pyotp, segno) are imported by the security helpers only when used.
    @cached_property
    def sessions(self) -> SessionService:
        from chalicelib.services.sessions import SessionService

        return SessionService(self.settings, self.clock, self._finish_deletion)

    @cached_property
    def throttle(self) -> LoginThrottle:
        from chalicelib.services.throttle import LoginThrottle

        return LoginThrottle(self.settings, self.clock, self.events)

    @cached_property
    def held_session(self) -> HeldSessionLimit:
        from chalicelib.services.throttle import HeldSessionLimit

        return HeldSessionLimit(self.settings, self.clock)

    @cached_property
    def events(self) -> EventLog:
        from chalicelib.services.events import EventLog

        return EventLog(self.settings, self.clock)

    @cached_property
    def accounts(self) -> AccountService:
        from chalicelib.services.accounts import AccountService

        return AccountService(self.settings, self.clock, self.sessions, self.throttle, self.events, lambda: self.email)

    @cached_property
    def auth(self) -> AuthService:
        from chalicelib.services.auth import AuthService

        return AuthService(self.sessions, lambda: self.api_keys)

    @cached_property
    def api_keys(self) -> ApiKeyService:
        from chalicelib.services.api_keys import ApiKeyService

        return ApiKeyService(
            self.settings, self.clock, lambda: self.events, lambda: self.applications, self._finish_deletion
        )

    @cached_property
    def two_factor(self) -> TwoFactorService:
        from chalicelib.services.two_factor import TwoFactorService

        return TwoFactorService(self.settings, self.clock, self.sessions, self.throttle, self.held_session, self.events)

    @cached_property
    def user_sessions(self) -> UserSessions:
        from chalicelib.services.user_sessions import UserSessions

        return UserSessions(
            self.settings, self.clock, self.sessions, self.events, self.held_session, lambda: self.two_factor
        )

    @cached_property
    def devices(self) -> DeviceTokens:
        """Device tokens (``end_all`` on a password change or reset)."""
        from chalicelib.services.devices import DeviceTokens

        return DeviceTokens(self.settings, self.clock)

    @cached_property
    def purge(self) -> PurgeService:
        from chalicelib.services.purge import PurgeService

        return PurgeService(self.settings, self.clock, lambda: self.deletion)

    @cached_property
    def applications(self) -> ApplicationService:
        from chalicelib.services.applications import ApplicationService

        return ApplicationService(self.settings, self.clock, lambda: self.events)

    @cached_property
    def passkeys(self) -> PasskeyService:
        """Passkeys (WebAuthn); webauthn itself is imported only by the calls that make options or verify."""
        from chalicelib.services.passkeys import PasskeyService

        return PasskeyService(self.settings, self.clock, self.sessions, self.throttle, self.events)

    @cached_property
    def device_login(self) -> DeviceLoginService:
        """The CLI's login through the browser (RFC 8628)."""
        from chalicelib.services.device_login import DeviceLoginService

        return DeviceLoginService(self.settings, self.clock, self.sessions, self.events, self._finish_deletion)

    # The life of an account: mail, email verification and change, passwords, deletion.
    @cached_property
    def mailer(self) -> Mailer:
        from chalicelib.mail import mailer_for

        return mailer_for(self.settings)

    @cached_property
    def mail_tokens(self) -> MailTokens:
        from chalicelib.services.mail_tokens import MailTokens

        return MailTokens(self.settings, self.clock)

    @cached_property
    def email(self) -> EmailService:
        from chalicelib.services.email import EmailService

        return EmailService(self.settings, self.clock, self.events, self.mail_tokens, lambda: self.mailer)

    @cached_property
    def passwords(self) -> PasswordService:
        from chalicelib.services.passwords import PasswordService

        return PasswordService(
            self.settings,
            self.clock,
            self.sessions,
            self.throttle,
            self.held_session,
            self.events,
            self.mail_tokens,
            lambda: self.mailer,
        )

    def _finish_deletion(self, user_id: str) -> None:
        """A credential of a user who is gone: finish the account's deletion if it is in progress."""
        self.deletion.finish(user_id)

    @cached_property
    def deletion(self) -> AccountDeletion:
        from chalicelib.services.deletion import AccountDeletion

        return AccountDeletion(
            self.settings, self.clock, self.sessions, self.held_session, lambda: self.two_factor, self.events
        )


def get_services() -> Services:
    """The services of this container, built on first use."""
    global _services
    if _services is None:
        _services = Services(get_settings(), SystemClock())
    return _services


def use_services(services: Services | None) -> None:
    """Install ``services`` (tests give them a clock they can move), or with None forget them."""
    global _services
    _services = services
