"""Which DynamoDB failures mean "the database is unavailable": the request answers
``503 ServiceUnavailableError`` with ``Retry-After`` (the same request may be sent again), never 500.

By the time a failure gets here, botocore has retried it (store/dynamo.py bounds the attempts and
the timeouts), so the database is throttling, failing or unreachable for now. Anything else (a
ValidationException, a failed condition) is left alone: the stores handle conditions, and the rest
is ours to fix (a 500).

``install`` hooks ``unavailable`` into the client's events, so that the failing call itself raises
the ServiceUnavailableError. It has to happen there: Chalice turns any other exception from a view
into a 500 before the middleware (web.error_middleware) sees it, and lets an ApiError through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore import exceptions as botocore_errors

from chalicelib.errors import ServiceUnavailableError
from chalicelib.metrics import THROTTLED as THROTTLED_CAUSE
from chalicelib.metrics import TIMEOUT, UNAVAILABLE
from chalicelib.store.dynamo import RetriesExhaustedError, cancellation_reasons, error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "Throttling",
        "LimitExceededException",
    }
)
FAILED = frozenset({"InternalServerError", "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException"})
# A cancelled transaction's reasons that mean the same (dynamo.transact retries a lost race first).
BUSY_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
RETRY_AFTER_THROTTLED = 1
RETRY_AFTER_FAILED = 2
RETRY_AFTER_UNREACHABLE = 5
MESSAGE = "The database is busy or unreachable; nothing was left half-done. Try again shortly."


def unavailable(exc: BaseException) -> ServiceUnavailableError | None:
    """The 503 that ``exc`` (raised by a DynamoDB call) calls for, or None if it is not one."""
    if isinstance(exc, ServiceUnavailableError):
        return exc
    if isinstance(exc, (botocore_errors.HTTPClientError, botocore_errors.ConnectionError)):
        # No answer: a connect or read timeout, a refused or dropped connection.
        return ServiceUnavailableError(MESSAGE, RETRY_AFTER_UNREACHABLE, TIMEOUT)
    if isinstance(exc, RetriesExhaustedError):
        return ServiceUnavailableError(MESSAGE, RETRY_AFTER_THROTTLED, THROTTLED_CAUSE)
    if not isinstance(exc, botocore_errors.ClientError):
        return None
    code = error_code(exc)
    if code in THROTTLED:
        return ServiceUnavailableError(MESSAGE, RETRY_AFTER_THROTTLED, THROTTLED_CAUSE)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in FAILED or status >= 500:
        return ServiceUnavailableError(MESSAGE, RETRY_AFTER_FAILED, UNAVAILABLE)
    if code == "TransactionCanceledException":
        reasons = set(cancellation_reasons(exc))
        if reasons & BUSY_REASONS and "ConditionalCheckFailed" not in reasons:
            return ServiceUnavailableError(MESSAGE, RETRY_AFTER_THROTTLED, THROTTLED_CAUSE)
    return None


def _on_reply(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
    """after-call: an error reply that means unavailable raises the 503 instead of its ClientError."""
    if http_response.status_code < 300:
        return
    error = botocore_errors.ClientError(parsed, model.name)  # type: ignore[arg-type]
    if error_code(error) == "TransactionCanceledException":
        return  # dynamo.transact reads its reasons, retries a lost race, and maps what is left
    mapped = unavailable(error)
    if mapped is not None:
        raise mapped from error


def _on_error(exception: BaseException, **_: Any) -> None:
    """after-call-error: no answer (after the retries) raises the 503."""
    mapped = unavailable(exception)
    if mapped is not None and mapped is not exception:
        raise mapped from exception


def install(client: DynamoDBClient | Any, service: str = "dynamodb") -> None:
    """Make ``client``'s calls raise ServiceUnavailableError when its service is unavailable
    (``service`` as botocore names its events: ``dynamodb``, ``kms``)."""
    client.meta.events.register(f"after-call.{service}", _on_reply, unique_id=f"latchkey-faults-reply-{service}")
    client.meta.events.register(f"after-call-error.{service}", _on_error, unique_id=f"latchkey-faults-error-{service}")
