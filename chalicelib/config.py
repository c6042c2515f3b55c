"""Settings read from the environment once per container (a frozen dataclass)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

_settings: Settings | None = None


@dataclass(frozen=True)
class Settings:
    table_prefix: str = "latchkey-dev-"
    session_ttl_seconds: int = 604800
    pending_ttl_seconds: int = 300
    login_failures_per_account: int = 10
    login_lockout_seconds: int = 900
    login_failures_per_address_per_hour: int = 100
    totp_issuer: str = "Latchkey"
    # The JWT signing key: given directly (local runs, tests) or named by a Secrets Manager ARN
    # (deployed stages), in which case it is read once per container.
    jwt_secret: str = ""
    jwt_secret_arn: str = ""
    dynamodb_endpoint: str = ""
    # The KMS key that encrypts TOTP secrets (its ARN, id or alias); the endpoint only for local runs.
    totp_kms_key_id: str = ""
    kms_endpoint: str = ""
    aws_region: str = "us-east-1"
    purge_lookback_days: int = 8
    reauth_max_age_seconds: int = 3600
    event_retention_days: int = 90
    password_resets_per_address_per_hour: int = 100
    # Wrong user codes of the device login (services/device_login.py) per 10 minutes.
    device_code_guesses_per_address: int = 20
    device_code_guesses_global: int = 1000
    mail_dir: str = ".cache/mail"
    public_url: str = "http://127.0.0.1:8000"
    email_from: str = ""
    mail_transport: str = ""  # "ses" or "outbox"; empty: SES when EMAIL_FROM is set (chalicelib/mail.py)

    def table_name(self, table: str) -> str:
        return self.table_prefix + table

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Read settings from the environment. Raises ValueError for a malformed number."""
        defaults = cls()

        def number(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            value = int(raw)
            if value <= 0:
                raise ValueError(f"{name} must be a positive whole number")
            return value

        return cls(
            table_prefix=env.get("TABLE_PREFIX", defaults.table_prefix),
            session_ttl_seconds=number("SESSION_TTL_SECONDS", defaults.session_ttl_seconds),
            login_failures_per_address_per_hour=number(
                "LOGIN_FAILURES_PER_ADDRESS_PER_HOUR", defaults.login_failures_per_address_per_hour
            ),
            totp_issuer=env.get("TOTP_ISSUER", defaults.totp_issuer),
            jwt_secret=env.get("JWT_SECRET", ""),
            jwt_secret_arn=env.get("JWT_SECRET_ARN", ""),
            dynamodb_endpoint=env.get("DYNAMODB_ENDPOINT", ""),
            totp_kms_key_id=env.get("TOTP_KMS_KEY_ID", ""),
            kms_endpoint=env.get("KMS_ENDPOINT", ""),
            aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or defaults.aws_region,
            purge_lookback_days=number("PURGE_LOOKBACK_DAYS", defaults.purge_lookback_days),
            reauth_max_age_seconds=number("REAUTH_MAX_AGE_SECONDS", defaults.reauth_max_age_seconds),
            event_retention_days=number("EVENT_RETENTION_DAYS", defaults.event_retention_days),
            password_resets_per_address_per_hour=number(
                "PASSWORD_RESETS_PER_ADDRESS_PER_HOUR", defaults.password_resets_per_address_per_hour
            ),
            device_code_guesses_per_address=number(
                "DEVICE_CODE_GUESSES_PER_ADDRESS", defaults.device_code_guesses_per_address
            ),
            device_code_guesses_global=number("DEVICE_CODE_GUESSES_GLOBAL", defaults.device_code_guesses_global),
            mail_dir=env.get("MAIL_DIR") or defaults.mail_dir,
            public_url=(env.get("PUBLIC_URL") or defaults.public_url).rstrip("/"),
            email_from=env.get("EMAIL_FROM", ""),
            mail_transport=_choice(env, "MAIL_TRANSPORT", ("ses", "outbox")),
        )


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (any case), or empty when unset. Raises ValueError for anything else."""
    value = env.get(name, "").strip().lower()
    if value and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}")
    return value


def get_settings() -> Settings:
    """The settings of this container, read from the environment on first use."""
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


def use_settings(settings: Settings | None) -> None:
    """Replace (or, with None, forget) the cached settings: for tests and the dev server."""
    global _settings
    _settings = settings
