"""The current user, session-token refresh and re-authentication."""

from __future__ import annotations

from typing import Any

from chalicelib.routes.two_factor import PASSWORD_AND_CODE
from chalicelib.services import get_services
from chalicelib.services.views import timestamp, token_view, user_view
from chalicelib.web import ANY, SESSION, Call, Routes

api = Routes(__name__)
bp = api.bp


@api.route("/v1/user", methods=["GET"], auth=ANY)
def get_user(call: Call) -> dict[str, Any]:
    """The current user."""
    return user_view(call.who.user)


@api.route("/v1/user/refresh-token", methods=["POST"], auth=SESSION)
def refresh_token(call: Call) -> dict[str, Any]:
    """A new session token, valid for a full period from now; the old one stays valid."""
    return token_view(get_services().sessions.refresh(call.who))


@api.route("/v1/user/reauthenticate", methods=["POST"], auth=SESSION, body=PASSWORD_AND_CODE, errors=(429,))
def reauthenticate(call: Call) -> dict[str, Any]:
    """Prove again who you are (password, and a code when two-factor is on), for the recent routes."""
    body = call.body
    at = get_services().user_sessions.reauthenticate(
        call.who, body["password"], body.get("code"), body.get("recovery_code"), call.actor
    )
    return {"authenticated_at": timestamp(at)}
