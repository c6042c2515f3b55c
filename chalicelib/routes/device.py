"""The device authorization grant (RFC 8628): a terminal asks for a code pair and polls; the
signed-in person looks the user code up in the dashboard and approves or denies it."""

from __future__ import annotations

from typing import Any

from chalicelib.services import get_services
from chalicelib.services.views import device_request_view, token_view
from chalicelib.web import NONE, SESSION, Body, Call, Field, Routes

api = Routes(__name__)
bp = api.bp

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
CLIENT_NAME = Field(
    "client_name", min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$", rule="1-64 characters, no control"
)
START = Body(CLIENT_NAME)
POLL = Body(
    Field("device_code", min_length=1, max_length=128),
    # RFC 8628 section 3.4's grant type, which this route alone takes: optional here.
    Field("grant_type", required=False, nullable=True, enum=(GRANT_TYPE,)),
)
USER_CODE = Body(Field("user_code", min_length=1, max_length=32))


def _user_code(call: Call) -> str:
    from chalicelib.services.device_login import format_user_code, normalize_user_code

    return format_user_code(normalize_user_code(call.body["user_code"]) or "")


@api.route("/v1/device/code", methods=["POST"], auth=NONE, body=START, errors=(429,))
def device_code(call: Call) -> dict[str, Any]:
    """Begin a device login (RFC 8628 section 3.2): a device code to poll with and a user code to approve."""
    made = get_services().device_login.start(call.body["client_name"], call.origin)
    return {
        "device_code": made.device_code,
        "user_code": made.user_code,
        "verification_uri": made.verification_uri,
        "verification_uri_complete": made.verification_uri_complete,
        "expires_in": made.expires_in,
        "interval": made.interval,
    }


@api.route("/v1/device/token", methods=["POST"], auth=NONE, body=POLL)
def device_token(call: Call) -> dict[str, Any]:
    """Poll a device login (RFC 8628 section 3.4): once approved, a session token and a device token, once."""
    token = get_services().device_login.poll(call.body["device_code"], call.origin)
    return token_view(token) | {"two_factor_required": False, "device_token": token.device_token}


@api.route("/v1/device/lookup", methods=["POST"], auth=SESSION, body=USER_CODE, errors=(404, 429))
def device_lookup(call: Call) -> dict[str, Any]:
    """The pending device login of a user code: the client's name, its address and when it asked."""
    code = get_services().device_login.lookup(call.who, call.body["user_code"], call.origin)
    return device_request_view(code, _user_code(call))


@api.route("/v1/device/approve", methods=["POST"], auth=SESSION, body=USER_CODE, recent=True, errors=(404, 429))
def device_approve(call: Call) -> dict[str, Any]:
    """Approve a device login: its client's next poll receives a session of yours."""
    code = get_services().device_login.approve(call.who, call.body["user_code"], call.origin, call.actor)
    return device_request_view(code, _user_code(call)) | {"status": "approved"}


@api.route("/v1/device/deny", methods=["POST"], auth=SESSION, body=USER_CODE, errors=(404, 429))
def device_deny(call: Call) -> dict[str, Any]:
    """Deny a device login: its client's next poll receives access_denied."""
    code = get_services().device_login.deny(call.who, call.body["user_code"], call.origin, call.actor)
    return device_request_view(code, _user_code(call)) | {"status": "denied"}
