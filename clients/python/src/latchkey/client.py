"""The Python SDK: one method per operation of Latchkey's HTTP API, over httpx.

    from latchkey import Client

    client = Client()                      # LATCHKEY_URL, LATCHKEY_TOKEN from the environment
    client.login("alice", "correct horse battery")
    key = client.create_api_key("ci", description="deploys")
    print(key.key)                         # shown only this once
    for k in client.iter_api_keys():       # follows next_cursor
        print(k.name, k.prefix)

Requests refused with 429 or 503 are retried after the ``Retry-After`` the server gives, a bounded
number of times (``max_attempts``) and within a bounded total wait (``max_retry_wait``); both
refusals mean nothing was done, so retrying a POST is safe. Every request has a ``timeout``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from latchkey.constants import DEFAULT_URL, __version__
from latchkey.errors import (
    AuthorizationPendingError,
    LatchkeyError,
    NetworkError,
    SlowDownError,
    error_for,
)
from latchkey.models import (
    ApiKey,
    Application,
    BatchDelete,
    Collaborator,
    DeviceLogin,
    DeviceRequest,
    EmailVerification,
    Event,
    Login,
    NewApiKey,
    OrganizationCollaborator,
    Page,
    Passkey,
    Scope,
    Session,
    SharedCollaborator,
    Signup,
    Token,
    TwoFactorSetup,
    TwoFactorStatus,
    User,
    format_time,
    parse_time,
)

if TYPE_CHECKING:
    import httpx

BATCH_DELETE_MAX = 100
RETRIED_STATUSES = (429, 503)

T = TypeVar("T")


class _Keep:
    """Leave a field as it is (an argument not given, where None would mean "clear it")."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


class Client:
    """A client of one Latchkey server, holding at most one credential (``token``) and a ``device_token``.

    ``url`` defaults to ``$LATCHKEY_URL``, else http://127.0.0.1:8000; ``token`` (a session token or
    an API key) to ``$LATCHKEY_TOKEN`` (``token=""``: none, whatever the environment says).
    ``signup``, ``login`` and ``login_totp`` keep the token they get (and the ``device_token`` of a
    completed login, sent with the next login so that this client is a known device, exempt from
    lockouts caused by others); ``logout`` forgets it.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        device_token: str | None = None,
        timeout: float = 10.0,
        max_attempts: int = 4,
        max_retry_wait: float = 60.0,
        user_agent: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        if max_attempts < 1:
            raise ValueError("max_attempts: at least 1")
        self.url = (url or os.environ.get("LATCHKEY_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else (os.environ.get("LATCHKEY_TOKEN") or None)
        self.device_token = device_token
        self.max_attempts = max_attempts
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._httpx = httpx
        self._http = httpx.Client(
            base_url=self.url + "/",
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": user_agent or f"latchkey-python/{__version__}", "Accept": "application/json"},
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(url={self.url!r}, token={'set' if self.token else None})"

    # ---- health ----

    def health(self) -> dict[str, Any]:
        """``GET /v1/health``: ``{"status": "ok"}``."""
        return self._call("GET", "/v1/health", auth=False)

    def openapi(self) -> dict[str, Any]:
        """``GET /v1/openapi.json``: the API's OpenAPI 3.1 document."""
        return self._call("GET", "/v1/openapi.json", auth=False)

    # ---- sign up, log in, sessions ----

    def signup(self, username: str, email: str, password: str) -> Signup:
        """Create an account; the client keeps the session token it returns."""
        body = {"username": username, "email": email, "password": password}
        data = self._call("POST", "/v1/signup", body, auth=False)
        result = Signup.from_json(data)
        self.token = result.token
        self.device_token = result.device_token or self.device_token
        return result

    def login(self, username: str, password: str, *, device_token: str | None = None) -> Login:
        """Log in with a username (or email) and password; the client keeps the token it returns.

        With two-factor on, that token is a pending one (``two_factor_required``): finish with
        ``login_totp``. Sends ``device_token`` (or the one this client holds) when there is one.
        Raises InvalidCredentialsError on a wrong name or password, TooManyRequestsError when locked.
        """
        body = {"username": username, "password": password}
        known_device = device_token or self.device_token
        if known_device:
            body["device_token"] = known_device
        result = Login.from_json(self._call("POST", "/v1/login", body, auth=False))
        self.token = result.token
        self.device_token = result.device_token or self.device_token
        return result

    def login_totp(self, code: str | None = None, *, recovery_code: str | None = None) -> Login:
        """The second login step, with the pending token this client holds: an authenticator code
        or a recovery code. Raises InvalidCredentialsError on a wrong one."""
        result = Login.from_json(self._call("POST", "/v1/login/totp", _code_body(code, recovery_code)))
        self.token = result.token
        self.device_token = result.device_token or self.device_token
        return result

    def refresh_token(self) -> Token:
        """A new session token valid for a full period (the old one stays valid); the client switches to it."""
        result = Token.from_json(self._call("POST", "/v1/user/refresh-token"))
        self.token = result.token
        return result

    def reauthenticate(
        self, password: str, code: str | None = None, *, recovery_code: str | None = None
    ) -> datetime | None:
        """Prove again who you are, for the routes that need a recent authentication; returns
        ``authenticated_at``. Raises InvalidPasswordError / InvalidTotpCodeError."""
        body: dict[str, Any] = {"password": password}
        if code is not None:
            body["code"] = code
        if recovery_code is not None:
            body["recovery_code"] = recovery_code
        return parse_time(self._call("POST", "/v1/user/reauthenticate", body).get("authenticated_at"))

    def logout(self) -> None:
        """End the calling session on the server, and forget the token."""
        self._call("POST", "/v1/user/logout")
        self.token = None

    def list_sessions(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Session]:
        """One page of the user's sessions, newest first."""
        return self._page("/v1/user/sessions", "sessions", Session.from_json, limit, cursor)

    def iter_sessions(self, *, page_size: int | None = None) -> Iterator[Session]:
        """Every session of the user, newest first, following ``next_cursor``."""
        return self._iterate("/v1/user/sessions", "sessions", Session.from_json, page_size)

    def revoke_session(self, session_id: str) -> None:
        """End one of the user's sessions. Raises NotFoundError for someone else's or an unknown id."""
        self._call("DELETE", f"/v1/user/sessions/{_segment(session_id)}")

    def revoke_other_sessions(self) -> int:
        """End every session of the user but this one; returns how many ended."""
        return int(self._call("POST", "/v1/user/sessions/revoke-others")["revoked"])

    # ---- device login (RFC 8628): a terminal logs in through the browser ----

    def start_device_login(self, client_name: str) -> DeviceLogin:
        """Begin a device login for ``client_name`` (what the approval page shows, such as
        "deploy script on build-7"): show its ``user_code`` and ``verification_uri`` to the person,
        then ``poll_device_login``. Raises TooManyRequestsError past 30 a window from one address."""
        return DeviceLogin.from_json(self._call("POST", "/v1/device/code", {"client_name": client_name}, auth=False))

    def poll_device_login(self, login: DeviceLogin, *, wait: bool = True) -> Login | None:
        """Wait for the person to approve ``login`` in the browser, polling every ``interval``
        seconds (5 more after each ``slow_down``), and return its Login: the client keeps the
        session token and device token, as ``login`` does. With ``wait=False``, poll once: None
        while it is pending (SlowDownError when polled too soon). Raises AccessDeniedError
        (denied), ExpiredTokenError (10 minutes passed), InvalidGrantError (used already)."""
        interval = login.interval
        while True:
            if wait:
                self._sleep(interval)
            try:
                data = self._call("POST", "/v1/device/token", {"device_code": login.device_code}, auth=False)
            except AuthorizationPendingError:
                if not wait:
                    return None
                continue
            except SlowDownError:
                if not wait:
                    raise
                interval += 5
                continue
            result = Login.from_json(data)
            self.token = result.token
            self.device_token = result.device_token or self.device_token
            return result

    def device_login_request(self, user_code: str) -> DeviceRequest:
        """The pending device login of ``user_code``: its client's name, address and time. Raises
        DeviceCodeNotFoundError (a wrong code: they are counted, and limited)."""
        return DeviceRequest.from_json(self._call("POST", "/v1/device/lookup", {"user_code": user_code}))

    def approve_device_login(self, user_code: str) -> DeviceRequest:
        """Approve a device login (needs a recent authentication): its next poll gets a session of yours."""
        return DeviceRequest.from_json(self._call("POST", "/v1/device/approve", {"user_code": user_code}))

    def deny_device_login(self, user_code: str) -> DeviceRequest:
        """Deny a device login: its next poll gets access_denied."""
        return DeviceRequest.from_json(self._call("POST", "/v1/device/deny", {"user_code": user_code}))

    # ---- passkeys (added and used in a browser: a terminal cannot hold one) ----

    def passkey_registration_options(self) -> dict[str, Any]:
        """Begin registering a passkey (recent authentication): ``{"challenge_id", "options"}``, the
        options being what a browser's ``navigator.credentials.create`` takes, as JSON."""
        return dict(self._call("POST", "/v1/user/passkeys/registration/options"))

    def register_passkey(self, challenge_id: str, credential: dict[str, Any], name: str | None = None) -> Passkey:
        """Register the browser's attestation (``PublicKeyCredential.toJSON()``) for ``challenge_id``.
        Raises PasskeyChallengeError, InvalidPasskeyError, ConflictError."""
        body: dict[str, Any] = {"challenge_id": challenge_id, "credential": credential}
        if name is not None:
            body["name"] = name
        return Passkey.from_json(self._call("POST", "/v1/user/passkeys", body))

    def passkey_login_options(self, *, pending_token: str | None = None) -> dict[str, Any]:
        """Begin a passkey login: ``{"challenge_id", "options"}`` for ``navigator.credentials.get``
        (with a pending token from ``login``: for that user's passkeys)."""
        body = {"pending_token": pending_token} if pending_token else {}
        return dict(self._call("POST", "/v1/login/passkey/options", body, auth=False))

    def login_with_passkey(
        self, challenge_id: str, credential: dict[str, Any], *, pending_token: str | None = None
    ) -> Login:
        """Log in with the browser's assertion for ``challenge_id``; the client keeps the token, as
        ``login`` does. Raises PasskeyChallengeError, InvalidPasskeyError, PasskeyCloneError,
        TooManyRequestsError."""
        body: dict[str, Any] = {"challenge_id": challenge_id, "credential": credential}
        if pending_token:
            body["pending_token"] = pending_token
        if self.device_token:
            body["device_token"] = self.device_token
        result = Login.from_json(self._call("POST", "/v1/login/passkey", body, auth=False))
        self.token = result.token
        self.device_token = result.device_token or self.device_token
        return result

    def list_passkeys(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Passkey]:
        """One page of the user's passkeys, oldest first."""
        return self._page("/v1/user/passkeys", "passkeys", Passkey.from_json, limit, cursor)

    def iter_passkeys(self, *, page_size: int | None = None) -> Iterator[Passkey]:
        """Every passkey of the user, oldest first, following ``next_cursor``."""
        return self._iterate("/v1/user/passkeys", "passkeys", Passkey.from_json, page_size)

    def rename_passkey(self, passkey_id: str, name: str) -> Passkey:
        """Rename one of the user's passkeys. Raises PasskeyNotFoundError for anyone else's."""
        return Passkey.from_json(self._call("PATCH", f"/v1/user/passkeys/{_segment(passkey_id)}", {"name": name}))

    def delete_passkey(self, passkey_id: str) -> None:
        """Delete one of the user's passkeys (needs a recent authentication: ReauthenticationRequiredError
        otherwise). Raises PasskeyNotFoundError for someone else's or an unknown id."""
        self._call("DELETE", f"/v1/user/passkeys/{_segment(passkey_id)}")

    # ---- the current user, password, email, the account ----

    def get_user(self) -> User:
        """``GET /v1/user``: who the credential belongs to."""
        return User.from_json(self._call("GET", "/v1/user"))

    whoami = get_user

    def change_password(self, current_password: str, new_password: str) -> int:
        """Change the password; every other session and device token ends. Returns how many sessions ended."""
        body = {"current_password": current_password, "new_password": new_password}
        return int(self._call("POST", "/v1/user/password", body)["other_sessions_ended"])

    def request_password_reset(self, email: str) -> None:
        """Ask for a reset message for ``email`` (answered alike whether or not an account has it)."""
        self._call("POST", "/v1/password-reset", {"email": email}, auth=False)

    def confirm_password_reset(self, token: str, new_password: str) -> None:
        """Set a new password with the token of a reset message; every session of the user ends."""
        self._call("POST", "/v1/password-reset/confirm", {"token": token, "new_password": new_password}, auth=False)

    def verify_email(self, token: str) -> EmailVerification:
        """Confirm an address with the token of a verification message."""
        return EmailVerification.from_json(self._call("POST", "/v1/email/verify", {"token": token}, auth=False))

    def resend_verification(self) -> None:
        """Send a new verification message (earlier ones stop working)."""
        self._call("POST", "/v1/user/email/verification")

    def change_email(self, email: str) -> str:
        """Ask to change the address (a recent authentication is needed); returns the pending address,
        which takes effect once verified."""
        return str(self._call("POST", "/v1/user/email", {"email": email})["pending_email"])

    def delete_account(self, password: str, code: str | None = None, *, recovery_code: str | None = None) -> None:
        """Delete the account and everything of it (a recent authentication is needed). Raises
        ConflictError while the user owns applications."""
        body: dict[str, Any] = {"password": password}
        if code is not None:
            body["code"] = code
        if recovery_code is not None:
            body["recovery_code"] = recovery_code
        self._call("POST", "/v1/user/delete", body)
        self.token = None

    # ---- API keys ----

    def create_api_key(
        self,
        name: str,
        *,
        description: str | None = None,
        expires_at: datetime | str | None = None,
        applications: Sequence[str] | None = None,
        permissions: Sequence[str] | None = None,
    ) -> NewApiKey:
        """Create an API key; ``key`` is in the reply and never again. ``expires_at`` None means never.
        ``applications`` and ``permissions`` narrow the key's scope (None: no limit of that kind)."""
        body: dict[str, Any] = {"name": name}
        if description is not None:
            body["description"] = description
        if expires_at is not None:
            body["expires_at"] = format_time(expires_at)
        if applications is not None or permissions is not None:
            scope = Scope(
                applications=list(applications) if applications is not None else None,
                permissions=list(permissions) if permissions is not None else None,
            )
            body["scope"] = scope.to_json()
        return NewApiKey.from_json(self._call("POST", "/v1/user/api-keys", body))

    def list_api_keys(self, *, limit: int | None = None, cursor: str | None = None) -> Page[ApiKey]:
        """One page of the user's API keys, oldest first."""
        return self._page("/v1/user/api-keys", "api_keys", ApiKey.from_json, limit, cursor)

    def iter_api_keys(self, *, page_size: int | None = None) -> Iterator[ApiKey]:
        """Every API key of the user, oldest first, following ``next_cursor``."""
        return self._iterate("/v1/user/api-keys", "api_keys", ApiKey.from_json, page_size)

    def delete_api_key(self, key_id: str) -> None:
        """Revoke one key. Raises NotFoundError for someone else's or an unknown id."""
        self._call("DELETE", f"/v1/user/api-keys/{_segment(key_id)}")

    def delete_api_keys(self, key_ids: Iterable[str]) -> BatchDelete:
        """Revoke several keys (any number: sent 100 at a time); unknown ids come back in ``not_found``."""
        ids = list(dict.fromkeys(key_ids))
        if not ids:
            raise ValueError("key_ids: at least one id")
        deleted: list[str] = []
        not_found: list[str] = []
        for start in range(0, len(ids), BATCH_DELETE_MAX):
            chunk = ids[start : start + BATCH_DELETE_MAX]
            result = BatchDelete.from_json(self._call("POST", "/v1/user/api-keys/batch-delete", {"ids": chunk}))
            deleted += result.deleted
            not_found += result.not_found
        return BatchDelete(deleted=deleted, not_found=not_found, raw={"deleted": deleted, "not_found": not_found})

    def rotate_api_key(self, key_id: str, *, grace_seconds: int | None = None) -> NewApiKey:
        """A new key with the old one's name, description, scope and expiry; the old one expires
        after ``grace_seconds`` (default 0: now)."""
        body = {"grace_seconds": grace_seconds} if grace_seconds is not None else {}
        return NewApiKey.from_json(self._call("POST", f"/v1/user/api-keys/{_segment(key_id)}/rotate", body))

    # ---- two-factor authentication ----

    def two_factor_status(self) -> TwoFactorStatus:
        return TwoFactorStatus.from_json(self._call("GET", "/v1/user/2fa"))

    def setup_two_factor(self) -> TwoFactorSetup:
        """Start (or restart) a setup; two-factor is not on until ``enable_two_factor`` succeeds."""
        return TwoFactorSetup.from_json(self._call("POST", "/v1/user/2fa/setup"))

    def enable_two_factor(self, code: str) -> list[str]:
        """Turn two-factor on with a code of the pending setup; returns the 10 recovery codes (shown only now)."""
        return list(self._call("POST", "/v1/user/2fa/enable", {"code": code})["recovery_codes"])

    def disable_two_factor(self, code: str | None = None, *, recovery_code: str | None = None) -> None:
        self._call("POST", "/v1/user/2fa/disable", _code_body(code, recovery_code))

    def regenerate_recovery_codes(self, code: str) -> list[str]:
        """New recovery codes; the old ones stop working."""
        return list(self._call("POST", "/v1/user/2fa/recovery-codes", {"code": code})["recovery_codes"])

    # ---- applications and collaborators ----

    def create_application(self, name: str, *, description: str | None = None) -> Application:
        body: dict[str, Any] = {"name": name}
        if description is not None:
            body["description"] = description
        return Application.from_json(self._call("POST", "/v1/applications", body))

    def list_applications(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Application]:
        """One page of the applications the caller owns or collaborates on."""
        return self._page("/v1/applications", "applications", Application.from_json, limit, cursor)

    def iter_applications(self, *, page_size: int | None = None) -> Iterator[Application]:
        return self._iterate("/v1/applications", "applications", Application.from_json, page_size)

    def get_application(self, app_id: str) -> Application:
        return Application.from_json(self._call("GET", f"/v1/applications/{_segment(app_id)}"))

    def update_application(self, app_id: str, *, name: str | None = None, description: Any = KEEP) -> Application:
        """Rename it and/or change its description (``description=None`` clears it)."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if description is not KEEP:
            body["description"] = description
        return Application.from_json(self._call("PATCH", f"/v1/applications/{_segment(app_id)}", body))

    def delete_application(self, app_id: str) -> None:
        self._call("DELETE", f"/v1/applications/{_segment(app_id)}")

    def transfer_application(self, app_id: str, username: str) -> Application:
        """Make a collaborator the owner (you stay on as a developer); returns the application as you now see it."""
        path = f"/v1/applications/{_segment(app_id)}/transfer"
        return Application.from_json(self._call("POST", path, {"username": username}))

    def list_collaborators(
        self, app_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[Collaborator]:
        """One page of an application's collaborators (the owner is not listed)."""
        path = f"/v1/applications/{_segment(app_id)}/collaborators"
        return self._page(path, "collaborators", Collaborator.from_json, limit, cursor)

    def iter_collaborators(self, app_id: str, *, page_size: int | None = None) -> Iterator[Collaborator]:
        path = f"/v1/applications/{_segment(app_id)}/collaborators"
        return self._iterate(path, "collaborators", Collaborator.from_json, page_size)

    def add_collaborator(self, app_id: str, username: str, role: str) -> SharedCollaborator:
        """Share an application with someone as ``developer``, ``operator`` or ``observer``, or change
        their role; ``added`` says whether they are new."""
        path = f"/v1/applications/{_segment(app_id)}/collaborators/{_segment(username)}"
        status, data = self._request("PUT", path, {"role": role})
        return SharedCollaborator.from_reply(data, added=status == 201)

    def remove_collaborator(self, app_id: str, username: str) -> None:
        """Remove a collaborator (or, with your own username, leave the application)."""
        self._call("DELETE", f"/v1/applications/{_segment(app_id)}/collaborators/{_segment(username)}")

    def list_organization_collaborators(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[OrganizationCollaborator]:
        """One page of everyone who collaborates on an application you own, with those applications."""
        return self._page("/v1/collaborators", "collaborators", OrganizationCollaborator.from_json, limit, cursor)

    def iter_organization_collaborators(self, *, page_size: int | None = None) -> Iterator[OrganizationCollaborator]:
        return self._iterate("/v1/collaborators", "collaborators", OrganizationCollaborator.from_json, page_size)

    def offboard_collaborator(self, username: str) -> list[str]:
        """Remove someone from every application you own at once; returns those applications' ids."""
        return list(self._call("DELETE", f"/v1/collaborators/{_segment(username)}")["removed_from"])

    # ---- security and audit logs ----

    def list_events(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Event]:
        """One page of what happened to your account, newest first."""
        return self._page("/v1/user/events", "events", Event.from_json, limit, cursor)

    def iter_events(self, *, page_size: int | None = None) -> Iterator[Event]:
        return self._iterate("/v1/user/events", "events", Event.from_json, page_size)

    def list_application_events(
        self, app_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[Event]:
        """One page of an application's audit log, newest first (needs manage_collaborators)."""
        return self._page(f"/v1/applications/{_segment(app_id)}/events", "events", Event.from_json, limit, cursor)

    def iter_application_events(self, app_id: str, *, page_size: int | None = None) -> Iterator[Event]:
        return self._iterate(f"/v1/applications/{_segment(app_id)}/events", "events", Event.from_json, page_size)

    # ---- the wire ----

    def _page(
        self,
        path: str,
        key: str,
        build: Callable[[dict[str, Any]], T],
        limit: int | None,
        cursor: str | None,
    ) -> Page[T]:
        params: dict[str, str] = {}
        if limit is not None:
            params["limit"] = str(limit)
        if cursor is not None:
            params["cursor"] = cursor
        data = self._call("GET", path, params=params)
        return Page(items=[build(item) for item in data[key]], next_cursor=data.get("next_cursor"), raw=data)

    def _iterate(self, path: str, key: str, build: Callable[[dict[str, Any]], T], page_size: int | None) -> Iterator[T]:
        cursor: str | None = None
        while True:
            page = self._page(path, key, build, page_size, cursor)
            yield from page.items
            if not page.next_cursor:
                return
            if page.next_cursor == cursor:
                raise LatchkeyError(f"{path}: the server returned the same cursor twice")
            cursor = page.next_cursor

    def _call(
        self, method: str, path: str, body: Any = None, *, params: dict[str, str] | None = None, auth: bool = True
    ) -> Any:
        return self._request(method, path, body, params=params, auth=auth)[1]

    def _request(
        self, method: str, path: str, body: Any = None, *, params: dict[str, str] | None = None, auth: bool = True
    ) -> tuple[int, Any]:
        """Send one request (retried on 429/503 within the bounds); the status and the parsed body.
        Raises the ApiError of an error reply, NetworkError when the server cannot be reached."""
        headers: dict[str, str] = {}
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        waited = 0.0
        attempt = 1
        while True:
            try:
                response = self._http.request(
                    method, path.lstrip("/"), json=body, params=params or None, headers=headers
                )
            except self._httpx.TimeoutException as exc:
                raise NetworkError(f"{self.url} did not answer in time ({exc})", timed_out=True) from None
            except self._httpx.TransportError as exc:
                raise NetworkError(f"cannot reach {self.url}: {exc}") from None
            if response.status_code in RETRIED_STATUSES and attempt < self.max_attempts:
                delay = retry_after(response.headers.get("Retry-After"))
                delay = 1.0 if delay is None else delay
                if waited + delay <= self.max_retry_wait:
                    self._sleep(delay)
                    waited += delay
                    attempt += 1
                    continue
            return response.status_code, _parsed(response, f"{method} {path}")

    def __del__(self) -> None:
        http = getattr(self, "_http", None)
        if http is not None:
            with contextlib.suppress(Exception):  # at interpreter exit, httpx may be half torn down
                http.close()


def retry_after(value: str | None) -> float | None:
    """The seconds of a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils  # only for the rare HTTP-date form (it costs tens of milliseconds to import)

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _parsed(response: Any, request: str) -> Any:
    """The reply's JSON (None for an empty body), or the ApiError it stands for."""
    try:
        data = response.json() if response.content else None
    except ValueError:
        data = response.text
    if response.status_code >= 400:
        raise error_for(response.status_code, data, retry_after(response.headers.get("Retry-After")), request)
    return data


def _code_body(code: str | None, recovery_code: str | None) -> dict[str, str]:
    if code is not None and recovery_code is None:
        return {"code": code}
    if recovery_code is not None and code is None:
        return {"recovery_code": recovery_code}
    raise ValueError("give exactly one of code and recovery_code")


def _segment(value: str) -> str:
    """An id or username as one path segment (so that "a/b" cannot reach another route)."""
    if not value:
        raise ValueError("an empty id or username")
    return quote(value, safe="")
