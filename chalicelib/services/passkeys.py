"""Passkeys (WebAuthn): registering one from a recent session, signing in with one (with no
username, or as the second step after a password), and listing, renaming and deleting them.

Every check of an authenticator's response is py_webauthn's (``webauthn``), imported only inside
the functions that make options or verify, so that no other request loads it (or ``cryptography``).
The relying party is ``PUBLIC_URL``: its host is the rp id, its scheme, host and port the origin.

Challenges are 32 random bytes, single use and live 5 minutes; the challenge's id is its base64url
form, and only its SHA-256 is stored, with what it was asked for (registration or login) and by
which session (the registering session, or the pending login of a password step; none for a
login with no username). A login reads its challenge and the credential in one BatchGetItem, the
counters and the user in a second, and spends the challenge, moves the counter (on the condition
that it has not moved meanwhile) and issues the session in one transaction.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chalicelib.config import Settings
from chalicelib.errors import (
    ConflictError,
    InvalidPasskeyError,
    PasskeyChallengeError,
    PasskeyCloneError,
    PasskeyNotFoundError,
    invalid_field,
)
from chalicelib.security.ids import new_id
from chalicelib.security.opaque import hash_opaque_token
from chalicelib.security.tokens import PENDING
from chalicelib.services.events import EventLog
from chalicelib.services.identity import Actor, Origin, Principal
from chalicelib.services.sessions import IssuedToken, SessionService
from chalicelib.services.throttle import LoginThrottle
from chalicelib.store import dynamo
from chalicelib.store.passkeys import (
    Challenge,
    ChallengeStore,
    Passkey,
    PasskeyExistsError,
    PasskeyStore,
)
from chalicelib.store.sessions import SessionEndedError
from chalicelib.store.users import User, UserStore

if TYPE_CHECKING:
    from chalicelib.store.sessions import Session

CHALLENGE_TTL_SECONDS = 300
CHALLENGE_BYTES = 32
USER_HANDLE_BYTES = 64
CREDENTIAL_ID_MAX_BYTES = 1023  # WebAuthn's limit
PASSKEYS_MAX = 20  # per account: each is listed in every registration's exclude list
RP_NAME = "Latchkey"
REGISTRATION, LOGIN = "registration", "login"
PENDING_LOGIN_MAX_FAILURES = 5  # as services/two_factor.py: a pending token dead after 5 failures
KNOWN_TRANSPORTS = ("ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb")
CHALLENGE_REFUSED = "challenge_id: unknown, expired, already used, or not asked for by this session."
LOGIN_FAILED = "The passkey could not be verified."


@dataclass(frozen=True)
class PasskeyOptions:
    challenge_id: str
    options: dict[str, Any]  # PublicKeyCredentialCreationOptions or ...RequestOptions, as JSON


def _b64(data: bytes) -> str:
    from base64 import urlsafe_b64encode

    return urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    from base64 import urlsafe_b64decode

    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PasskeyService:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], int],
        sessions: SessionService,
        throttle: LoginThrottle,
        events: EventLog,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.sessions = sessions
        self.throttle = throttle
        self.events = events
        self.store = PasskeyStore(settings)
        self.challenges = ChallengeStore(settings)
        self.users = UserStore(settings)

    @property
    def rp_id(self) -> str:
        """The relying party id: PUBLIC_URL's host."""
        return urlsplit(self.settings.public_url).hostname or "localhost"

    @property
    def origin(self) -> str:
        """The one origin a response may come from: PUBLIC_URL's scheme, host and port."""
        parts = urlsplit(self.settings.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    # Registration.

    def registration_options(self, principal: Principal) -> PasskeyOptions:
        """A registration challenge bound to the caller's session, and the options for
        ``navigator.credentials.create`` (the user's own passkeys excluded)."""
        from webauthn import generate_registration_options, options_to_json
        from webauthn.helpers.structs import (
            AuthenticatorSelectionCriteria,
            ResidentKeyRequirement,
            UserVerificationRequirement,
        )

        user, session = principal.user, principal.session
        assert session is not None  # a session-only route
        existing = self.store.of_user(user.user_id)
        if len(existing) >= PASSKEYS_MAX:
            raise ConflictError(f"You have {PASSKEYS_MAX} passkeys, the most an account may have: delete one first.")
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=RP_NAME,
            user_name=user.username,
            user_id=_unb64(self._user_handle(user)),
            user_display_name=user.username,
            challenge=challenge,
            timeout=CHALLENGE_TTL_SECONDS * 1000,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=[_descriptor(p) for p in existing],
        )
        return self._issue(challenge, REGISTRATION, session.session_id, options_to_json(options))

    def register(
        self, principal: Principal, challenge_id: str, credential: dict[str, Any], name: str, actor: Actor
    ) -> Passkey:
        """Verify the browser's attestation against a challenge of the caller's session and store
        the passkey. Raises PasskeyChallengeError (400), InvalidPasskeyError (400), ConflictError
        (409: the credential is registered already)."""
        from webauthn import verify_registration_response

        user, session = principal.user, principal.session
        assert session is not None
        now = self.clock()
        if self.challenges.spend(hash_opaque_token(challenge_id), REGISTRATION, session.session_id, now) is None:
            raise PasskeyChallengeError(CHALLENGE_REFUSED)
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=_unb64(challenge_id),
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
            )
        except Exception as exc:  # any failure to parse or verify is the client's
            raise InvalidPasskeyError(_why(exc)) from None
        if len(verified.credential_id) > CREDENTIAL_ID_MAX_BYTES:
            raise InvalidPasskeyError(f"credential: an id of at most {CREDENTIAL_ID_MAX_BYTES} bytes")
        transports = credential.get("response", {}).get("transports") or []
        passkey = Passkey(
            credential_id=_b64(verified.credential_id),
            passkey_id=new_id(),
            user_id=user.user_id,
            name=name,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            created_at=now,
            transports=tuple(sorted({t for t in transports if t in KNOWN_TRANSPORTS})),
            backed_up=verified.credential_backed_up,
        )
        event = self.events.for_user(user.user_id, "passkey.registered", actor, id=passkey.credential_id, name=name)
        try:
            self.store.create(passkey, [self.events.entry(event)])
        except PasskeyExistsError:
            raise ConflictError("credential: this passkey is registered already") from None
        return passkey

    def _user_handle(self, user: User) -> str:
        """The user's WebAuthn user handle, made on first use (64 random bytes, never a name)."""
        if user.passkey_user_handle:
            return user.passkey_user_handle
        handle = _b64(secrets.token_bytes(USER_HANDLE_BYTES))
        if self.users.set_passkey_user_handle(user.user_id, handle):
            return handle
        stored = self.users.get(user.user_id)  # a simultaneous request made it first
        if stored is None or not stored.passkey_user_handle:
            raise ConflictError("The account changed meanwhile; try again.")
        return stored.passkey_user_handle

    # Listing, renaming, deleting.

    def page(self, user_id: str, limit: int, cursor: str | None) -> tuple[list[Passkey], str | None]:
        try:
            return self.store.page(user_id, limit, cursor)
        except dynamo.InvalidCursorError:
            raise invalid_field("cursor", "not a cursor from this list") from None

    def rename(self, principal: Principal, credential_id: str, name: str, actor: Actor) -> Passkey:
        """Rename one of the caller's passkeys, with its event. Raises PasskeyNotFoundError for
        anyone else's (and ConflictError if it changed meanwhile)."""
        passkey = self._own(principal, credential_id)
        if passkey.name == name:
            return passkey
        event = self.events.for_user(
            principal.user_id, "passkey.renamed", actor, id=credential_id, old=passkey.name, new=name
        )

        def changed(failed: list[int]) -> None:
            raise ConflictError("The passkey changed meanwhile; try again.")

        dynamo.transact([self.store.rename_entry(passkey, name), self.events.entry(event)], changed)
        return replace(passkey, name=name)

    def _own(self, principal: Principal, credential_id: str) -> Passkey:
        passkey = dynamo.get_many(self.store.ref(credential_id))[0]  # None for an id that could not exist
        if passkey is None or passkey.user_id != principal.user_id:
            raise PasskeyNotFoundError("No such passkey.")
        return passkey

    def delete(self, principal: Principal, credential_id: str, actor: Actor) -> None:
        """Delete one of the caller's passkeys, with its event. Raises PasskeyNotFoundError otherwise."""
        passkey = self._own(principal, credential_id)
        event = self.events.for_user(principal.user_id, "passkey.deleted", actor, id=credential_id, name=passkey.name)

        def gone(failed: list[int]) -> None:
            raise PasskeyNotFoundError("No such passkey.")

        dynamo.transact(
            [self.store.delete_entry(credential_id, principal.user_id), self.events.entry(event)],
            on_condition_failure=gone,
        )

    # Logging in.

    def login_options(self, pending_token: str | None) -> PasskeyOptions:
        """A login challenge and the options for ``navigator.credentials.get``: for any
        discoverable passkey, or with a pending token of a password login, for that user's."""
        from webauthn import generate_authentication_options, options_to_json
        from webauthn.helpers.structs import UserVerificationRequirement

        session_id, allowed = None, []
        if pending_token is not None:
            _, pending, user = self.sessions.verify_claims(pending_token, PENDING)
            session_id, allowed = pending.session_id, [_descriptor(p) for p in self.store.of_user(user.user_id)]
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        options = generate_authentication_options(
            rp_id=self.rp_id,
            challenge=challenge,
            timeout=CHALLENGE_TTL_SECONDS * 1000,
            allow_credentials=allowed,
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        return self._issue(challenge, LOGIN, session_id, options_to_json(options))

    def login(
        self,
        challenge_id: str,
        credential: dict[str, Any],
        origin: Origin,
        actor: Actor,
        device_token: str | None = None,
        pending_token: str | None = None,
    ) -> IssuedToken:
        """Exchange a signed login challenge for a full session token and a device token, as a
        password login with its second factor would (a passkey is both).

        Raises PasskeyChallengeError (400), InvalidPasskeyError (401: unknown credential, another
        user's, a signature or origin that does not verify), PasskeyCloneError (401), and
        TooManyRequestsError under the login lockout; with a bad pending token, UnauthorizedError.
        """
        now = self.clock()
        pending: Session | None = None
        if pending_token is not None:
            claims, pending, _ = self.sessions.verify_claims(pending_token, PENDING)
            device_token = device_token or claims.device_token
        challenge_hash = hash_opaque_token(challenge_id)
        credential_id = str(credential.get("id", ""))
        challenge, passkey = dynamo.get_many(self.challenges.ref(challenge_hash), self.store.ref(credential_id))
        if (
            challenge is None
            or challenge.purpose != LOGIN
            or challenge.expires_at <= now
            or challenge.session_id != (pending.session_id if pending else None)
        ):
            raise PasskeyChallengeError(CHALLENGE_REFUSED)
        address = origin.address or "unknown"
        if passkey is None or (pending is not None and passkey.user_id != pending.user_id):
            # An unknown credential counts against the address (and a stand-in account, as an
            # unknown username does); another user's, against the user of the pending login.
            user_id = pending.user_id if pending else None
            account = user_id or self.throttle.unknown_account("passkey:" + credential_id)
            attempt = self.throttle.begin(account, user_id, address, device_token if user_id else None)
            self.throttle.failed(attempt, _anonymous(actor), "passkey")
            self.challenges.forget(challenge_hash)
            raise InvalidPasskeyError(LOGIN_FAILED, 401)
        attempt = self.throttle.begin(
            passkey.user_id, passkey.user_id, address, device_token, self.users.ref(passkey.user_id)
        )
        user: User | None = attempt.extra[0]
        if user is None:  # a passkey left behind by an account being deleted
            self.challenges.forget(challenge_hash)
            raise InvalidPasskeyError(LOGIN_FAILED, 401)
        login_actor = Actor(user.username, None, None, actor.address, actor.user_agent)
        try:
            count, backed_up = self._verify_assertion(credential, challenge_id, passkey, user)
        except InvalidPasskeyError:
            self.throttle.failed(attempt, login_actor, "passkey")
            self.challenges.forget(challenge_hash)
            raise
        if (count > 0 or passkey.sign_count > 0) and count <= passkey.sign_count:
            clone = self.events.for_user(
                user.user_id,
                "passkey.clone_detected",
                login_actor,
                id=passkey.credential_id,
                name=passkey.name,
                stored_count=passkey.sign_count,
                presented_count=count,
            )
            self.events.record(clone)
            self.throttle.failed(attempt, login_actor, "passkey")
            self.challenges.forget(challenge_hash)
            raise PasskeyCloneError(
                "This passkey's signature counter went backwards, as when a copy of it is used: it was refused."
            )
        done = self.throttle.completion(attempt, user.user_id, login_actor, two_factor=True, method="passkey")
        used = self.events.for_user(
            user.user_id, "passkey.used", login_actor, id=passkey.credential_id, name=passkey.name
        )
        entries = [
            self.challenges.spend_entry(challenge, now),
            self.store.used_entry(passkey, count, backed_up, now),
            *done.entries,
            self.events.entry(used),
        ]
        token: IssuedToken | None
        if pending is not None:
            token = self.sessions.exchange(pending, PENDING_LOGIN_MAX_FAILURES, entries)
        else:
            try:
                token = self.sessions.issue(user.user_id, origin=origin, also=entries)
            except SessionEndedError:  # the challenge or the counter was spent by a simultaneous login
                token = None
        if token is None:
            raise PasskeyChallengeError(CHALLENGE_REFUSED)
        self.throttle.succeeded(attempt)
        return replace(token, device_token=done.device_token)

    def _verify_assertion(
        self, credential: dict[str, Any], challenge_id: str, passkey: Passkey, user: User
    ) -> tuple[int, bool]:
        """The new counter and backup state of a verified assertion. Raises InvalidPasskeyError (401)."""
        from webauthn import verify_authentication_response

        handle = (credential.get("response") or {}).get("userHandle")
        if handle is not None and handle != user.passkey_user_handle:
            raise InvalidPasskeyError(LOGIN_FAILED + " (its user handle is not its account's)", 401)
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=_unb64(challenge_id),
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                credential_public_key=passkey.public_key,
                # The clone check is ours, so that a counter going backwards is told apart (and logged).
                credential_current_sign_count=0,
            )
        except Exception as exc:  # any failure to parse or verify is the client's
            raise InvalidPasskeyError(_why(exc), 401) from None
        return verified.new_sign_count, verified.credential_backed_up

    def _issue(self, challenge: bytes, purpose: str, session_id: str | None, options_json: str) -> PasskeyOptions:
        now = self.clock()
        challenge_id = _b64(challenge)
        self.challenges.put(
            Challenge(hash_opaque_token(challenge_id), purpose, now, now + CHALLENGE_TTL_SECONDS, session_id)
        )
        return PasskeyOptions(challenge_id, json.loads(options_json))


def _descriptor(passkey: Passkey) -> Any:
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    return PublicKeyCredentialDescriptor(
        id=_unb64(passkey.credential_id),
        transports=[AuthenticatorTransport(t) for t in passkey.transports if t in KNOWN_TRANSPORTS] or None,
    )


def _why(exc: Exception) -> str:
    """What the 400/401 says: py_webauthn's own reason where it gave one, else that it is malformed."""
    from webauthn.helpers.exceptions import WebAuthnException

    if isinstance(exc, WebAuthnException) and str(exc):
        return f"credential: {str(exc)[:200]}"
    return "credential: malformed"


def _anonymous(actor: Actor) -> Actor:
    return Actor(address=actor.address, user_agent=actor.user_agent)
