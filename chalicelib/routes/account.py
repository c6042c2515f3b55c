"""Passwords, email and the account: verification, address change, password change and reset, deletion."""

from __future__ import annotations

from typing import Any

from chalicelib.routes.login import EMAIL
from chalicelib.routes.two_factor import PASSWORD_AND_CODE
from chalicelib.rules import PASSWORD_MAX, PASSWORD_MIN, TOKEN_MAX
from chalicelib.services import get_services
from chalicelib.web import NONE, SESSION, Body, Call, Field, Routes

api = Routes(__name__)
bp = api.bp

TOKEN = Field("token", min_length=1, max_length=TOKEN_MAX)
NEW_PASSWORD = Field(
    "new_password", min_length=PASSWORD_MIN, max_length=PASSWORD_MAX, rule=f"{PASSWORD_MIN}-{PASSWORD_MAX} characters"
)


NEW_EMAIL = Body(EMAIL)
CHANGE_PASSWORD = Body(Field("current_password", min_length=1, max_length=PASSWORD_MAX), NEW_PASSWORD)
RESET = Body(Field("email", min_length=1, max_length=254))


@api.route("/v1/email/verify", methods=["POST"], auth=NONE, body=Body(TOKEN), errors=(409,))
def verify_email(call: Call) -> dict[str, Any]:
    """Verify an address with the token of a mailed link (a new address takes effect here)."""
    email = get_services().email.verify(call.body["token"], call.actor)
    return {"email": email, "email_verified": True}


@api.route("/v1/user/email/verification", methods=["POST"], auth=SESSION, status=202, errors=(409, 429))
def resend_verification(call: Call) -> dict[str, Any]:
    """Mail a new verification link; earlier ones stop working."""
    get_services().email.resend_verification(call.who.user)
    return {}


@api.route("/v1/user/email", methods=["POST"], auth=SESSION, body=NEW_EMAIL, recent=True, status=202, errors=(409, 429))
def change_email(call: Call) -> dict[str, Any]:
    """Change the address: a link goes to the new one, which takes effect when it is opened."""
    pending = get_services().email.request_change(call.who.user, call.body["email"], call.actor)
    return {"pending_email": pending}


@api.route("/v1/user/password", methods=["POST"], auth=SESSION, body=CHANGE_PASSWORD, errors=(429,))
def change_password(call: Call) -> dict[str, Any]:
    """Change the password; every other session and every device token ends."""
    who, body = call.who, call.body
    ended = get_services().passwords.change(
        who.user, who.credential_id, body["current_password"], body["new_password"], call.actor
    )
    return {"other_sessions_ended": ended}


@api.route("/v1/password-reset", methods=["POST"], auth=NONE, body=RESET, status=202)
def request_password_reset(call: Call) -> dict[str, Any]:
    """Mail a reset link if an account has this address; the reply is the same either way."""
    get_services().passwords.request_reset(call.body["email"], call.actor)
    return {}


@api.route("/v1/password-reset/confirm", methods=["POST"], auth=NONE, body=Body(TOKEN, NEW_PASSWORD), status=204)
def confirm_password_reset(call: Call) -> None:
    """Set a new password with a reset link's token; every session and device token ends."""
    get_services().passwords.confirm_reset(call.body["token"], call.body["new_password"], call.actor)


@api.route("/v1/user/delete", methods=["POST"], auth=SESSION, body=PASSWORD_AND_CODE, recent=True, errors=(409, 429))
def delete_account(call: Call) -> None:
    """Delete the account and everything of it; the username and email are free at once."""
    body = call.body
    get_services().deletion.delete(call.who.user, body["password"], body.get("code"), body.get("recovery_code"))
