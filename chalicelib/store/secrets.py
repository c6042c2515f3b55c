"""The JWT signing key: from the settings locally, from AWS Secrets Manager in a deployed stage."""

from __future__ import annotations

from chalicelib.config import Settings


def load_signing_key(settings: Settings) -> bytes:
    """The signing key's bytes. Raises RuntimeError when none is configured (a deployment fault)."""
    if settings.jwt_secret:
        return settings.jwt_secret.encode()
    if settings.jwt_secret_arn:
        import boto3

        secrets = boto3.client("secretsmanager", region_name=settings.aws_region)
        value = secrets.get_secret_value(SecretId=settings.jwt_secret_arn)["SecretString"]
        if len(value) < 32:
            raise RuntimeError("the signing secret is shorter than 32 characters")
        return value.encode()
    raise RuntimeError("no signing key: set JWT_SECRET or JWT_SECRET_ARN")
