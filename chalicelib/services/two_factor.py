"""Two-factor authentication: setting TOTP up and off, recovery codes, and the second login step.

Replay protection lives in the store's conditional writes: a TOTP step is spent by advancing the
user's ``totp_last_step`` only if the new step is later, and a recovery code by removing its hash
only if it is still there, so of two simultaneous requests with one code exactly one succeeds.
The secret and the codes are never logged.

Secrets are stored encrypted with KMS (store/kms.py), bound to their user; only a request that
checks a TOTP code decrypts one (a recovery code needs no secret). A secret still stored in plain
text, from before encryption, is written back encrypted by the first request that reads it.
Wrong codes on the management routes count toward the held-session limit (5 in a row, then 429).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.config import Settings
from chalicelib.errors import (
    ConflictError,
    InvalidCredentialsError,
    InvalidTotpCodeError,
    ServiceUnavailableError,
    UnauthorizedError,
    invalid_field,
)
from chalicelib.security import totp
from chalicelib.services.events import EventLog
from chalicelib.services.identity import Actor, Principal
from chalicelib.services.sessions import IssuedToken, SessionService
from chalicelib.services.throttle import HeldSessionLimit, LoginThrottle
from chalicelib.store import kms
from chalicelib.store.users import SecondFactor, StoredSecret, User, UserStore

SETUP_TTL_SECONDS = 600  # a setup not enabled within 10 minutes is forgotten
PENDING_LOGIN_MAX_FAILURES = 5  # wrong codes that kill a pending login token
WRONG_CODE = "The code is wrong, expired or already used."
LOGIN_CODE_FAILED = "The code is incorrect, expired or already used."
LOGIN_ATTEMPT_OVER = "The login token is invalid, used or has expired; log in again."
KMS_UNAVAILABLE = "Two-factor authentication is unavailable for a moment: try again shortly."
KMS_RETRY_AFTER_SECONDS = 5

logger = logging.getLogger(__name__)


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
        self,
        settings: Settings,
        clock: Callable[[], int],
        sessions: SessionService,
        throttle: LoginThrottle,
        held_session: HeldSessionLimit,
        events: EventLog,
    ) -> None:
        self.settings = settings
        self.events = events
        self.clock = clock
        self.users = UserStore(settings)
        self.sessions = sessions
        self.throttle = throttle
        self.held_session = held_session

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
        encrypted = _encrypt(secret, user.user_id)
        if not self.users.start_totp_setup(user.user_id, encrypted, self.clock() + SETUP_TTL_SECONDS):
            raise _already_enabled()
        uri = totp.provisioning_uri(secret, user.username, self.settings.totp_issuer)
        return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))

    def enable(self, user: User, code: str, actor: Actor) -> list[str]:
        """Turn two-factor on with a code from the pending setup; returns 10 new recovery codes.

        Raises 409 without a live pending setup (or if it is on), 400 InvalidTotpCodeError for a
        wrong code, 429 while the held-session limit holds the user off.
        """
        if user.two_factor_enabled:
            raise _already_enabled()
        now = self.clock()
        pending = self._live_setup(user, now)
        if pending is None:
            raise ConflictError("No two-factor setup is pending: start one with POST /v1/user/2fa/setup.")
        self.held_session.check(user.user_id)
        entered = _totp_code(code)
        secret = self._reveal(user.user_id, pending, "pending_totp_secret")
        step = totp.matching_step(secret, entered, now) if secret is not None else None
        if secret is None or step is None:
            self.held_session.failed(user.user_id)
            self._encrypt_if_plain(user.user_id, "pending_totp_secret", pending)
            raise InvalidTotpCodeError(WRONG_CODE)
        # The pending ciphertext is already bound to this user: it becomes the enabled secret as is.
        encrypted = pending if isinstance(pending, bytes) else _encrypt(secret, user.user_id)
        codes = totp.new_recovery_codes()
        hashes = [totp.hash_recovery_code(c) for c in codes]
        recorded = self._entries(user, "two_factor.enabled", actor)
        if not self.users.enable_totp(user.user_id, pending, encrypted, step, hashes, now, recorded):
            raise ConflictError("The two-factor setup changed meanwhile: start again with POST /v1/user/2fa/setup.")
        self.held_session.succeeded(user.user_id)
        return codes

    def disable(self, user: User, code: str | None, recovery_code: str | None, actor: Actor) -> None:
        """Turn two-factor off, proven by a TOTP code or a recovery code. Raises 409 if it is off,
        400 InvalidTotpCodeError for a wrong or used code, 429 while the held-session limit holds."""
        stored = _enabled_secret(user)
        self.held_session.check(user.user_id)
        factor = self._check(user, stored, code, recovery_code, self.clock())
        recorded = self._entries(user, "two_factor.disabled", actor, factor)
        if factor is None or not self.users.disable_totp(user.user_id, stored, factor, recorded):
            self.held_session.failed(user.user_id)
            self._encrypt_if_plain(user.user_id, "totp_secret", stored)
            raise InvalidTotpCodeError(WRONG_CODE)
        self.held_session.succeeded(user.user_id)

    def replace_recovery_codes(self, user: User, code: str, actor: Actor) -> list[str]:
        """10 new recovery codes, proven by a TOTP code; the old ones stop working. Raises 409 if
        two-factor is off, 400 InvalidTotpCodeError for a wrong or used code, 429 while the
        held-session limit holds."""
        stored = _enabled_secret(user)
        self.held_session.check(user.user_id)
        factor = self._check(user, stored, code, None, self.clock())
        replacement = _plain_replacement(user.user_id, stored)
        codes = totp.new_recovery_codes() if factor is not None else []
        hashes = [totp.hash_recovery_code(c) for c in codes]
        recorded = self._entries(user, "recovery_codes.regenerated", actor)
        replaced = factor is not None and self.users.replace_recovery_codes(
            user.user_id, stored, factor, hashes, replacement, recorded
        )
        if not replaced:
            self.held_session.failed(user.user_id)
            self._encrypt_if_plain(user.user_id, "totp_secret", stored, replacement)
            raise InvalidTotpCodeError(WRONG_CODE)
        self.held_session.succeeded(user.user_id)
        return codes

    def complete_login(
        self,
        pending: Principal,
        code: str | None,
        recovery_code: str | None,
        address: str,
        actor: Actor | None = None,
    ) -> IssuedToken:
        """Exchange a pending login token and a TOTP or recovery code for a full session token,
        with a device token (the one the login came with, if valid, else a new one).

        A wrong, used or expired code raises InvalidCredentialsError and counts against the pending
        token (dead after 5) and the login lockouts (services/throttle.py). A dead or used pending
        token raises UnauthorizedError; a locked account or address TooManyRequestsError.
        """
        now = self.clock()
        user, session = pending.user, pending.session
        assert session is not None  # a pending principal always carries its session
        if session.failures >= PENDING_LOGIN_MAX_FAILURES:
            raise UnauthorizedError(LOGIN_ATTEMPT_OVER)
        # The login's actor: the user (the password was right), from where, with no credential yet.
        actor = (
            Actor(user.username, None, None, actor.address, actor.user_agent)
            if actor
            else Actor(user.username, address=address)
        )
        attempt = self.throttle.begin(user.user_id, user.user_id, address, pending.device_token)
        stored = user.totp_secret
        factor = self._check(user, stored, code, recovery_code, now) if stored is not None else None
        replacement = _plain_replacement(user.user_id, stored) if stored is not None else None
        if (
            factor is None
            or stored is None
            or not self.users.spend_second_factor(user.user_id, stored, factor, replacement)
        ):
            self.throttle.failed(attempt, actor, "code")
            alive = self.sessions.store.add_failure(session.session_id, PENDING_LOGIN_MAX_FAILURES, now) is not None
            if stored is not None:
                self._encrypt_if_plain(user.user_id, "totp_secret", stored, replacement)
            if not alive:
                raise UnauthorizedError(LOGIN_ATTEMPT_OVER)
            raise InvalidCredentialsError(LOGIN_CODE_FAILED)
        done = self.throttle.completion(attempt, user.user_id, actor, two_factor=True)
        used = [] if factor.recovery_hash is None else [self.events.for_user(user.user_id, "recovery_code.used", actor)]
        entries = done.entries + [self.events.entry(e) for e in used]
        token = self.sessions.exchange(session, PENDING_LOGIN_MAX_FAILURES, entries)
        if token is None:
            raise UnauthorizedError(LOGIN_ATTEMPT_OVER)
        self.throttle.succeeded(attempt)
        return replace(token, device_token=done.device_token)

    def prove(self, user: User, code: str | None, recovery_code: str | None) -> bool:
        """Whether ``code`` or ``recovery_code`` is a right second factor of the user, spending it as
        at login (re-authentication, account deletion). Raises 400 naming the field for something
        that is no code."""
        stored = _enabled_secret(user)
        factor = self._check(user, stored, code, recovery_code, self.clock())
        replacement = _plain_replacement(user.user_id, stored)
        if factor is None or not self.users.spend_second_factor(user.user_id, stored, factor, replacement):
            self._encrypt_if_plain(user.user_id, "totp_secret", stored, replacement)
            return False
        return True

    def _entries(self, user: User, type: str, actor: Actor, factor: SecondFactor | None = None) -> list[dict[str, Any]]:
        """The events that record a change of two-factor state, for the change's own transaction:
        the change, and ``recovery_code.used`` when a recovery code proved it."""
        events = [self.events.for_user(user.user_id, type, actor)]
        if factor is not None and factor.recovery_hash is not None:
            events.append(self.events.for_user(user.user_id, "recovery_code.used", actor))
        return [self.events.entry(e) for e in events]

    def _check(
        self,
        user: User,
        stored: StoredSecret,
        code: str | None,
        recovery_code: str | None,
        now: int,
    ) -> SecondFactor | None:
        """The second factor that ``code`` or ``recovery_code`` proves, not yet spent; None if wrong.
        Raises 400 naming the field for something that cannot be a code at all. Only a TOTP code
        decrypts the secret."""
        if code is not None:
            entered = _totp_code(code)
            secret = self._reveal(user.user_id, stored, "totp_secret")
            if secret is None:
                return None
            step = totp.matching_step(secret, entered, now, after=user.totp_last_step)
            return SecondFactor(step=step) if step is not None else None
        assert recovery_code is not None
        canonical = totp.normalize_recovery_code(recovery_code)
        if canonical is None:
            raise invalid_field("recovery_code", "16 letters and digits, such as ABCD-EFGH-JKMN-PQRS")
        hashed = totp.hash_recovery_code(canonical)
        return SecondFactor(recovery_hash=hashed) if hashed in user.recovery_hashes else None

    @staticmethod
    def _reveal(user_id: str, stored: StoredSecret, attribute: str) -> str | None:
        """The base32 secret of a stored one: decrypted by KMS, or as stored before encryption.
        None for a ciphertext that is not this user's (moved from another record, or altered)."""
        if isinstance(stored, str):
            return stored
        try:
            return kms.decrypt(stored, user_id).decode("ascii")
        except (kms.UndecryptableError, UnicodeDecodeError):
            logger.warning("undecryptable %s for user %s", attribute, user_id)
            return None
        except kms.KmsUnavailableError:
            raise _kms_unavailable() from None

    def _encrypt_if_plain(
        self, user_id: str, attribute: str, stored: StoredSecret, replacement: bytes | None = None
    ) -> None:
        """After a request that read a secret stored in plain text but wrote nothing (a wrong or
        spent code), write it back encrypted; a change made meanwhile wins. Without KMS, the next
        use tries again."""
        encrypted = replacement or _plain_replacement(user_id, stored)
        if isinstance(stored, str) and encrypted is not None:
            self.users.encrypt_stored_secret(user_id, attribute, stored, encrypted)

    @staticmethod
    def _live_setup(user: User, now: int) -> StoredSecret | None:
        """The stored secret of the user's pending setup, if it has not expired."""
        if user.pending_totp_secret and user.pending_totp_expires_at > now:
            return user.pending_totp_secret
        return None


def _totp_code(raw: str) -> str:
    code = totp.normalize_code(raw)
    if code is None:
        raise invalid_field("code", f"{totp.TOTP_DIGITS} digits")
    return code


def _encrypt(secret: str, user_id: str) -> bytes:
    """The secret encrypted for the user. Raises 503 when KMS cannot serve now."""
    try:
        return kms.encrypt(secret.encode("ascii"), user_id)
    except kms.KmsUnavailableError:
        raise _kms_unavailable() from None


def _plain_replacement(user_id: str, stored: StoredSecret) -> bytes | None:
    """The ciphertext to store in place of a secret read in plain text; None for an encrypted one,
    and when KMS cannot serve now (it is a migration: the request goes on, the next use retries)."""
    if not isinstance(stored, str):
        return None
    try:
        return kms.encrypt(stored.encode("ascii"), user_id)
    except kms.KmsUnavailableError:
        logger.warning("KMS unavailable: a plain-text TOTP secret of user %s stays so for now", user_id)
        return None


def _kms_unavailable() -> ServiceUnavailableError:
    return ServiceUnavailableError(KMS_UNAVAILABLE, KMS_RETRY_AFTER_SECONDS)


def _enabled_secret(user: User) -> StoredSecret:
    if user.totp_secret is None:
        raise ConflictError("Two-factor authentication is not enabled.")
    return user.totp_secret


def _already_enabled() -> ConflictError:
    return ConflictError("Two-factor authentication is already enabled: disable it first.")
