"""Two-factor authentication: status, setup, enable, disable, recovery codes, and the second login step."""

from __future__ import annotations

from typing import Any

from chalicelib.services import get_services
from chalicelib.services.views import token_view
from chalicelib.web import PENDING, SESSION, Body, Call, Field, Routes

api = Routes(__name__)
bp = api.bp

CODE = Field("code", min_length=1, max_length=16)
RECOVERY_CODE = Field("recovery_code", min_length=1, max_length=64)
EITHER_CODE = Body(
    Field("code", required=False, min_length=1, max_length=16),
    Field("recovery_code", required=False, min_length=1, max_length=64),
    exactly_one_of=("code", "recovery_code"),
)
# A password and, when two-factor is on, a code or a recovery code (re-authentication, deletion).
PASSWORD_AND_CODE = Body(
    Field("password", min_length=1, max_length=128),
    Field("code", required=False, min_length=1, max_length=16),
    Field("recovery_code", required=False, min_length=1, max_length=64),
    at_most_one_of=("code", "recovery_code"),
)


@api.route("/v1/user/2fa", methods=["GET"], auth=SESSION)
def two_factor_status(call: Call) -> dict[str, Any]:
    """Whether two-factor authentication is on or pending, and the recovery codes left."""
    status = get_services().two_factor.status(call.who.user)
    return {
        "enabled": status.enabled,
        "pending": status.pending,
        "recovery_codes_remaining": status.recovery_codes_remaining,
    }


@api.route("/v1/user/2fa/setup", methods=["POST"], auth=SESSION, errors=(409,))
def two_factor_setup(call: Call) -> dict[str, Any]:
    """Start (or restart) a 10-minute pending setup: the secret, its URI and a QR code."""
    setup = get_services().two_factor.start_setup(call.who.user)
    return {"secret": setup.secret, "otpauth_uri": setup.otpauth_uri, "qr_svg": setup.qr_svg}


@api.route("/v1/user/2fa/enable", methods=["POST"], auth=SESSION, body=Body(CODE), errors=(409, 429))
def two_factor_enable(call: Call) -> dict[str, Any]:
    """Turn two-factor on with a code of the pending setup; returns 10 recovery codes, shown once."""
    codes = get_services().two_factor.enable(call.who.user, call.body["code"], call.actor)
    return {"enabled": True, "recovery_codes": codes}


@api.route("/v1/user/2fa/disable", methods=["POST"], auth=SESSION, body=EITHER_CODE, errors=(409, 429))
def two_factor_disable(call: Call) -> dict[str, Any]:
    """Turn two-factor off, proven by a code or a recovery code."""
    body = call.body
    get_services().two_factor.disable(call.who.user, body.get("code"), body.get("recovery_code"), call.actor)
    return {"enabled": False}


@api.route("/v1/user/2fa/recovery-codes", methods=["POST"], auth=SESSION, body=Body(CODE), errors=(409, 429))
def two_factor_recovery_codes(call: Call) -> dict[str, Any]:
    """10 new recovery codes, proven by a code; the old ones stop working."""
    codes = get_services().two_factor.replace_recovery_codes(call.who.user, call.body["code"], call.actor)
    return {"recovery_codes": codes}


@api.route("/v1/login/totp", methods=["POST"], auth=PENDING, body=EITHER_CODE, errors=(429,))
def login_totp(call: Call) -> dict[str, Any]:
    """The second login step: a pending token and a code (or recovery code) for a session token."""
    body = call.body
    token = get_services().two_factor.complete_login(
        call.who, body.get("code"), body.get("recovery_code"), call.address, call.actor
    )
    return token_view(token) | {"two_factor_required": False, "device_token": token.device_token}
