"""The API's errors: each class is one row of the contract's error table.

The class name is the body's ``Code``. They derive from Chalice's ChaliceUnhandledError so that a
view lets them through to the middleware in ``web.py``, the one place that turns them into
responses (it can add headers such as ``Retry-After``, which a ChaliceViewError cannot carry).
Services raise them without knowing about HTTP: the status lives here, in one table.
"""

from __future__ import annotations

from chalice import ChaliceUnhandledError


class ApiError(ChaliceUnhandledError):
    """Base of every error the API answers with; ``status`` is the HTTP status."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return type(self).__name__

    def headers(self) -> dict[str, str]:
        return {}


class BadRequestError(ApiError):
    status = 400


class InvalidTotpCodeError(ApiError):
    status = 400


class InvalidPasswordError(ApiError):
    status = 400


class UnauthorizedError(ApiError):
    status = 401


class InvalidCredentialsError(ApiError):
    status = 401


class ForbiddenError(ApiError):
    status = 403


class ReauthenticationRequiredError(ApiError):
    status = 403


class NotFoundError(ApiError):
    status = 404


class ConflictError(ApiError):
    status = 409


class PasskeyChallengeError(ApiError):
    """A passkey challenge that is unknown, expired, already used, or asked for by another session
    or for another purpose."""

    status = 400


class InvalidPasskeyError(ApiError):
    """A passkey response that does not verify (origin, rp id, signature, malformed, unknown
    credential): 400 while registering, 401 at login."""

    status = 400

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class PasskeyCloneError(ApiError):
    """A passkey whose signature counter went backwards: a copy of it may exist. Refused and logged."""

    status = 401


class PasskeyNotFoundError(ApiError):
    status = 404


class DeviceFlowError(ApiError):
    """A device token request (RFC 8628 section 3.5) that gets no token yet or ever: the Code is the
    RFC's error word (``authorization_pending``, ``slow_down``, ``access_denied``,
    ``expired_token``, or RFC 6749's ``invalid_grant`` for a device code unknown or used already)."""

    status = 400
    ERRORS = ("authorization_pending", "slow_down", "access_denied", "expired_token", "invalid_grant")

    def __init__(self, error: str, message: str) -> None:
        assert error in self.ERRORS
        super().__init__(message)
        self.error = error

    @property
    def code(self) -> str:
        return self.error


class DeviceCodeNotFoundError(ApiError):
    """A user code that names no pending device login (unknown, expired, or decided already)."""

    status = 404


class TooManyRequestsError(ApiError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailableError(ApiError):
    """The database throttled or did not answer, and retries ran out; nothing was half-done.

    ``cause`` is what the metrics count it under: "throttled", "unavailable" or "timeout"."""

    status = 503

    def __init__(self, message: str, retry_after: int = 5, cause: str = "unavailable") -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
        self.cause = cause

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def invalid_field(field: str, problem: str) -> BadRequestError:
    """A 400 whose message names the field, as the contract asks."""
    return BadRequestError(f"{field}: {problem}")
