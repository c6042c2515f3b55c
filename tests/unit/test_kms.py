"""store/kms.py: what a botocore error from KMS means to the service."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from chalicelib.store import kms


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "..."}}, "Decrypt")


@pytest.mark.parametrize("code", ["InvalidCiphertextException", "IncorrectKeyException"])
def test_a_ciphertext_kms_refuses_is_undecryptable(code: str) -> None:
    assert isinstance(kms.classify(client_error(code)), kms.UndecryptableError)


@pytest.mark.parametrize(
    "error",
    [
        client_error("ThrottlingException"),
        client_error("KMSInternalException"),
        client_error("DependencyTimeoutException"),
        client_error("KeyUnavailableException"),
        client_error("KMSInvalidStateException"),
        client_error("DisabledException"),
        EndpointConnectionError(endpoint_url="https://kms.example"),
        ConnectTimeoutError(endpoint_url="https://kms.example"),
        ReadTimeoutError(endpoint_url="https://kms.example"),
    ],
)
def test_kms_that_cannot_serve_now_is_unavailable(error: Exception) -> None:
    assert isinstance(kms.classify(error), kms.KmsUnavailableError)


@pytest.mark.parametrize("code", ["AccessDeniedException", "NotFoundException", "ValidationException"])
def test_a_deployment_fault_is_left_as_it_is(code: str) -> None:
    # A missing grant or a wrong key id must be seen (a 500 and its log), not mistaken for a wrong code.
    error = client_error(code)
    assert kms.classify(error) is error


def test_no_key_configured_is_a_deployment_fault() -> None:
    from chalicelib.config import Settings, use_settings

    use_settings(Settings(totp_kms_key_id=""))
    kms.reset_client()
    try:
        with pytest.raises(RuntimeError, match="TOTP_KMS_KEY_ID"):
            kms.encrypt(b"x", "u")
    finally:
        use_settings(None)
        kms.reset_client()
