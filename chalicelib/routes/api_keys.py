"""The current user's API keys: create and rotate (the only replies that hold a key), list, revoke."""

from __future__ import annotations

from typing import Any

from chalicelib.rules import (
    ALL_PERMISSIONS,
    API_KEY_NAME_MAX,
    BATCH_DELETE_MAX,
    DESCRIPTION_MAX,
    GRACE_MAX,
    SCOPE_APPLICATIONS_MAX,
)
from chalicelib.services import get_services
from chalicelib.services.views import api_key_view
from chalicelib.web import ANY, SESSION, Body, Call, Field, Routes

api = Routes(__name__)
bp = api.bp

SCOPE = Body(
    Field(
        "applications",
        list,
        required=False,
        nullable=True,
        min_length=1,
        max_length=SCOPE_APPLICATIONS_MAX,
        item=Field("applications", min_length=1, max_length=64),
        rule=f"1-{SCOPE_APPLICATIONS_MAX} application ids",
    ),
    Field(
        "permissions",
        list,
        required=False,
        nullable=True,
        min_length=1,
        max_length=len(ALL_PERMISSIONS),
        item=Field("permissions", enum=ALL_PERMISSIONS),
        rule="a non-empty list of " + ", ".join(ALL_PERMISSIONS),
    ),
)
CREATE = Body(
    Field("name", min_length=1, max_length=API_KEY_NAME_MAX),
    Field("description", required=False, nullable=True, max_length=DESCRIPTION_MAX),
    Field("expires_at", required=False, nullable=True, max_length=64, date_time=True),
    Field("scope", SCOPE, required=False, nullable=True),
)
ROTATE = Body(Field("grace_seconds", int, required=False, minimum=0, maximum=GRACE_MAX))
BATCH_DELETE = Body(
    Field("ids", list, min_length=1, max_length=BATCH_DELETE_MAX, item=Field("ids"), rule=f"1-{BATCH_DELETE_MAX} ids"),
)


@api.route("/v1/user/api-keys", methods=["POST"], auth=SESSION, body=CREATE, recent=True, status=201)
def create_api_key(call: Call) -> dict[str, Any]:
    """Create a key: the reply is the only time it is shown."""
    body = call.body
    created = get_services().api_keys.create(
        call.who.user, body["name"], body.get("description"), body.get("expires_at"), body.get("scope"), call.actor
    )
    return api_key_view(created.record) | {"key": created.key}


@api.route("/v1/user/api-keys/{id}/rotate", methods=["POST"], auth=SESSION, body=ROTATE, recent=True, status=201)
def rotate_api_key(call: Call, id: str) -> dict[str, Any]:
    """Replace a key by a new one; the old one works on for grace_seconds (default 0)."""
    created, _ = get_services().api_keys.rotate(call.who.user, id, call.body.get("grace_seconds", 0), call.actor)
    return api_key_view(created.record) | {"key": created.key}


@api.route("/v1/user/api-keys", methods=["GET"], auth=ANY, paged=True)
def list_api_keys(call: Call) -> dict[str, Any]:
    """The user's keys, oldest first; never the key or its hash."""
    keys, next_cursor = get_services().api_keys.list_page(call.who.user_id, call.limit, call.cursor)
    return {"api_keys": [api_key_view(k) for k in keys], "next_cursor": next_cursor}


@api.route("/v1/user/api-keys/{id}", methods=["DELETE"], auth=SESSION, status=204)
def delete_api_key(call: Call, id: str) -> None:
    """Revoke a key: the very next request with it is refused."""
    get_services().api_keys.delete(call.who.user, id, call.actor)


@api.route("/v1/user/api-keys/batch-delete", methods=["POST"], auth=SESSION, body=BATCH_DELETE)
def batch_delete_api_keys(call: Call) -> dict[str, Any]:
    """Revoke up to 100 keys at once; unknown ids and other users' come back in not_found."""
    result = get_services().api_keys.delete_many(call.who.user, call.body["ids"], call.actor)
    return {"deleted": result.deleted, "not_found": result.not_found}
