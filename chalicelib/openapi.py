"""The API reference: an OpenAPI 3.1 document of every route, served at GET /v1/openapi.json.

The operations, their credentials, request bodies, parameters and error statuses are generated
from the routes' own declarations (``web.DECLARATIONS``); this module adds only what cannot be
derived from them: the reply schemas, the texts, and the links between operations.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from chalicelib.web import DECLARATIONS, NONE, SESSION, Body, Declaration, Field

Schema = dict[str, Any]

TIMESTAMP: Schema = {"type": "string", "format": "date-time", "examples": ["2026-11-27T18:00:00Z"]}
NULLABLE_TIMESTAMP: Schema = {"type": ["string", "null"], "format": "date-time"}
ROLE: Schema = {"type": "string", "enum": ["owner", "developer", "operator", "observer"]}
DEVICE_TOKEN: Schema = {
    "type": "string",
    "description": "Send it with the next login from this browser or CLI: that login is then judged by this "
    "device's failures only. Absent while two-factor authentication is still owed.",
}
PERMISSION: Schema = {"type": "string", "enum": ["read", "write", "operate", "manage_collaborators", "delete"]}


def obj(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    """A closed object: every property listed, unknown ones refused."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Schema] = {
    "Error": obj({"Code": {"type": "string"}, "Message": {"type": "string"}}),
    "User": obj(
        {
            "id": {"type": "string"},
            "username": {"type": "string"},
            "email": {"type": "string"},
            "email_verified": {"type": "boolean"},
            "created_at": TIMESTAMP,
            "two_factor_enabled": {"type": "boolean"},
        }
    ),
    "Token": obj({"token": {"type": "string"}, "expires_at": TIMESTAMP}),
    "LoginReply": obj(
        {
            "token": {"type": "string"},
            "expires_at": TIMESTAMP,
            "two_factor_required": {"type": "boolean"},
            "device_token": DEVICE_TOKEN,
        },
        required=["token", "expires_at", "two_factor_required"],
    ),
    "SignupReply": obj(
        {"user": ref("User"), "token": {"type": "string"}, "expires_at": TIMESTAMP, "device_token": DEVICE_TOKEN}
    ),
    "Session": obj(
        {
            "id": {"type": "string"},
            "created_at": TIMESTAMP,
            "expires_at": TIMESTAMP,
            "authenticated_at": TIMESTAMP,
            "last_used_at": NULLABLE_TIMESTAMP,
            "address": {"type": ["string", "null"]},
            "user_agent": {"type": ["string", "null"]},
            "current": {"type": "boolean"},
        }
    ),
    "ApiKey": obj(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "prefix": {"type": "string"},
            "created_at": TIMESTAMP,
            "expires_at": NULLABLE_TIMESTAMP,
            "last_used_at": NULLABLE_TIMESTAMP,
            "scope": {
                "oneOf": [
                    obj(
                        {
                            "applications": {"type": ["array", "null"], "items": {"type": "string"}},
                            "permissions": {"type": ["array", "null"], "items": PERMISSION},
                        }
                    ),
                    {"type": "null"},
                ],
                "description": "What the key may reach: these applications only (null: all of the user's), "
                "with at most these permissions (null: the role's). Null: the user's full access.",
            },
        }
    ),
    "Application": obj(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "owner": {"type": "string"},
            "created_at": TIMESTAMP,
            "role": ROLE,
            "permissions": {"type": "array", "items": PERMISSION},
        }
    ),
    "Collaborator": obj({"username": {"type": "string"}, "role": ROLE, "added_at": TIMESTAMP}),
    "Person": obj(
        {
            "username": {"type": "string"},
            "applications": {
                "type": "array",
                "items": obj(
                    {"id": {"type": "string"}, "name": {"type": "string"}, "role": ROLE, "added_at": TIMESTAMP}
                ),
            },
        }
    ),
    "TwoFactorStatus": obj(
        {
            "enabled": {"type": "boolean"},
            "pending": {"type": "boolean"},
            "recovery_codes_remaining": {"type": "integer"},
        }
    ),
    "RecoveryCodes": {"type": "array", "items": {"type": "string"}, "minItems": 10, "maxItems": 10},
}
SCHEMAS["Event"] = obj(
    {
        "id": {"type": "string"},
        "type": {"type": "string", "examples": ["login", "api_key.created", "collaborator.added"]},
        "created_at": TIMESTAMP,
        "actor": {"type": ["string", "null"]},
        "via": {"enum": ["session", "api_key", "email", None]},
        "api_key_prefix": {"type": ["string", "null"]},
        "address": {"type": ["string", "null"]},
        "user_agent": {"type": ["string", "null"]},
        "details": {"type": "object"},
    }
)
SCHEMAS["Passkey"] = obj(
    {
        "id": {"type": "string", "description": "The credential id, base64url."},
        "name": {"type": "string"},
        "created_at": TIMESTAMP,
        "last_used_at": NULLABLE_TIMESTAMP,
        "transports": {"type": "array", "items": {"type": "string"}},
        "backed_up": {"type": "boolean"},
    }
)
SCHEMAS["PasskeyOptions"] = obj(
    {
        "challenge_id": {"type": "string"},
        "options": {
            "type": "object",
            "description": "PublicKeyCredentialCreationOptionsJSON (registration) or "
            "PublicKeyCredentialRequestOptionsJSON (login), binary values base64url.",
        },
    }
)
SCHEMAS["DeviceAuthorization"] = obj(
    {
        "device_code": {"type": "string", "description": "The client's secret: poll POST /v1/device/token with it."},
        "user_code": {"type": "string", "pattern": "^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$"},
        "verification_uri": {"type": "string"},
        "verification_uri_complete": {"type": "string"},
        "expires_in": {"type": "integer", "const": 600},
        "interval": {"type": "integer", "const": 5},
    }
)
SCHEMAS["DeviceRequest"] = obj(
    {
        "user_code": {"type": "string"},
        "client_name": {"type": "string"},
        "address": {"type": ["string", "null"]},
        "user_agent": {"type": ["string", "null"]},
        "requested_at": TIMESTAMP,
        "expires_at": TIMESTAMP,
    }
)
SCHEMAS["DeviceDecision"] = obj(SCHEMAS["DeviceRequest"]["properties"] | {"status": {"enum": ["approved", "denied"]}})
SCHEMAS["ApiKeyCreated"] = obj(SCHEMAS["ApiKey"]["properties"] | {"key": {"type": "string", "pattern": "^lk_"}})

_ERROR_TEXT = {
    400: "Invalid input; the message names the field.",
    401: "Credential missing, malformed, expired, revoked, or of the wrong kind for this route.",
    403: "Authenticated, but this credential, its scope or the role may not do this; or the route needs a "
    "recent authentication (ReauthenticationRequiredError).",
    404: "No such resource, or the caller may not know that it exists.",
    409: "A unique name is taken, or the resource is in the wrong state.",
    415: "The body is not JSON.",
    429: "Too many attempts; wait as Retry-After says.",
    503: "The database is throttling or unreachable; nothing was half-done. Try again after Retry-After.",
}


def error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _ERROR_TEXT[status],
        "content": {"application/json": {"schema": ref("Error")}},
    }
    if status in (429, 503):
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
    return response


def ok(schema: Schema | None, status: int = 200, description: str = "Success.") -> dict[str, Any]:
    if schema is None:
        return {str(status): {"description": description}}
    return {str(status): {"description": description, "content": {"application/json": {"schema": schema}}}}


def listing(name: str, item: str) -> Schema:
    return obj({name: {"type": "array", "items": ref(item)}, "next_cursor": {"type": ["string", "null"]}})


PAGE_PARAMETERS = [
    {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "The previous page's next_cursor; absent or empty for the first page.",
        "schema": {"type": "string", "maxLength": 2048},
    },
]


def path_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}


def field_schema(f: Field) -> Schema:
    """The JSON Schema of one declared field: the rules the parser enforces, no more, no less."""
    if isinstance(f.type, Body):
        schema = body_schema(f.type)
    else:
        schema = {"type": _JSON_TYPES[f.type]}
        if f.type is str and (f.min_length is not None or f.max_length is not None):
            schema |= {"minLength": f.min_length or 0} | _some(maxLength=f.max_length)
        if f.type is list:
            schema |= {"items": field_schema(f.item) if f.item else {}}
            schema |= _some(minItems=f.min_length, maxItems=f.max_length)
        schema |= _some(pattern=f.pattern, minimum=f.minimum, maximum=f.maximum)
        if f.enum is not None:
            schema["enum"] = list(f.enum)
        if f.date_time:
            schema |= {"format": "date-time", "examples": ["2026-11-27T18:00:00Z"]}
    if f.nullable:
        if "$ref" in schema or "oneOf" in schema or "enum" in schema:
            return {"oneOf": [schema, {"type": "null"}]}
        schema["type"] = [schema["type"], "null"]
    return schema


def body_schema(body: Body) -> Schema:
    """A closed object of the body's fields, with its one-of rules."""
    schema = obj({f.name: field_schema(f) for f in body.fields}, required=[f.name for f in body.fields if f.required])
    if body.exactly_one_of:
        schema["oneOf"] = [{"required": [name]} for name in body.exactly_one_of]  # one, not two
    if body.at_most_one_of:
        schema["not"] = {"required": list(body.at_most_one_of)}
    return schema


def _some(**values: Any) -> Schema:
    return {k: v for k, v in values.items() if v is not None}


_JSON_TYPES = {str: "string", int: "integer", bool: "boolean", list: "array", dict: "object"}


def operation(declaration: Declaration) -> dict[str, Any]:
    """The OpenAPI operation of a declared route."""
    d = declaration
    op: dict[str, Any] = {
        "summary": d.summary,
        "operationId": d.operation_id,
        "responses": dict(REPLIES[d.operation_id]),
    }
    errors = set(d.errors)
    if d.credential is NONE:
        op["security"] = []
    else:
        op["security"] = [{"bearer": []}]
        op["x-credential"] = d.credential.value
        errors |= {401} | ({403} if d.credential is SESSION else set())
        op["description"] = f"Credential: {d.credential.value}."
    if d.recent:
        op["x-recent-authentication"] = True
        op["description"] += " Needs a recent authentication (403 ReauthenticationRequiredError otherwise)."
        errors.add(403)
    parameters = [path_parameter(name) for name in re.findall(r"\{(\w+)\}", d.path)]
    if parameters:
        errors.add(404)
    if d.paged:
        parameters += PAGE_PARAMETERS
        errors.add(400)
    if parameters:
        op["parameters"] = parameters
    if d.body is not None:
        schema = body_schema(d.body)
        op["requestBody"] = {"required": d.body.required, "content": {"application/json": {"schema": schema}}}
        errors |= {400, 415}
    if d.credential is not NONE or d.body is not None:
        errors.add(503)  # every route that reads or writes the database
    for status in sorted(errors):
        op["responses"][str(status)] = error(status)
    return op


# The reply of each operation, by operationId: what the declarations cannot say.
REPLIES: dict[str, dict[str, Any]] = {
    "health": ok(obj({"status": {"type": "string", "const": "ok"}})),
    "openapi": ok({"type": "object"}),
    "signup": ok(ref("SignupReply"), 201, "The user and a session token."),
    "login": ok(ref("LoginReply"), description="A session token, or a pending one when two-factor is on."),
    "login_totp": ok(ref("LoginReply")),
    "get_user": ok(ref("User")),
    "refresh_token": ok(ref("Token")),
    "reauthenticate": ok(obj({"authenticated_at": TIMESTAMP}), description="The session's new authentication time."),
    "list_sessions": ok(listing("sessions", "Session"), description="Newest first."),
    "delete_session": ok(None, 204, "Ended: its token is refused from the next request on."),
    "logout": ok(None, 204, "The calling session ended."),
    "revoke_other_sessions": ok(obj({"revoked": {"type": "integer", "minimum": 0}})),
    "create_api_key": ok(ref("ApiKeyCreated"), 201, "The key: shown this once."),
    "list_api_keys": ok(listing("api_keys", "ApiKey"), description="Oldest first."),
    "rotate_api_key": ok(ref("ApiKeyCreated"), 201, "The new key: shown this once. The old one ends after the grace."),
    "delete_api_key": ok(None, 204, "Revoked."),
    "batch_delete_api_keys": ok(
        obj(
            {
                "deleted": {"type": "array", "items": {"type": "string"}},
                "not_found": {"type": "array", "items": {"type": "string"}},
            }
        )
    ),
    "two_factor_status": ok(ref("TwoFactorStatus")),
    "two_factor_setup": ok(
        obj({"secret": {"type": "string"}, "otpauth_uri": {"type": "string"}, "qr_svg": {"type": "string"}})
    ),
    "two_factor_enable": ok(
        obj({"enabled": {"type": "boolean", "const": True}, "recovery_codes": ref("RecoveryCodes")})
    ),
    "two_factor_disable": ok(obj({"enabled": {"type": "boolean", "const": False}})),
    "two_factor_recovery_codes": ok(obj({"recovery_codes": ref("RecoveryCodes")})),
    "passkey_registration_options": ok(ref("PasskeyOptions")),
    "create_passkey": ok(ref("Passkey"), 201, "Registered."),
    "list_passkeys": ok(listing("passkeys", "Passkey"), description="Oldest first."),
    "rename_passkey": ok(ref("Passkey")),
    "delete_passkey": ok(None, 204, "Deleted: it signs in no more."),
    "passkey_login_options": ok(ref("PasskeyOptions")),
    "passkey_login": ok(ref("LoginReply"), description="A full session token and a device token."),
    "device_code": ok(ref("DeviceAuthorization"), description="RFC 8628 section 3.2's device authorization response."),
    "device_token": ok(
        ref("LoginReply"),
        description="Approved: a full session token and a device token, once. Until then a 400 whose Code is "
        "RFC 8628's error: authorization_pending, slow_down (the interval grew by 5 s), access_denied, "
        "expired_token, or invalid_grant (unknown or used device code).",
    ),
    "device_lookup": ok(ref("DeviceRequest")),
    "device_approve": ok(ref("DeviceDecision")),
    "device_deny": ok(ref("DeviceDecision")),
    "create_application": ok(ref("Application"), 201),
    "list_applications": ok(listing("applications", "Application"), description="Owned and shared alike."),
    "get_application": ok(ref("Application")),
    "update_application": ok(ref("Application")),
    "delete_application": ok(None, 204, "Deleted."),
    "list_collaborators": ok(listing("collaborators", "Collaborator"), description="The owner is not listed."),
    "put_collaborator": ok(ref("Collaborator"), 201, "Added.") | ok(ref("Collaborator"), 200, "Already one."),
    "remove_collaborator": ok(None, 204, "Removed."),
    "transfer_application": ok(ref("Application"), description="The application as you now see it (a developer)."),
    "list_people": ok(listing("collaborators", "Person"), description="By username."),
    "offboard_collaborator": ok(obj({"removed_from": {"type": "array", "items": {"type": "string"}}})),
    "list_user_events": ok(listing("events", "Event"), description="Newest first."),
    "list_application_events": ok(listing("events", "Event"), description="Newest first."),
    "verify_email": ok(
        obj({"email": {"type": "string"}, "email_verified": {"type": "boolean", "const": True}}),
        description="The address, now verified (for an address change: the new one, now in force).",
    ),
    "resend_verification": ok(obj({}), 202, "A new verification link is on its way; earlier ones stop working."),
    "change_email": ok(
        obj({"pending_email": {"type": "string"}}), 202, "A link went to the new address; the old one stays until then."
    ),
    "change_password": ok(obj({"other_sessions_ended": {"type": "integer", "minimum": 0}})),
    "request_password_reset": ok(obj({}), 202, "The same reply whether or not an account has the address."),
    "confirm_password_reset": ok(None, 204, "The password is changed; every session and device token ended."),
    "delete_account": ok(None, 204, "The account and everything of it are gone."),
}


def _bearer_from(pointer: str) -> dict[str, str]:
    return {"header.Authorization": f"Bearer {{$response.body#{pointer}}}"}


# OpenAPI links: how one response feeds the next request. They tell a reader (and schemathesis's
# stateful phase) that signup's token is the bearer of later calls, and that a created resource's
# id fills the {id} of the routes that read, change and delete it. (No link feeds batch-delete:
# schemathesis counts only DELETE as a deletion, so a key removed by batch-delete and then asked
# for by its DELETE link would look to it like a created resource gone missing.)
_SAME_APP = {"path.id": "$request.path.id"}
_APP_ID = {"path.id": "$response.body#/id"}
LINKS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("/v1/signup", "post", "201"): {
        "LogIn": {
            "operationId": "login",
            "requestBody": {"username": "$request.body#/username", "password": "$request.body#/password"},
        },
        "GetUser": {"operationId": "get_user", "parameters": _bearer_from("/token")},
        "RefreshToken": {"operationId": "refresh_token", "parameters": _bearer_from("/token")},
    },
    ("/v1/login", "post", "200"): {
        "GetUser": {"operationId": "get_user", "parameters": _bearer_from("/token")},
        "LogInWithCode": {"operationId": "login_totp", "parameters": _bearer_from("/token")},
    },
    ("/v1/user/refresh-token", "post", "200"): {
        "GetUser": {"operationId": "get_user", "parameters": _bearer_from("/token")},
    },
    ("/v1/user/api-keys", "post", "201"): {
        "DeleteApiKey": {"operationId": "delete_api_key", "parameters": _APP_ID},
        "RotateApiKey": {"operationId": "rotate_api_key", "parameters": _APP_ID},
        "GetUserByApiKey": {"operationId": "get_user", "parameters": _bearer_from("/key")},
    },
    ("/v1/applications", "post", "201"): {
        "GetApplication": {"operationId": "get_application", "parameters": _APP_ID},
        "UpdateApplication": {"operationId": "update_application", "parameters": _APP_ID},
        "DeleteApplication": {"operationId": "delete_application", "parameters": _APP_ID},
        "ListCollaborators": {"operationId": "list_collaborators", "parameters": _APP_ID},
        "PutCollaborator": {"operationId": "put_collaborator", "parameters": _APP_ID},
    },
    ("/v1/applications/{id}", "patch", "200"): {
        "GetApplication": {"operationId": "get_application", "parameters": _APP_ID},
        "DeleteApplication": {"operationId": "delete_application", "parameters": _APP_ID},
    },
    **{
        ("/v1/applications/{id}/collaborators/{username}", "put", status): {
            "RemoveCollaborator": {
                "operationId": "remove_collaborator",
                "parameters": _SAME_APP | {"path.username": "$response.body#/username"},
            },
            "ListCollaborators": {"operationId": "list_collaborators", "parameters": _SAME_APP},
        }
        for status in ("200", "201")
    },
}


def paths() -> dict[str, dict[str, Any]]:
    """Every declared operation, and the dashboard's page, with their links.

    It reads the declarations and imports no route: ``import chalicelib.routes`` (as app.py does)
    declares them first, so the route that serves this document does not import its own reader.
    """
    if not DECLARATIONS:
        raise RuntimeError("no route is declared yet: import chalicelib.routes (or app) first")
    items: dict[str, dict[str, Any]] = {
        "/": {
            "get": {
                "summary": "dashboard",
                "operationId": "dashboard",
                "security": [],
                "responses": {"200": {"description": "The dashboard page.", "content": {"text/html": {}}}},
            },
        },
    }
    for (path, method), declaration in sorted(DECLARATIONS.items()):
        items.setdefault(path, {})[method] = operation(declaration)
    for (path, method, status), links in LINKS.items():
        items[path][method]["responses"][status]["links"] = links
    return items


@functools.cache
def document() -> dict[str, Any]:
    """The whole reference, built once."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Latchkey",
            "version": "1",
            "description": "Accounts, session tokens, API keys, TOTP two-factor and shared applications.",
        },
        "servers": [{"url": "/"}],
        "paths": paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A session token or an API key; each operation's x-credential says which.",
                }
            },
        },
    }
