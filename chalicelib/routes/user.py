"""The current user and session-token refresh."""

from __future__ import annotations

from typing import Any

from chalicelib.services import get_services
from chalicelib.services.views import token_view, user_view
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
