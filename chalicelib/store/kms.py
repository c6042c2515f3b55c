"""The KMS key that encrypts TOTP secrets at rest: ``encrypt`` and ``decrypt``, bound to a user.

Each ciphertext is made with the user's id as its encryption context, so KMS refuses to decrypt it
for any other user: a ciphertext copied onto another user's record is undecryptable, not a secret.
The client is created lazily and cached (the endpoint must be reachable before the first call,
and tests reset it), with bounded timeouts and retries as DynamoDB's. No crypto library is needed:
the key never leaves KMS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.config import get_settings

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

_client: KMSClient | None = None

# What KMS answers for a ciphertext it will not decrypt with this key and context: tampered, made
# for another user (or another key). Everything else (throttling, an unreachable endpoint, a
# disabled key, a missing permission) is raised as botocore raised it.
_UNDECRYPTABLE = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})


class UndecryptableError(Exception):
    """A ciphertext that does not decrypt under this key for this user."""


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
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=2,
                read_timeout=3,
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
    """``plaintext`` encrypted under the TOTP key for ``user_id`` (a new ciphertext on every call)."""
    reply = client().encrypt(KeyId=_key_id(), Plaintext=plaintext, EncryptionContext=_context(user_id))
    return reply["CiphertextBlob"]


def decrypt(ciphertext: bytes, user_id: str) -> bytes:
    """The plaintext of a ciphertext ``encrypt`` made for ``user_id``.

    Raises UndecryptableError for one made for another user or key, or altered.
    """
    try:
        reply = client().decrypt(KeyId=_key_id(), CiphertextBlob=ciphertext, EncryptionContext=_context(user_id))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _UNDECRYPTABLE:
            raise UndecryptableError(user_id) from None
        raise
    return reply["Plaintext"]
