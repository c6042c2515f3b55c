"""Sign up and log in."""

from __future__ import annotations

from typing import Any

from chalicelib.rules import EMAIL_MAX, PASSWORD_MAX, PASSWORD_MIN, USERNAME_RULE
from chalicelib.services import get_services
from chalicelib.services.views import token_view, user_view
from chalicelib.web import NONE, Body, Call, Field, Routes

api = Routes(__name__)
DEVICE_TOKEN_MAX = 256
bp = api.bp

# What the app accepts, or more (the service checks the rest): one @, a local part, dot-separated
# non-empty domain labels, no spaces or control characters.
EMAIL = Field(
    "email",
    min_length=5,
    max_length=EMAIL_MAX,
    pattern=r"^[^@\x00-\x20]+@[^@\x00-\x20.]+(\.[^@\x00-\x20.]+)+$",
    rule="not a valid email address",
)
USERNAME = Field("username", min_length=3, max_length=32, pattern="^[A-Za-z][A-Za-z0-9_]*$", rule=USERNAME_RULE)
NEW_PASSWORD = Field(
    "password", min_length=PASSWORD_MIN, max_length=PASSWORD_MAX, rule=f"{PASSWORD_MIN}-{PASSWORD_MAX} characters"
)


SIGNUP = Body(USERNAME, EMAIL, NEW_PASSWORD)
LOGIN = Body(
    Field("username", min_length=1, max_length=254),
    Field("password", min_length=1, max_length=128),
    # From an earlier completed login; an unknown, expired or other account's one is ignored.
    Field("device_token", required=False, nullable=True, min_length=1, max_length=DEVICE_TOKEN_MAX),
)


@api.route("/v1/signup", methods=["POST"], auth=NONE, body=SIGNUP, status=201, errors=(409,))
def signup(call: Call) -> dict[str, Any]:
    """Create an account, and its first session."""
    body = call.body
    done = get_services().accounts.signup(body["username"], body["email"], body["password"], call.origin, call.actor)
    return {"user": user_view(done.user)} | token_view(done.token) | {"device_token": done.device_token}


@api.route("/v1/login", methods=["POST"], auth=NONE, body=LOGIN, errors=(401, 429))
def login(call: Call) -> dict[str, Any]:
    """Log in with a password: a session token and a device token, or a pending token when two-factor is on."""
    body = call.body
    result = get_services().accounts.login(
        body["username"], body["password"], call.origin, call.actor, body.get("device_token")
    )
    reply = token_view(result.token) | {"two_factor_required": result.two_factor_required}
    if result.device_token is not None:
        reply["device_token"] = result.device_token
    return reply
