"""The API's errors, one exception class per error ``Code`` of the contract, and the client's own."""

from __future__ import annotations

from typing import Any


class LatchkeyError(Exception):
    """Anything this package raises."""


class NetworkError(LatchkeyError):
    """The server could not be reached, or did not answer in time (``timed_out``)."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.timed_out = timed_out


class ApiError(LatchkeyError):
    """The API answered with an error: its HTTP ``status``, ``code`` (the body's ``Code``) and ``message``.

    ``retry_after`` is the seconds the server asked to wait (``Retry-After``), or None.
    """

    code: str = "ApiError"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
        no_route: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        if code is not None:
            self.code = code
        self.retry_after = retry_after
        self.body = body
        self.no_route = no_route

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, message={self.message!r})"


class BadRequestError(ApiError):
    """400: malformed or invalid input; the message names the field."""

    code = "BadRequestError"


class InvalidTotpCodeError(ApiError):
    """400: a wrong, expired or already used authenticator code while managing two-factor or the account."""

    code = "InvalidTotpCodeError"


class InvalidPasswordError(ApiError):
    """400: a wrong current password while already signed in."""

    code = "InvalidPasswordError"


class UnauthorizedError(ApiError):
    """401: the credential is missing, malformed, expired, revoked, or of the wrong kind."""

    code = "UnauthorizedError"


class InvalidCredentialsError(ApiError):
    """401: the login failed (unknown user, wrong password, wrong code)."""

    code = "InvalidCredentialsError"


class ForbiddenError(ApiError):
    """403: authenticated, but this credential, its scope or the role may not do this."""

    code = "ForbiddenError"


class ReauthenticationRequiredError(ApiError):
    """403: the route needs a recent authentication: reauthenticate (or log in) first."""

    code = "ReauthenticationRequiredError"


class NotFoundError(ApiError):
    """404: no such resource, or the caller may not know that it exists."""

    code = "NotFoundError"


class ConflictError(ApiError):
    """409: a unique name is taken, or the resource is in the wrong state."""

    code = "ConflictError"


class UnsupportedMediaType(ApiError):
    """415: a body with a content type other than JSON."""

    code = "UnsupportedMediaType"


class TooManyRequestsError(ApiError):
    """429: a rate limit or lockout; ``retry_after`` gives the seconds to wait."""

    code = "TooManyRequestsError"


class ServiceUnavailableError(ApiError):
    """503: the database is throttling or unreachable; nothing was half-done; ``retry_after`` says when to retry."""

    code = "ServiceUnavailableError"


class PasskeyChallengeError(BadRequestError):
    """400: a passkey challenge that is unknown, expired, already used, or another session's."""

    code = "PasskeyChallengeError"


class InvalidPasskeyError(ApiError):
    """400 (registering) or 401 (logging in): the passkey's response did not verify."""

    code = "InvalidPasskeyError"


class PasskeyCloneError(ApiError):
    """401: the passkey's signature counter went backwards (a copy may exist); refused and logged."""

    code = "PasskeyCloneError"


class PasskeyNotFoundError(NotFoundError):
    """404: no passkey of yours has that id."""

    code = "PasskeyNotFoundError"


class DeviceLoginError(BadRequestError):
    """400 from polling a device login (RFC 8628 section 3.5): the ``code`` is the RFC's error word."""


class AuthorizationPendingError(DeviceLoginError):
    """Not approved or denied yet: poll again after the interval."""

    code = "authorization_pending"


class SlowDownError(DeviceLoginError):
    """Polled sooner than the interval: it grew by 5 seconds, for every later poll."""

    code = "slow_down"


class AccessDeniedError(DeviceLoginError):
    """The login was denied in the browser (or the approving account is gone): stop."""

    code = "access_denied"


class ExpiredTokenError(DeviceLoginError):
    """The codes expired (10 minutes) before an approval: begin again."""

    code = "expired_token"


class InvalidGrantError(DeviceLoginError):
    """An unknown device code, or one used already: it gives one session."""

    code = "invalid_grant"


class DeviceCodeNotFoundError(NotFoundError):
    """404: no pending device login has that user code (unknown, expired, or decided already)."""

    code = "DeviceCodeNotFoundError"


class InternalServerError(ApiError):
    """500: never expected (a bug of the server)."""

    code = "InternalServerError"


UnsupportedMediaTypeError = UnsupportedMediaType

ERRORS_BY_CODE: dict[str, type[ApiError]] = {
    cls.code: cls
    for cls in (
        BadRequestError,
        InvalidTotpCodeError,
        InvalidPasswordError,
        UnauthorizedError,
        InvalidCredentialsError,
        ForbiddenError,
        ReauthenticationRequiredError,
        NotFoundError,
        ConflictError,
        UnsupportedMediaType,
        TooManyRequestsError,
        ServiceUnavailableError,
        InternalServerError,
        PasskeyChallengeError,
        InvalidPasskeyError,
        PasskeyCloneError,
        PasskeyNotFoundError,
        AuthorizationPendingError,
        SlowDownError,
        AccessDeniedError,
        ExpiredTokenError,
        InvalidGrantError,
        DeviceCodeNotFoundError,
    )
}

# An answer without a known Code (the platform's own 403 for an unrouted path, a proxy's 502...)
# is raised as the class of its status.
ERRORS_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    415: UnsupportedMediaType,
    429: TooManyRequestsError,
    500: InternalServerError,
    503: ServiceUnavailableError,
}


def error_for(status: int, body: Any, retry_after: float | None, request: str = "") -> ApiError:
    """The exception for an error reply: by its ``Code``, else by its status. ``request`` is the
    request's method and path ("GET /v1/user"), named by the message of a path the server lacks."""
    code = message = None
    if isinstance(body, dict):
        code = body.get("Code") if isinstance(body.get("Code"), str) else None
        raw_message = body.get("Message", body.get("message"))
        message = raw_message if isinstance(raw_message, str) else None
    if code is None and status == 403:
        # The platform's answer to a path that matches no route (API Gateway, Chalice's local
        # server). Its text is not passed on: Chalice's local server echoes the Authorization
        # header in it, the credential included.
        message = f"the server has no route for {request or 'this request'}"
        return ForbiddenError(message, status=status, retry_after=retry_after, body=None, no_route=True)
    cls = ERRORS_BY_CODE.get(code or "") or ERRORS_BY_STATUS.get(status, ApiError)
    if message is None:
        message = body if isinstance(body, str) and body else f"HTTP {status}"
    return cls(message, status=status, code=code or cls.code, retry_after=retry_after, body=body)
