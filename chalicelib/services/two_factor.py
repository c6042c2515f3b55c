"""Two-factor authentication: setting TOTP up and off, recovery codes, and the second login step.

Replay protection lives in the store's conditional writes: a TOTP step is spent by advancing the
user's ``totp_last_step`` only if the new step is later, and a recovery code by removing its hash
only if it is still there, so of two simultaneous requests with one code exactly one succeeds.
The secret and the codes are never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.config import Settings
from chalicelib.errors import (
    ConflictError,
    InvalidCredentialsError,
    InvalidTotpCodeError,
    UnauthorizedError,
    invalid_field,
)
from chalicelib.security import totp
from chalicelib.services.auth import Principal
from chalicelib.services.sessions import IssuedToken, SessionService
from chalicelib.services.throttle import LoginThrottle
from chalicelib.store import dynamo
from chalicelib.store.users import SecondFactor, User, UserStore

SETUP_TTL_SECONDS = 600  # a setup not enabled within 10 minutes is forgotten
PENDING_LOGIN_MAX_FAILURES = 5  # wrong codes that kill a pending login token
WRONG_CODE = "The code is wrong, expired or already used."
LOGIN_CODE_FAILED = "The code is incorrect, expired or already used."
LOGIN_ATTEMPT_OVER = "The login token is invalid, used or has expired; log in again."


@dataclass(frozen=True)
class TwoFactorStatus:
    enabled: bool
    pending: bool
    recovery_codes_remaining: int


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    otpauth_uri: str
    qr_svg: str


class TwoFactorService:
    def __init__(
        self, settings: Settings, clock: Callable[[], int], sessions: SessionService, throttle: LoginThrottle
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.users = UserStore(settings)
        self.sessions = sessions
        self.throttle = throttle

    def status(self, user: User) -> TwoFactorStatus:
        return TwoFactorStatus(
            enabled=user.two_factor_enabled,
            pending=not user.two_factor_enabled and self._live_setup(user, self.clock()) is not None,
            recovery_codes_remaining=len(user.recovery_hashes) if user.two_factor_enabled else 0,
        )

    def start_setup(self, user: User) -> TotpSetup:
        """Start (or restart) a 10-minute pending setup with a new secret. Raises 409 if two-factor is on."""
        if user.two_factor_enabled:
            raise _already_enabled()
        secret = totp.new_secret()
        if not self.users.start_totp_setup(user.user_id, secret, self.clock() + SETUP_TTL_SECONDS):
            raise _already_enabled()
        uri = totp.provisioning_uri(secret, user.username, self.settings.totp_issuer)
        return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))

    def enable(self, user: User, code: str) -> list[str]:
        """Turn two-factor on with a code from the pending setup; returns 10 new recovery codes.

        Raises 409 without a live pending setup (or if it is on), 400 InvalidTotpCodeError for a
        wrong code.
        """
        if user.two_factor_enabled:
            raise _already_enabled()
        now = self.clock()
        secret = self._live_setup(user, now)
        if secret is None:
            raise ConflictError("No two-factor setup is pending: start one with POST /v1/user/2fa/setup.")
        step = totp.matching_step(secret, _totp_code(code), now)
        if step is None:
            raise InvalidTotpCodeError(WRONG_CODE)
        codes = totp.new_recovery_codes()
        hashes = [totp.hash_recovery_code(c) for c in codes]
        if not self.users.enable_totp(user.user_id, secret, step, hashes, now):
            raise ConflictError("The two-factor setup changed meanwhile: start again with POST /v1/user/2fa/setup.")
        return codes

    def disable(self, user: User, code: str | None, recovery_code: str | None) -> None:
        """Turn two-factor off, proven by a TOTP code or a recovery code. Raises 409 if it is off,
        400 InvalidTotpCodeError for a wrong or used code."""
        secret = _enabled_secret(user)
        factor = self._check(user, secret, code, recovery_code, self.clock())
        if factor is None or not self.users.disable_totp(user.user_id, secret, factor):
            raise InvalidTotpCodeError(WRONG_CODE)

    def replace_recovery_codes(self, user: User, code: str) -> list[str]:
        """10 new recovery codes, proven by a TOTP code; the old ones stop working. Raises 409 if
        two-factor is off, 400 InvalidTotpCodeError for a wrong or used code."""
        secret = _enabled_secret(user)
        factor = self._check(user, secret, code, None, self.clock())
        if factor is None:
            raise InvalidTotpCodeError(WRONG_CODE)
        codes = totp.new_recovery_codes()
        hashes = [totp.hash_recovery_code(c) for c in codes]
        if not self.users.replace_recovery_codes(user.user_id, secret, factor, hashes):
            raise InvalidTotpCodeError(WRONG_CODE)
        return codes

    def complete_login(
        self, pending: Principal, code: str | None, recovery_code: str | None, address: str
    ) -> IssuedToken:
        """Exchange a pending login token and a TOTP or recovery code for a full session token.

        A wrong, used or expired code raises InvalidCredentialsError and counts against the pending
        token (dead after 5), the account lockout and the address limit. A dead or used pending
        token raises UnauthorizedError; a locked account or address TooManyRequestsError.
        """
        now = self.clock()
        user, session = pending.user, pending.session
        assert session is not None  # a pending principal always carries its session
        if session.failures >= PENDING_LOGIN_MAX_FAILURES:
            raise UnauthorizedError(LOGIN_ATTEMPT_OVER)
        counters = self.throttle.counters(dynamo.get_many(*self.throttle.refs(user.user_id, address, now)))
        self.throttle.check(counters, now)
        secret = user.totp_secret
        factor = self._check(user, secret, code, recovery_code, now) if secret else None
        if factor is None or secret is None or not self.users.spend_second_factor(user.user_id, secret, factor):
            self.throttle.failed(user.user_id, address, now)
            if self.sessions.store.add_failure(session.session_id, PENDING_LOGIN_MAX_FAILURES, now) is None:
                raise UnauthorizedError(LOGIN_ATTEMPT_OVER)
            raise InvalidCredentialsError(LOGIN_CODE_FAILED)
        token = self.sessions.exchange(session, PENDING_LOGIN_MAX_FAILURES)
        if token is None:
            raise UnauthorizedError(LOGIN_ATTEMPT_OVER)
        self.throttle.succeeded(user.user_id, counters)
        return token

    def prove_second_factor(self, user: User, code: str | None, recovery_code: str | None) -> bool:
        """Check and spend a TOTP code or recovery code, as at login (account deletion and
        re-authentication ask for one). False if it is wrong or already used."""
        secret = user.totp_secret
        if secret is None:
            return False
        factor = self._check(user, secret, code, recovery_code, self.clock())
        return factor is not None and self.users.spend_second_factor(user.user_id, secret, factor)

    def _check(
        self, user: User, secret: str, code: str | None, recovery_code: str | None, now: int
    ) -> SecondFactor | None:
        """The second factor that ``code`` or ``recovery_code`` proves, not yet spent; None if wrong.
        Raises 400 naming the field for something that cannot be a code at all."""
        if code is not None:
            step = totp.matching_step(secret, _totp_code(code), now, after=user.totp_last_step)
            return SecondFactor(step=step) if step is not None else None
        assert recovery_code is not None
        canonical = totp.normalize_recovery_code(recovery_code)
        if canonical is None:
            raise invalid_field("recovery_code", "16 letters and digits, such as ABCD-EFGH-JKMN-PQRS")
        hashed = totp.hash_recovery_code(canonical)
        return SecondFactor(recovery_hash=hashed) if hashed in user.recovery_hashes else None

    @staticmethod
    def _live_setup(user: User, now: int) -> str | None:
        """The secret of the user's pending setup, if it has not expired."""
        if user.pending_totp_secret and user.pending_totp_expires_at > now:
            return user.pending_totp_secret
        return None


def _totp_code(raw: str) -> str:
    code = totp.normalize_code(raw)
    if code is None:
        raise invalid_field("code", f"{totp.TOTP_DIGITS} digits")
    return code


def _enabled_secret(user: User) -> str:
    if user.totp_secret is None:
        raise ConflictError("Two-factor authentication is not enabled.")
    return user.totp_secret


def _already_enabled() -> ConflictError:
    return ConflictError("Two-factor authentication is already enabled: disable it first.")
