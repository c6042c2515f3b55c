"""The security log of the current user and the audit log of an application."""

from __future__ import annotations

from typing import Any

from chalicelib.services import get_services
from chalicelib.services.views import event_view
from chalicelib.web import ANY, Call, Routes

api = Routes(__name__)
bp = api.bp


@api.route("/v1/user/events", methods=["GET"], auth=ANY, paged=True)
def list_user_events(call: Call) -> dict[str, Any]:
    """What happened to the caller's account, newest first."""
    events, next_cursor = get_services().events.user_page(call.who.user_id, call.limit, call.cursor)
    return {"events": [event_view(e) for e in events], "next_cursor": next_cursor}


@api.route("/v1/applications/{id}/events", methods=["GET"], auth=ANY, paged=True, errors=(403,))
def list_application_events(call: Call, id: str) -> dict[str, Any]:
    """Who changed the application and its access, newest first (manage_collaborators)."""
    get_services().applications.require(call.who, id, "manage_collaborators")
    events, next_cursor = get_services().events.app_page(id, call.limit, call.cursor)
    return {"events": [event_view(e) for e in events], "next_cursor": next_cursor}
