"""Brute-force limits on logins: a lockout per account, and a limit per client address.

Account: after ``login_failures_per_account`` failed logins in a row (10), the account's logins
answer 429 for ``login_lockout_seconds`` (15 minutes), even with the right password; a completed
login resets the count, and so does the end of a lockout. A count left alone is forgotten a day
after its last failure.

Address: failed logins from one address are counted in hourly windows, and the last hour is
estimated as this window's count plus the previous window's weighted by how much of it still lies
within the hour (a sliding window in two counters). At the limit, every login from the address
answers 429 until the estimate falls below it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.config import Settings
from chalicelib.errors import TooManyRequestsError
from chalicelib.store import dynamo
from chalicelib.store.throttles import Counter, ThrottleStore

HOUR = 3600
ACCOUNT_COUNT_LIFETIME = 86400
HELD_SESSION_FAILURES = 5
HELD_SESSION_LOCKOUT_SECONDS = 900


@dataclass(frozen=True)
class LoginCounters:
    """What the throttle needs to know before a login is tried."""

    account: Counter | None
    address_now: Counter | None
    address_before: Counter | None


class LoginThrottle:
    def __init__(self, settings: Settings, clock: Callable[[], int]) -> None:
        self.settings = settings
        self.clock = clock
        self.store = ThrottleStore(settings)

    @staticmethod
    def _account_key(user_id: str) -> str:
        return f"login-account#{user_id}"

    @staticmethod
    def _address_key(address: str, window_start: int) -> str:
        return f"login-address#{address}#{window_start}"

    @staticmethod
    def unknown_account(login: str) -> str:
        """What stands for the account when a login names nobody: failures against an unknown name
        are counted and locked like a real account's, so neither timing nor lockouts tell them apart."""
        return "unknown-" + hashlib.sha256(login.lower().encode()).hexdigest()[:32]

    def refs(self, account: str, address: str, now: int) -> list[dynamo.Ref[Any]]:
        """The counters to fetch (with the user, in one round trip) before a login of ``account``
        (a user id, or ``unknown_account(login)``): pass the fetched values to ``counters``."""
        window = now - now % HOUR
        return [
            self.store.ref(self._account_key(account)),
            self.store.ref(self._address_key(address, window)),
            self.store.ref(self._address_key(address, window - HOUR)),
        ]

    @staticmethod
    def counters(values: list[Any]) -> LoginCounters:
        return LoginCounters(*values)

    def check(self, counters: LoginCounters, now: int) -> None:
        """Raise TooManyRequestsError if the account is locked or the address is over its limit."""
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

    def failed(self, account: str, address: str, now: int) -> None:
        """Count a failed login against the address and the account."""
        window = now - now % HOUR
        self.store.increment(self._address_key(address, window), expires_at=window + 2 * HOUR)
        limit = self.settings.login_failures_per_account
        key = self._account_key(account)
        if self.store.increment(key, expires_at=now + ACCOUNT_COUNT_LIFETIME) >= limit:
            self.store.lock(key, at_least=limit, until=now + self.settings.login_lockout_seconds)

    def lift(self, user_id: str) -> None:
        """End the account's login lockout and forget its failures (a password reset does this)."""
        self.store.clear(self._account_key(user_id))

    def succeeded(self, user_id: str, counters: LoginCounters | None = None) -> None:
        """A completed login: the account's failures no longer count. With the counters read
        before the login, it writes only when there is something to reset."""
        if counters is None or (counters.account and counters.account.count):
            self.store.clear(self._account_key(user_id))


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
        if self.store.increment(key, expires_at=now + ACCOUNT_COUNT_LIFETIME) >= HELD_SESSION_FAILURES:
            self.store.lock(key, at_least=HELD_SESSION_FAILURES, until=now + HELD_SESSION_LOCKOUT_SECONDS)

    def succeeded(self, user_id: str) -> None:
        """A right password or code: the count starts again."""
        self.store.clear(self._key(user_id))
