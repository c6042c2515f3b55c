"""Brute-force limits on logins that attackers cannot turn on their victims (OWASP's device cookies),
and the held-session limit.

A failed login is a wrong password, or a wrong code at the second step. Without a valid device token:
- Account and address: ``login_failures_per_account`` (10) failures in a row for one account from
  one address lock that account's logins from that address for ``login_lockout_seconds`` (15
  minutes), even with the right password; a completed login from that address resets the count.
- Account, everywhere: from the 10th failure in a row (all addresses together) each failure starts
  a wait twice as long as the last (2 s, 4 s, ... at most 15 minutes) during which the account's
  logins answer 429; failures during a wait are not counted. A completed login resets it.
- Address: failed logins from one address are counted in hourly windows, and the last hour is
  estimated as this window's count plus the previous window's weighted by how much of it still lies
  within the hour (a sliding window in two counters). At the limit, every login from the address
  without a valid device token answers 429 until the estimate falls below it.
With a valid device token of the account, a login is judged by that device's own failures only (10
in a row lock the device token out for 15 minutes) and counts toward no other limit.

Every count is an atomic ADD under a condition, so simultaneous failures are each counted once; a
count left alone is forgotten a day after its last failure.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from chalicelib import metrics
from chalicelib.config import Settings
from chalicelib.errors import TooManyRequestsError
from chalicelib.security.opaque import hash_opaque_token
from chalicelib.store import dynamo
from chalicelib.store.throttles import Counter, ThrottleStore

if TYPE_CHECKING:
    from chalicelib.services.devices import DeviceTokens
    from chalicelib.services.events import EventLog
from chalicelib.services.identity import Actor

HOUR = 3600
ACCOUNT_COUNT_LIFETIME = 86400
HELD_SESSION_FAILURES = 5
HELD_SESSION_LOCKOUT_SECONDS = 900
FIRST_WAIT_SECONDS = 2  # after the 10th failure in a row; each later one doubles it


@dataclass(frozen=True)
class LoginCounters:
    """What the throttle needs to know before a login is tried."""

    account: Counter | None  # the account's failures from every address (the doubling wait)
    account_address: Counter | None  # the account's failures from this address
    address_now: Counter | None  # this address's failures in this hour's window
    address_before: Counter | None  # ... and in the previous one
    device: Counter | None = None  # the device token's failures, when a valid one was sent


@dataclass
class LoginAttempt:
    """One login being tried: whose, from where, with which device, and the counters read for it."""

    account: str  # the user id, or unknown_account(login)
    user_id: str | None  # None when the login names nobody
    address: str
    now: int
    counters: LoginCounters
    device_token: str | None = None  # the valid device token the login carries, if any
    extra: list[Any] = field(default_factory=list)  # the other items read in the same round trip
    stale: list[str] = field(default_factory=list)  # keys of counters read past their expiry

    @property
    def device_hash(self) -> str | None:
        return hash_opaque_token(self.device_token) if self.device_token else None


@dataclass(frozen=True)
class LoginCompletion:
    """What a completed login adds to the write that issues its session: the device token to
    return (the one it came with, or a new one) and the transaction entries (the new token, the
    ``login`` event)."""

    device_token: str
    entries: list[dict[str, Any]]


class LoginThrottle:
    def __init__(self, settings: Settings, clock: Callable[[], int], events: EventLog | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.store = ThrottleStore(settings)
        self.events = events

    @property
    def devices(self) -> DeviceTokens:
        from chalicelib.services.devices import DeviceTokens

        return DeviceTokens(self.settings, self.clock)

    @staticmethod
    def _account_key(user_id: str) -> str:
        return f"login-account#{user_id}"

    @staticmethod
    def _account_address_key(account: str, address: str) -> str:
        return f"login-account-address#{account}#{address}"

    @staticmethod
    def _address_key(address: str, window_start: int) -> str:
        return f"login-address#{address}#{window_start}"

    @staticmethod
    def _device_key(device_hash: str) -> str:
        return f"login-device#{device_hash}"

    @staticmethod
    def unknown_account(login: str) -> str:
        """What stands for the account when a login names nobody: failures against an unknown name
        are counted and locked like a real account's, so neither timing nor lockouts tell them apart."""
        return "unknown-" + hashlib.sha256(login.lower().encode()).hexdigest()[:32]

    def begin(
        self, account: str, user_id: str | None, address: str, device_token: str | None, *also: dynamo.Ref[Any]
    ) -> LoginAttempt:
        """Read everything a login is judged by in one BatchGetItem (the counters, the device token
        and ``also``, left in ``attempt.extra``), and raise TooManyRequestsError if it may not be
        tried now. A device token that is not a live one of ``user_id`` is ignored."""
        now = self.clock()
        window = now - now % HOUR
        refs: list[dynamo.Ref[Any]] = [
            self.store.ref(self._account_key(account)),
            self.store.ref(self._account_address_key(account, address)),
            self.store.ref(self._address_key(address, window)),
            self.store.ref(self._address_key(address, window - HOUR)),
            *also,
        ]
        devices = self.devices
        if device_token is not None and user_id is not None:
            refs += [devices.ref(device_token), self.store.ref(self._device_key(devices.hash(device_token)))]
        values = dynamo.get_many(*refs)
        # DynamoDB's TTL deletes late: a counter past its expiry is forgotten here, and by ``failed``.
        stale = [v.key for v in values if isinstance(v, Counter) and v.expires_at <= now]
        values = [None if isinstance(v, Counter) and v.key in stale else v for v in values]
        account_counter, pair, address_now, address_before = values[:4]
        extra = values[4 : 4 + len(also)]
        valid, device = None, None
        if device_token is not None and user_id is not None and devices.valid(values[-2], user_id, now):
            valid, device = device_token, values[-1]
        counters = LoginCounters(account_counter, pair, address_now, address_before, device)
        attempt = LoginAttempt(account, user_id, address, now, counters, valid, extra, stale)
        self.check(attempt)
        return attempt

    def check(self, attempt: LoginAttempt) -> None:
        """Raise TooManyRequestsError while a limit that judges this login is in force."""
        now, counters = attempt.now, attempt.counters
        if attempt.device_token is not None:
            device = counters.device
            if device and device.locked_until > now:
                raise TooManyRequestsError(
                    "Too many failed logins from this device. Try again later.", device.locked_until - now
                )
            return
        lifted_at = counters.account.lifted_at if counters.account else 0
        pair = counters.account_address
        if pair and pair.locked_until > now and pair.locked_until - self.settings.login_lockout_seconds > lifted_at:
            raise TooManyRequestsError(
                "Too many failed logins for this account from this address. Try again later.", pair.locked_until - now
            )
        account = counters.account
        if account and account.locked_until > now:
            raise TooManyRequestsError(
                "Too many failed logins for this account. Try again later.", account.locked_until - now
            )
        wait = self._address_wait(counters, now)
        if wait:
            raise TooManyRequestsError("Too many failed logins from this address. Try again later.", wait)

    def _address_wait(self, counters: LoginCounters, now: int) -> int:
        """Seconds until the address's estimate for the last hour falls below the limit (0: it is)."""
        limit = self.settings.login_failures_per_address_per_hour
        current = counters.address_now.count if counters.address_now else 0
        previous = counters.address_before.count if counters.address_before else 0
        start = now - now % HOUR
        elapsed = now - start
        if current + previous * (HOUR - elapsed) / HOUR < limit:
            return 0
        if current < limit:  # the previous window's share decays below the margin within this one
            until = start + HOUR * (1 - (limit - current) / previous)
        else:  # it takes this window's count, decaying through the next one
            until = start + HOUR + HOUR * (1 - limit / current)
        return max(1, math.floor(until) + 1 - now)

    def failed(self, attempt: LoginAttempt, actor: Actor, reason: str) -> None:
        """Count a failed login (``reason``: "password" or "code") toward the limits that judge it, and
        record ``login.failed`` (and ``login.locked`` when a lockout starts) for a real account."""
        now, limit, lockout = attempt.now, self.settings.login_failures_per_account, self.settings.login_lockout_seconds
        expires = now + ACCOUNT_COUNT_LIFETIME
        locked: list[dict[str, Any]] = []
        for key in attempt.stale:
            self.store.forget_expired(key, now)
        device_hash = attempt.device_hash
        if device_hash is not None:
            key = self._device_key(device_hash)
            count = self.store.count_unless_locked(key, now, expires)
            if count is not None and count >= limit and self.store.lock_once(key, limit, now + lockout):
                locked.append({"scope": "device", "retry_after": lockout})
        else:
            window = now - now % HOUR
            self.store.increment(self._address_key(attempt.address, window), expires_at=window + 2 * HOUR)
            key = self._account_address_key(attempt.account, attempt.address)
            count = self.store.count_unless_locked(key, now, expires)
            if count is not None and count >= limit and self.store.lock_once(key, limit, now + lockout):
                locked.append({"scope": "address", "retry_after": lockout})
            key = self._account_key(attempt.account)
            count = self.store.count_unless_locked(key, now, expires)
            if count is not None and count >= limit:
                wait = min(FIRST_WAIT_SECONDS << min(count - limit, 20), lockout)
                if self.store.wait(key, count, now + wait, max(expires, now + wait)):
                    locked.append({"scope": "account", "retry_after": wait})
        metrics.count(metrics.LOGIN_FAILURES)
        if locked:
            metrics.count(metrics.LOCKOUTS_STARTED, len(locked))
        if attempt.user_id is None or self.events is None:
            return  # nothing is recorded against names that are nobody's
        log, actor = self.events, _login_actor(actor)
        failed = log.for_user(attempt.user_id, "login.failed", actor, reason=reason, device=device_hash is not None)
        log.record(failed, *(log.for_user(attempt.user_id, "login.locked", actor, **lock) for lock in locked))

    def completion(self, attempt: LoginAttempt, user_id: str, actor: Actor, **details: Any) -> LoginCompletion:
        """The device token and the writes that go with the session a completed login issues."""
        entries: list[dict[str, Any]] = []
        token = attempt.device_token
        if token is None:
            token, entry = self.devices.new(user_id)
            entries.append(entry)
        if self.events is not None:
            event = self.events.for_user(user_id, "login", _login_actor(actor), **details)
            entries.append(self.events.entry(event))
        return LoginCompletion(token, entries)

    def succeeded(self, attempt: LoginAttempt) -> None:
        """A completed login: the account's failures, those from this address and the device's no
        longer count. It writes only what there is to reset."""
        counters = attempt.counters
        if counters.account and (counters.account.count or counters.account.locked_until):
            self.store.reset(self._account_key(attempt.account))
        pair = counters.account_address
        if pair and pair.locked_until <= attempt.now:  # a lockout, once started, runs its course
            self.store.clear(self._account_address_key(attempt.account, attempt.address))
        device_hash = attempt.device_hash
        if counters.device and device_hash is not None:
            self.store.clear(self._device_key(device_hash))

    def lift(self, user_id: str) -> None:
        """End the account's login lockouts (everywhere, and from every address) and forget its
        failures: a password reset does this."""
        now = self.clock()
        self.store.lift(self._account_key(user_id), now, now + ACCOUNT_COUNT_LIFETIME)


def _login_actor(actor: Actor) -> Actor:
    """A login's actor in the security log: no credential was used yet (not even a pending one)."""
    return replace(actor, via=None, api_key_prefix=None)


class HeldSessionLimit:
    """A held session is no guessing machine: wrong passwords and codes sent with a session token
    (re-authentication, password change, deletion, the two-factor routes) count toward one limit per
    user, separate from the login lockout. After ``HELD_SESSION_FAILURES`` in a row those routes
    answer 429 for ``HELD_SESSION_LOCKOUT_SECONDS``; a right one resets the count."""

    def __init__(self, settings: Settings, clock: Callable[[], int]) -> None:
        self.clock = clock
        self.store = ThrottleStore(settings)

    @staticmethod
    def _key(user_id: str) -> str:
        return f"held#{user_id}"

    def check(self, user_id: str) -> None:
        """Raise TooManyRequestsError while the user's held-session limit is in force."""
        now = self.clock()
        counter = dynamo.get_many(self.store.ref(self._key(user_id)))[0]
        if counter and counter.locked_until > now:
            raise TooManyRequestsError(
                "Too many wrong passwords or codes: try again later.", counter.locked_until - now
            )

    def failed(self, user_id: str) -> None:
        """Count a wrong password or code; the 5th in a row starts the lockout."""
        now = self.clock()
        key = self._key(user_id)
        count = self.store.increment(key, expires_at=now + ACCOUNT_COUNT_LIFETIME)
        until = now + HELD_SESSION_LOCKOUT_SECONDS
        if count >= HELD_SESSION_FAILURES and self.store.lock_once(key, HELD_SESSION_FAILURES, until):
            metrics.count(metrics.LOCKOUTS_STARTED)

    def succeeded(self, user_id: str) -> None:
        """A right password or code: the count starts again."""
        self.store.clear(self._key(user_id))
