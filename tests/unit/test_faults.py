"""store/faults.py: which DynamoDB failures answer 503 with Retry-After, and which stay errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib.errors import ServiceUnavailableError
from chalicelib.store.dynamo import RetriesExhaustedError
from chalicelib.store.faults import unavailable


def client_error(code: str, status: int = 400, reasons: list[str] | None = None) -> ClientError:
    response: dict = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}  # type: ignore[type-arg]
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, "PutItem")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "retry_after"),
    [
        (client_error("ThrottlingException"), 1),
        (client_error("ProvisionedThroughputExceededException"), 1),
        (client_error("RequestLimitExceeded"), 1),
        (client_error("InternalServerError", 500), 2),
        (client_error("SomethingNew", 503), 2),
        (client_error("TransactionCanceledException", reasons=["None", "TransactionConflict"]), 1),
        (client_error("TransactionCanceledException", reasons=["ThrottlingError", "None"]), 1),
        (RetriesExhaustedError("unprocessed"), 1),
        (ReadTimeoutError(endpoint_url="http://db"), 5),
        (ConnectTimeoutError(endpoint_url="http://db"), 5),
        (EndpointConnectionError(endpoint_url="http://db"), 5),
        (ConnectionClosedError(endpoint_url="http://db"), 5),
    ],
)
def test_an_unavailable_database_is_a_503_with_retry_after(exc: BaseException, retry_after: int) -> None:
    mapped = unavailable(exc)
    assert isinstance(mapped, ServiceUnavailableError)
    assert (mapped.status, mapped.headers()) == (503, {"Retry-After": str(retry_after)})


@pytest.mark.parametrize(
    "exc",
    [
        client_error("ValidationException"),
        client_error("ConditionalCheckFailedException"),
        client_error("TransactionCanceledException", reasons=["ConditionalCheckFailed", "TransactionConflict"]),
        client_error("ResourceNotFoundException"),
        ValueError("a bug"),
    ],
)
def test_anything_else_is_left_alone(exc: BaseException) -> None:
    assert unavailable(exc) is None
