"""The current user and session-token refresh."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.routes.views import token_view, user_view
from chalicelib.services import get_services
from chalicelib.web import parse_no_body, require_session, require_user

bp = Blueprint(__name__)


@bp.route("/v1/user", methods=["GET"])
def current_user() -> dict[str, Any]:
    return user_view(require_user(bp.current_request).user)


@bp.route("/v1/user/refresh-token", methods=["POST"])
def refresh_token() -> dict[str, Any]:
    who = require_session(bp.current_request)
    parse_no_body(bp.current_request)
    return token_view(get_services().sessions.issue(who.user_id))
