"""Latchkey's Python SDK: ``from latchkey import Client``. The ``latchkey`` command is ``latchkey.cli``.

The names below are loaded on first use (PEP 562), so that the command line starts without
importing the SDK's models and client when a command does not need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from latchkey.constants import DEFAULT_URL, __version__

if TYPE_CHECKING:
    from latchkey.client import KEEP, Client
    from latchkey.errors import (
        AccessDeniedError,
        ApiError,
        AuthorizationPendingError,
        BadRequestError,
        ConflictError,
        DeviceCodeNotFoundError,
        DeviceLoginError,
        ExpiredTokenError,
        ForbiddenError,
        InternalServerError,
        InvalidCredentialsError,
        InvalidGrantError,
        InvalidPasskeyError,
        InvalidPasswordError,
        InvalidTotpCodeError,
        LatchkeyError,
        NetworkError,
        NotFoundError,
        PasskeyChallengeError,
        PasskeyCloneError,
        PasskeyNotFoundError,
        ReauthenticationRequiredError,
        ServiceUnavailableError,
        SlowDownError,
        TooManyRequestsError,
        UnauthorizedError,
        UnsupportedMediaType,
        UnsupportedMediaTypeError,
    )
    from latchkey.models import (
        ApiKey,
        Application,
        BatchDelete,
        Collaborator,
        CollaboratorGrant,
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
    )

__all__ = [
    "DEFAULT_URL",
    "KEEP",
    "AccessDeniedError",
    "ApiError",
    "ApiKey",
    "Application",
    "AuthorizationPendingError",
    "BadRequestError",
    "BatchDelete",
    "Client",
    "Collaborator",
    "CollaboratorGrant",
    "ConflictError",
    "DeviceCodeNotFoundError",
    "DeviceLogin",
    "DeviceLoginError",
    "DeviceRequest",
    "EmailVerification",
    "Event",
    "ExpiredTokenError",
    "ForbiddenError",
    "InternalServerError",
    "InvalidCredentialsError",
    "InvalidGrantError",
    "InvalidPasskeyError",
    "InvalidPasswordError",
    "InvalidTotpCodeError",
    "LatchkeyError",
    "Login",
    "NetworkError",
    "NewApiKey",
    "NotFoundError",
    "OrganizationCollaborator",
    "Page",
    "Passkey",
    "PasskeyChallengeError",
    "PasskeyCloneError",
    "PasskeyNotFoundError",
    "ReauthenticationRequiredError",
    "Scope",
    "ServiceUnavailableError",
    "Session",
    "SharedCollaborator",
    "Signup",
    "SlowDownError",
    "Token",
    "TooManyRequestsError",
    "TwoFactorSetup",
    "TwoFactorStatus",
    "UnauthorizedError",
    "UnsupportedMediaType",
    "UnsupportedMediaTypeError",
    "User",
    "__version__",
]

_HOMES = {"KEEP": "latchkey.client", "Client": "latchkey.client"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'latchkey' has no attribute {name!r}")
    if name in _HOMES:
        home = _HOMES[name]
    elif name.endswith("Error") or name == "UnsupportedMediaType":
        home = "latchkey.errors"
    else:
        home = "latchkey.models"
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
