"""The caller's sessions: list them, end one, end the caller's own (log out), end all the others."""

from __future__ import annotations

from typing import Any

from chalicelib.services import get_services
from chalicelib.services.views import session_view
from chalicelib.web import SESSION, Call, Routes

api = Routes(__name__)
bp = api.bp


@api.route("/v1/user/sessions", methods=["GET"], auth=SESSION, paged=True)
def list_sessions(call: Call) -> dict[str, Any]:
    """Your live sessions, newest first; the calling one is marked current."""
    sessions, next_cursor = get_services().user_sessions.page(call.who.user_id, call.limit, call.cursor)
    current = call.who.credential_id
    return {"sessions": [session_view(s, current) for s in sessions], "next_cursor": next_cursor}


@api.route("/v1/user/sessions/{id}", methods=["DELETE"], auth=SESSION, status=204)
def delete_session(call: Call, id: str) -> None:
    """End one of your sessions: its token is refused from the next request on."""
    get_services().user_sessions.revoke(call.who, id, call.actor)


@api.route("/v1/user/logout", methods=["POST"], auth=SESSION, status=204)
def logout(call: Call) -> None:
    """End the calling session."""
    get_services().user_sessions.logout(call.who, call.actor)


@api.route("/v1/user/sessions/revoke-others", methods=["POST"], auth=SESSION)
def revoke_other_sessions(call: Call) -> dict[str, Any]:
    """End every one of your sessions but the calling one."""
    return {"revoked": get_services().user_sessions.revoke_others(call.who, call.actor)}
