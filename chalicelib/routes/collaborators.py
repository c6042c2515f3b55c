"""The organization's people: everyone who collaborates on the caller's applications, and
offboarding someone from all of them in one step."""

from __future__ import annotations

from typing import Any

from chalicelib.services import get_services
from chalicelib.services.views import person_view
from chalicelib.web import ANY, SESSION, Call, Routes

api = Routes(__name__)
bp = api.bp


@api.route("/v1/collaborators", methods=["GET"], auth=ANY, paged=True, errors=(403,))
def list_people(call: Call) -> dict[str, Any]:
    """Everyone who collaborates on an application you own, by username, with those applications."""
    people, next_cursor = get_services().applications.people(call.who, call.limit, call.cursor)
    return {"collaborators": [person_view(p) for p in people], "next_cursor": next_cursor}


@api.route("/v1/collaborators/{username}", methods=["DELETE"], auth=SESSION)
def offboard_collaborator(call: Call, username: str) -> dict[str, Any]:
    """Remove someone from every application you own."""
    return {"removed_from": get_services().applications.offboard(call.who, username, call.actor)}
