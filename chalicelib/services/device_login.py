"""Logging a terminal in through the browser: RFC 8628's device authorization grant.

The client asks for a code pair (``start``): a device code (256 random bits) that only it knows,
and a user code (8 letters from an alphabet without vowels or look-alikes, ``BCDF-GHJK``) that its
user types or confirms in the dashboard, where they are signed in already. The signed-in person
sees which client asked, from which address and when, and approves (a recent-authentication
action) or denies. Meanwhile the client polls (``poll``) with its device code, no faster than the
interval; once approved, one poll receives a session token and a device token, as a completed
login would, and the request is spent. Both codes are stored only as their SHA-256 and live
10 minutes.

Guessing user codes: a wrong one (at lookup, approval or denial) counts against the caller's
address, the caller's account and everyone together, each in a fixed 10-minute window; at a limit
those routes answer 429 until the window ends (docs/device-login.md counts the odds).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

from chalicelib.config import Settings
from chalicelib.errors import (
    DeviceCodeNotFoundError,
    DeviceFlowError,
    ServiceUnavailableError,
    TooManyRequestsError,
    invalid_field,
)
from chalicelib.logs import log_event
from chalicelib.security.opaque import hash_opaque_token, new_opaque_token
from chalicelib.services.devices import DeviceTokens
from chalicelib.services.events import EventLog
from chalicelib.services.identity import Actor, Origin, Principal
from chalicelib.services.sessions import IssuedToken, SessionService
from chalicelib.store import dynamo
from chalicelib.store.device_codes import (
    APPROVED,
    DENIED,
    PENDING,
    USED,
    DeviceCodeStore,
    DeviceCodeTakenError,
    DeviceRequest,
    DeviceRequestChangedError,
    UserCode,
)
from chalicelib.store.sessions import SessionEndedError
from chalicelib.store.throttles import Counter, ThrottleStore
from chalicelib.store.users import UserStore

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 section 6.1: 20 consonants, 20^8 codes
USER_CODE_LENGTH = 8
EXPIRES_IN = 600
INTERVAL = 5
SLOW_DOWN_STEP = 5  # RFC 8628 section 3.5: each slow_down adds 5 seconds to the interval
POLL_SLACK = 1  # the clock counts whole seconds: a poll 4.2 s after the last may read as 4
WINDOW = 600  # the guess limits' and the request limit's window
GUESSES_PER_USER = 10
REQUESTS_PER_ADDRESS = 30  # new code pairs per address and window
_DRAWS = 3


@dataclass(frozen=True)
class DeviceAuthorization:
    """RFC 8628 section 3.2's reply."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


def normalize_user_code(text: str) -> str | None:
    """A user code as typed (any case, dashes and spaces ignored) in its stored form; None if it
    cannot be one."""
    code = "".join(c for c in text.upper() if c not in "- ")
    if len(code) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in code):
        return None
    return code


def format_user_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _user_code_hash(code: str) -> str:
    return hash_opaque_token("user-code:" + code)


class DeviceLoginService:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], int],
        sessions: SessionService,
        events: EventLog,
        on_user_gone: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.on_user_gone = on_user_gone  # as SessionService's: finishes a deletion that died half-way
        self.clock = clock
        self.sessions = sessions
        self.events = events
        self.store = DeviceCodeStore(settings)
        self.counters = ThrottleStore(settings)
        self.users = UserStore(settings)
        self.devices = DeviceTokens(settings, clock)

    # The client's side.

    def start(self, client_name: str, origin: Origin) -> DeviceAuthorization:
        """A new code pair for ``client_name``. Raises TooManyRequestsError past
        REQUESTS_PER_ADDRESS new pairs from one address in a window."""
        now = self.clock()
        window = now - now % WINDOW
        address = origin.address or "unknown"
        count = self.counters.increment(f"device-start#{address}#{window}", expires_at=window + 2 * WINDOW)
        if count > REQUESTS_PER_ADDRESS:
            raise TooManyRequestsError(
                "Too many device logins begun from this address. Try again later.", window + WINDOW - now
            )
        device_code = new_opaque_token()
        for _ in range(_DRAWS):
            user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
            request = DeviceRequest(
                device_hash=hash_opaque_token(device_code),
                user_code_hash=_user_code_hash(user_code),
                client_name=client_name,
                created_at=now,
                expires_at=now + EXPIRES_IN,
                interval=INTERVAL,
                address=origin.address,
                user_agent=origin.user_agent,
            )
            try:
                self.store.create(request)
                break
            except DeviceCodeTakenError:
                continue  # a user code of another live request (1 in 25,600,000 per 1,000 live)
        else:  # never in practice: three draws each taken
            raise ServiceUnavailableError("No free user code was found; try again.", retry_after=1)
        log_event("device.requested", client_name=client_name, address=origin.address)
        shown = format_user_code(user_code)
        page = self.settings.public_url + "/#device"
        return DeviceAuthorization(device_code, shown, page, f"{page}?user_code={shown}", EXPIRES_IN, INTERVAL)

    def poll(self, device_code: str, origin: Origin) -> IssuedToken:
        """The session token and device token of an approved request, once; else DeviceFlowError
        with RFC 8628's error: ``authorization_pending``, ``slow_down`` (the interval grew by
        5 seconds), ``access_denied``, ``expired_token``, or ``invalid_grant`` (unknown or used)."""
        now = self.clock()
        request = dynamo.get_many(self.store.request_ref(hash_opaque_token(device_code)))[0]
        if request is None:
            raise DeviceFlowError("invalid_grant", "device_code: unknown (or expired and removed): begin again.")
        if request.status == USED:
            raise DeviceFlowError("invalid_grant", "device_code: used already; it gives one session.")
        if request.expires_at <= now:
            raise DeviceFlowError("expired_token", "The device code has expired: begin again.")
        if request.status == DENIED:
            raise DeviceFlowError("access_denied", "The login was denied in the browser.")
        if request.status == PENDING:
            return self._still_pending(request, now)
        return self._issue(request, origin, now)

    def _still_pending(self, request: DeviceRequest, now: int) -> IssuedToken:
        too_fast = request.polled_at is not None and now - request.polled_at < request.interval - POLL_SLACK
        interval = request.interval + SLOW_DOWN_STEP if too_fast else request.interval
        try:
            self.store.polled(request, now, interval)
        except DeviceRequestChangedError:  # another poll at the same moment, or a decision
            raise DeviceFlowError("slow_down", f"Poll once at a time, every {request.interval} seconds.") from None
        if too_fast:
            raise DeviceFlowError("slow_down", f"Polling too fast: poll every {interval} seconds from now on.")
        raise DeviceFlowError("authorization_pending", "Waiting for the code to be approved in the browser.")

    def _issue(self, request: DeviceRequest, origin: Origin, now: int) -> IssuedToken:
        assert request.status == APPROVED and request.user_id is not None
        user_id = request.user_id
        user = dynamo.get_many(self.users.ref(user_id))[0]
        if user is None:
            if self.on_user_gone is not None:
                self.on_user_gone(user_id)
            raise DeviceFlowError("access_denied", "The account that approved this login no longer exists.")
        device_token, device_entry = self.devices.new(user_id)
        actor = Actor(user.username, None, None, origin.address, origin.user_agent)
        login = self.events.for_user(user_id, "login", actor, method="device", client_name=request.client_name)
        entries = [
            self.store.spend_entry(request, now),
            device_entry,
            self.events.entry(login),
            self.users.exists_check(user_id),
        ]
        try:
            token = self.sessions.issue(user_id, origin=origin, authenticated_at=request.decided_at, also=entries)
        except SessionEndedError:  # spent by a simultaneous poll, or the account deleted meanwhile
            if dynamo.get_many(self.users.ref(user_id))[0] is None:
                raise DeviceFlowError(
                    "access_denied", "The account that approved this login no longer exists."
                ) from None
            raise DeviceFlowError("invalid_grant", "device_code: used already; it gives one session.") from None
        return replace(token, device_token=device_token)

    # The signed-in person's side.

    def lookup(self, principal: Principal, user_code: str, origin: Origin) -> UserCode:
        """The pending request of ``user_code``: which client asked, from where and when. Raises
        DeviceCodeNotFoundError (a wrong guess, counted) or TooManyRequestsError."""
        return self._find(principal, user_code, origin)

    def approve(self, principal: Principal, user_code: str, origin: Origin, actor: Actor) -> UserCode:
        """Approve the request of ``user_code``: its client's next poll gets a session of the caller."""
        return self._decide(principal, user_code, origin, actor, APPROVED)

    def deny(self, principal: Principal, user_code: str, origin: Origin, actor: Actor) -> UserCode:
        """Deny the request of ``user_code``: its client's next poll gets ``access_denied``."""
        return self._decide(principal, user_code, origin, actor, DENIED)

    def _decide(self, principal: Principal, user_code: str, origin: Origin, actor: Actor, status: str) -> UserCode:
        code = self._find(principal, user_code, origin)
        now = self.clock()
        event = self.events.for_user(
            principal.user_id,
            f"device.{status}",
            actor,
            client_name=code.client_name,
            requested_from=code.address,
            requested_at=code.created_at,
        )

        def decided(failed: list[int]) -> None:
            raise DeviceCodeNotFoundError("No pending device login has this code (it was decided meanwhile).")

        dynamo.transact(
            [*self.store.decide_entries(code, status, principal.user_id, now), self.events.entry(event)], decided
        )
        return code

    def _find(self, principal: Principal, user_code: str, origin: Origin) -> UserCode:
        code = normalize_user_code(user_code)
        if code is None:
            raise invalid_field(
                "user_code", f"{USER_CODE_LENGTH} letters of {USER_CODE_ALPHABET} (case, dashes and spaces ignored)"
            )
        now = self.clock()
        window = now - now % WINDOW
        keys = (
            f"device-guess-address#{origin.address or 'unknown'}#{window}",
            f"device-guess-user#{principal.user_id}#{window}",
            f"device-guess#{window}",
        )
        limits = (
            self.settings.device_code_guesses_per_address,
            GUESSES_PER_USER,
            self.settings.device_code_guesses_global,
        )
        found, *counters = dynamo.get_many(
            self.store.user_code_ref(_user_code_hash(code)), *(self.counters.ref(k) for k in keys)
        )
        for counter, limit, whose in zip(counters, limits, ("this address", "your account", "everyone"), strict=True):
            if isinstance(counter, Counter) and counter.count >= limit and counter.expires_at > now:
                raise TooManyRequestsError(
                    f"Too many wrong device codes from {whose}. Try again later.", window + WINDOW - now
                )
        if found is None or found.expires_at <= now:
            for key in keys:
                self.counters.increment(key, expires_at=window + 2 * WINDOW)
            raise DeviceCodeNotFoundError("No pending device login has this code: check it, or begin again.")
        return found
