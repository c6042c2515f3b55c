"""Applications and their collaborators, by session token or API key."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from chalice.app import Response

from chalicelib.services import get_services
from chalicelib.services.applications import DESCRIPTION_MAX, KEEP, Access
from chalicelib.store.grants import Grant
from chalicelib.web import Field, no_content, page_params, parse_body, reply, require_user, timestamp

bp = Blueprint(__name__)

NAME_MAX = 64
CREATE = (
    Field("name", max_length=NAME_MAX),
    Field("description", required=False, nullable=True, max_length=DESCRIPTION_MAX),
)
UPDATE = (
    Field("name", required=False, max_length=NAME_MAX),
    Field("description", required=False, nullable=True, max_length=DESCRIPTION_MAX),
)
PUT_COLLABORATOR = (Field("role", max_length=32),)


def application_view(access: Access) -> dict[str, Any]:
    app = access.app
    return {
        "id": app.app_id,
        "name": app.name,
        "description": app.description,
        "owner": app.owner_username,
        "created_at": timestamp(app.created_at),
        "role": access.role,
        "permissions": list(access.permissions),
    }


def collaborator_view(grant: Grant) -> dict[str, Any]:
    return {"username": grant.username, "role": grant.role, "added_at": timestamp(grant.added_at)}


@bp.route("/v1/applications", methods=["POST"])
def create_application() -> Response:
    who = require_user(bp.current_request)
    body = parse_body(bp.current_request, CREATE)
    access = get_services().applications.create(who.user, body["name"], body.get("description"))
    return reply(application_view(access), status=201)


@bp.route("/v1/applications", methods=["GET"])
def list_applications() -> dict[str, Any]:
    who = require_user(bp.current_request)
    limit, cursor = page_params(bp.current_request)
    page, next_cursor = get_services().applications.visible_to(who.user, limit, cursor)
    return {"applications": [application_view(a) for a in page], "next_cursor": next_cursor}


@bp.route("/v1/applications/{id}", methods=["GET"])
def get_application(id: str) -> dict[str, Any]:
    who = require_user(bp.current_request)
    return application_view(get_services().applications.get(who.user, id))


@bp.route("/v1/applications/{id}", methods=["PATCH"])
def update_application(id: str) -> dict[str, Any]:
    who = require_user(bp.current_request)
    body = parse_body(bp.current_request, UPDATE)
    access = get_services().applications.update(who.user, id, body.get("name"), body.get("description", KEEP))
    return application_view(access)


@bp.route("/v1/applications/{id}", methods=["DELETE"])
def delete_application(id: str) -> Response:
    who = require_user(bp.current_request)
    get_services().applications.delete(who.user, id)
    return no_content()


@bp.route("/v1/applications/{id}/collaborators", methods=["GET"])
def list_collaborators(id: str) -> dict[str, Any]:
    who = require_user(bp.current_request)
    limit, cursor = page_params(bp.current_request)
    page, next_cursor = get_services().applications.collaborators(who.user, id, limit, cursor)
    return {"collaborators": [collaborator_view(g) for g in page], "next_cursor": next_cursor}


@bp.route("/v1/applications/{id}/collaborators/{username}", methods=["PUT"])
def put_collaborator(id: str, username: str) -> Response:
    who = require_user(bp.current_request)
    body = parse_body(bp.current_request, PUT_COLLABORATOR)
    grant, added = get_services().applications.put_collaborator(who.user, id, username, body["role"])
    return reply(collaborator_view(grant), status=201 if added else 200)


@bp.route("/v1/applications/{id}/collaborators/{username}", methods=["DELETE"])
def remove_collaborator(id: str, username: str) -> Response:
    who = require_user(bp.current_request)
    get_services().applications.remove_collaborator(who.user, id, username)
    return no_content()
