"""Applications and their collaborators, by session token or API key (transfer: session token only)."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from chalicelib.rules import COLLABORATOR_ROLES, DESCRIPTION_MAX, KEEP
from chalicelib.services import get_services
from chalicelib.services.views import application_view, collaborator_view
from chalicelib.web import ANY, SESSION, Body, Call, Field, Routes, reply

api = Routes(__name__)
bp = api.bp

NAME_RULE = "1-64 characters of letters, digits, '-' and '_'"
DESCRIPTION = Field("description", required=False, nullable=True, max_length=DESCRIPTION_MAX)


def _name(required: bool) -> Field:
    return Field("name", required=required, min_length=1, max_length=64, pattern="^[A-Za-z0-9_-]+$", rule=NAME_RULE)


CREATE = Body(_name(True), DESCRIPTION)
UPDATE = Body(_name(False), DESCRIPTION)
ROLE = Body(Field("role", enum=COLLABORATOR_ROLES))
TRANSFER = Body(Field("username", min_length=1, max_length=254))


@api.route("/v1/applications", methods=["POST"], auth=ANY, body=CREATE, status=201, errors=(403, 409))
def create_application(call: Call) -> dict[str, Any]:
    """Create an application, owned by the caller."""
    access = get_services().applications.create(call.who, call.body["name"], call.body.get("description"), call.actor)
    return application_view(access)


@api.route("/v1/applications", methods=["GET"], auth=ANY, paged=True)
def list_applications(call: Call) -> dict[str, Any]:
    """The applications the caller owns or collaborates on, each with the caller's role."""
    page, next_cursor = get_services().applications.visible_to(call.who, call.limit, call.cursor)
    return {"applications": [application_view(a) for a in page], "next_cursor": next_cursor}


@api.route("/v1/applications/{id}", methods=["GET"], auth=ANY, errors=(403,))
def get_application(call: Call, id: str) -> dict[str, Any]:
    """One application (read)."""
    return application_view(get_services().applications.get(call.who, id))


@api.route("/v1/applications/{id}", methods=["PATCH"], auth=ANY, body=UPDATE, errors=(403, 409))
def update_application(call: Call, id: str) -> dict[str, Any]:
    """Rename an application or change its description (write)."""
    body = call.body
    access = get_services().applications.update(
        call.who, id, body.get("name"), body.get("description", KEEP), call.actor
    )
    return application_view(access)


@api.route("/v1/applications/{id}", methods=["DELETE"], auth=ANY, status=204, errors=(403,))
def delete_application(call: Call, id: str) -> None:
    """Delete an application; its collaborators lose access with it (delete)."""
    get_services().applications.delete(call.who, id)


@api.route("/v1/applications/{id}/collaborators", methods=["GET"], auth=ANY, paged=True, errors=(403,))
def list_collaborators(call: Call, id: str) -> dict[str, Any]:
    """An application's collaborators; the owner is not listed (read)."""
    page, next_cursor = get_services().applications.collaborators(call.who, id, call.limit, call.cursor)
    return {"collaborators": [collaborator_view(g) for g in page], "next_cursor": next_cursor}


@api.route("/v1/applications/{id}/collaborators/{username}", methods=["PUT"], auth=ANY, body=ROLE, errors=(403,))
def put_collaborator(call: Call, id: str, username: str) -> Response:
    """Add a collaborator (201), or change their role (200) (manage_collaborators)."""
    grant, added = get_services().applications.put_collaborator(call.who, id, username, call.body["role"], call.actor)
    return reply(collaborator_view(grant), status=201 if added else 200)


@api.route("/v1/applications/{id}/collaborators/{username}", methods=["DELETE"], auth=ANY, errors=(400, 403))
def remove_collaborator(call: Call, id: str, username: str) -> None:
    """Remove a collaborator (manage_collaborators), or leave an application shared with you."""
    get_services().applications.remove_collaborator(call.who, id, username, call.actor)


@api.route("/v1/applications/{id}/transfer", methods=["POST"], auth=SESSION, body=TRANSFER, recent=True, errors=(409,))
def transfer_application(call: Call, id: str) -> dict[str, Any]:
    """Make a collaborator the owner; you stay on as a developer (owner only)."""
    return application_view(get_services().applications.transfer(call.who, id, call.body["username"], call.actor))
