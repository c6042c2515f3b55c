"""The KMS key that encrypts TOTP secrets at rest: ``encrypt`` and ``decrypt``, bound to a user.

Each ciphertext is made with the user's id as its encryption context, so KMS refuses to decrypt it
for any other user: a ciphertext copied onto another user's record is undecryptable, not a secret.
The client is created lazily and cached (the endpoint must be reachable before the first call,
and tests reset it), with bounded timeouts and retries as DynamoDB's. No crypto library is needed:
the key never leaves KMS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.config import get_settings

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

_client: KMSClient | None = None

# What KMS answers for a ciphertext it will not decrypt with this key and context: tampered, made
# for another user (or another key).
_UNDECRYPTABLE = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})
# What KMS answers when it cannot serve now but may soon (after the client's own retries): it is
# throttling, failing inside, or the key is not usable at the moment (disabled, pending deletion,
# its custom key store cut off). Anything else (a missing permission, a malformed request) is a
# fault of the deployment or the code and is raised as botocore raised it.
_UNAVAILABLE = frozenset(
    {
        "ThrottlingException",
        "RequestLimitExceeded",
        "KMSInternalException",
        "InternalFailureException",
        "ServiceUnavailableException",
        "DependencyTimeoutException",
        "KeyUnavailableException",
        "KMSInvalidStateException",
        "DisabledException",
    }
)


class UndecryptableError(Exception):
    """A ciphertext that does not decrypt under this key for this user."""


class KmsUnavailableError(Exception):
    """KMS did not answer, or could not serve the request, and the retries ran out."""


def classify(exc: Exception) -> Exception:
    """What a botocore error from KMS means here: UndecryptableError, KmsUnavailableError, or itself."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _UNDECRYPTABLE:
            return UndecryptableError(code)
        if code in _UNAVAILABLE:
            return KmsUnavailableError(code)
        return exc
    if isinstance(exc, BotoCoreError):  # no connection, a timeout: the endpoint did not answer
        return KmsUnavailableError(type(exc).__name__)
    return exc


def client() -> KMSClient:
    """The process's KMS client, created on first use from the settings."""
    global _client
    if _client is None:
        import boto3
        from botocore.config import Config

        settings = get_settings()
        _client = boto3.client(
            "kms",
            region_name=settings.aws_region,
            endpoint_url=settings.kms_endpoint or None,
            config=Config(
                # As DynamoDB's client: 3 attempts in all (total_max_attempts counts the first), so a
                # KMS that does not answer costs a request about 10 s at most, then a 503.
                retries={"mode": "standard", "total_max_attempts": 3},
                connect_timeout=1,
                read_timeout=2,
                tcp_keepalive=True,
            ),
        )
    return _client


def reset_client() -> None:
    """Forget the cached client (tests point the next one at another endpoint)."""
    global _client
    _client = None


def _key_id() -> str:
    key_id = get_settings().totp_kms_key_id
    if not key_id:
        raise RuntimeError("no KMS key for TOTP secrets: set TOTP_KMS_KEY_ID")
    return key_id


def _context(user_id: str) -> dict[str, str]:
    return {"user_id": user_id}


def encrypt(plaintext: bytes, user_id: str) -> bytes:
    """``plaintext`` encrypted under the TOTP key for ``user_id`` (a new ciphertext on every call).

    Raises KmsUnavailableError when KMS cannot serve it now.
    """
    try:
        reply = client().encrypt(KeyId=_key_id(), Plaintext=plaintext, EncryptionContext=_context(user_id))
    except (ClientError, BotoCoreError) as exc:
        meaning = classify(exc)
        if meaning is exc:
            raise
        raise meaning from exc
    return reply["CiphertextBlob"]


def decrypt(ciphertext: bytes, user_id: str) -> bytes:
    """The plaintext of a ciphertext ``encrypt`` made for ``user_id``.

    Raises UndecryptableError for one made for another user or key, or altered; KmsUnavailableError
    when KMS cannot serve it now.
    """
    try:
        reply = client().decrypt(KeyId=_key_id(), CiphertextBlob=ciphertext, EncryptionContext=_context(user_id))
    except (ClientError, BotoCoreError) as exc:
        meaning = classify(exc)
        if meaning is exc:
            raise
        raise meaning from exc
    return reply["Plaintext"]
