"""Two-factor authentication: status, setup, enable, disable, recovery codes, and the second login step."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from chalice.app import Request, Response

from chalicelib.errors import BadRequestError
from chalicelib.routes.views import token_view
from chalicelib.services import get_services
from chalicelib.web import Field, client_address, parse_body, parse_no_body, reply, require_pending, require_session

bp = Blueprint(__name__)

CODE = Field("code", max_length=32)
EITHER_CODE = (Field("code", required=False, max_length=32), Field("recovery_code", required=False, max_length=64))


@bp.route("/v1/user/2fa", methods=["GET"])
def two_factor_status() -> dict[str, Any]:
    who = require_session(bp.current_request)
    status = get_services().two_factor.status(who.user)
    return {
        "enabled": status.enabled,
        "pending": status.pending,
        "recovery_codes_remaining": status.recovery_codes_remaining,
    }


@bp.route("/v1/user/2fa/setup", methods=["POST"])
def start_setup() -> dict[str, Any]:
    who = require_session(bp.current_request)
    parse_no_body(bp.current_request)
    setup = get_services().two_factor.start_setup(who.user)
    return {"secret": setup.secret, "otpauth_uri": setup.otpauth_uri, "qr_svg": setup.qr_svg}


@bp.route("/v1/user/2fa/enable", methods=["POST"])
def enable() -> dict[str, Any]:
    who = require_session(bp.current_request)
    body = parse_body(bp.current_request, (CODE,))
    codes = get_services().two_factor.enable(who.user, body["code"])
    return {"enabled": True, "recovery_codes": codes}


@bp.route("/v1/user/2fa/disable", methods=["POST"])
def disable() -> dict[str, Any]:
    who = require_session(bp.current_request)
    code, recovery_code = _either_code(bp.current_request)
    get_services().two_factor.disable(who.user, code, recovery_code)
    return {"enabled": False}


@bp.route("/v1/user/2fa/recovery-codes", methods=["POST"])
def replace_recovery_codes() -> dict[str, Any]:
    who = require_session(bp.current_request)
    body = parse_body(bp.current_request, (CODE,))
    return {"recovery_codes": get_services().two_factor.replace_recovery_codes(who.user, body["code"])}


@bp.route("/v1/login/totp", methods=["POST"])
def login_totp() -> Response:
    pending = require_pending(bp.current_request)
    code, recovery_code = _either_code(bp.current_request)
    address = client_address(bp.current_request)
    token = get_services().two_factor.complete_login(pending, code, recovery_code, address)
    return reply(token_view(token) | {"two_factor_required": False})


def _either_code(request: Request) -> tuple[str | None, str | None]:
    """``{"code"}`` or ``{"recovery_code"}``: exactly one of them."""
    body = parse_body(request, EITHER_CODE)
    code, recovery_code = body.get("code"), body.get("recovery_code")
    if (code is None) == (recovery_code is None):
        raise BadRequestError("code, recovery_code: give exactly one of them")
    return code, recovery_code
