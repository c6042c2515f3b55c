"""The current user's API keys: create (the only reply that holds the key), list, revoke."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from chalice.app import Response

from chalicelib.errors import invalid_field
from chalicelib.services import get_services
from chalicelib.services.api_keys import BATCH_DELETE_MAX, DESCRIPTION_MAX, NAME_MAX
from chalicelib.store.api_keys import ApiKey
from chalicelib.web import (
    Field,
    no_content,
    page_params,
    parse_body,
    parse_timestamp,
    reply,
    require_session,
    require_user,
    timestamp,
)

bp = Blueprint(__name__)

CREATE = (
    Field("name", max_length=NAME_MAX),
    Field("description", required=False, nullable=True, max_length=DESCRIPTION_MAX),
    Field("expires_at", required=False, nullable=True, max_length=64),
)
BATCH_DELETE = (Field("ids", list, max_length=BATCH_DELETE_MAX),)


def api_key_view(key: ApiKey) -> dict[str, Any]:
    """The contract's ApiKey: never the key or its hash."""
    return {
        "id": key.key_id,
        "name": key.name,
        "description": key.description,
        "prefix": key.prefix,
        "created_at": timestamp(key.created_at),
        "expires_at": timestamp(key.expires_at),
        "last_used_at": timestamp(key.last_used_at),
    }


@bp.route("/v1/user/api-keys", methods=["POST"])
def create_api_key() -> Response:
    who = require_session(bp.current_request)
    body = parse_body(bp.current_request, CREATE)
    expires_at = body.get("expires_at")
    created = get_services().api_keys.create(
        who.user_id,
        body["name"],
        body.get("description"),
        parse_timestamp(expires_at, "expires_at") if expires_at is not None else None,
    )
    return reply(api_key_view(created.record) | {"key": created.key}, status=201)


@bp.route("/v1/user/api-keys", methods=["GET"])
def list_api_keys() -> dict[str, Any]:
    who = require_user(bp.current_request)
    limit, cursor = page_params(bp.current_request)
    keys, next_cursor = get_services().api_keys.list_page(who.user_id, limit, cursor)
    return {"api_keys": [api_key_view(k) for k in keys], "next_cursor": next_cursor}


@bp.route("/v1/user/api-keys/{id}", methods=["DELETE"])
def delete_api_key(id: str) -> Response:
    who = require_session(bp.current_request)
    get_services().api_keys.delete(who.user_id, id)
    return no_content()


@bp.route("/v1/user/api-keys/batch-delete", methods=["POST"])
def batch_delete_api_keys() -> dict[str, Any]:
    who = require_session(bp.current_request)
    ids = parse_body(bp.current_request, BATCH_DELETE)["ids"]
    if not ids:
        raise invalid_field("ids", f"1-{BATCH_DELETE_MAX} ids")
    if not all(isinstance(i, str) for i in ids):
        raise invalid_field("ids", "must be a list of strings")
    result = get_services().api_keys.delete_many(who.user_id, ids)
    return {"deleted": result.deleted, "not_found": result.not_found}
