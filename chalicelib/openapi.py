"""The API reference: an OpenAPI 3.1 document of every route, served at GET /v1/openapi.json.

It is written as data with a few helpers for what repeats (errors, lists, bodies). Tests check
that its paths and methods equal the app's routes, both ways.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

TIMESTAMP: Schema = {"type": "string", "format": "date-time", "examples": ["2026-11-27T18:00:00Z"]}
NULLABLE_TIMESTAMP: Schema = {"type": ["string", "null"], "format": "date-time"}
ROLE: Schema = {"type": "string", "enum": ["owner", "developer", "operator", "observer"]}
PERMISSION: Schema = {"type": "string", "enum": ["read", "write", "operate", "manage_collaborators", "delete"]}
TOTP_CODE: Schema = {"type": "string", "minLength": 1, "maxLength": 16, "examples": ["123456"]}
RECOVERY_CODE: Schema = {"type": "string", "minLength": 1, "maxLength": 64}


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


def string(min_length: int = 0, max_length: int | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "string", "minLength": min_length} | extra
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


SCHEMAS: dict[str, Schema] = {
    "Error": obj({"Code": {"type": "string"}, "Message": {"type": "string"}}),
    "User": obj(
        {
            "id": {"type": "string"},
            "username": {"type": "string"},
            "email": {"type": "string"},
            "created_at": TIMESTAMP,
            "two_factor_enabled": {"type": "boolean"},
        }
    ),
    "Token": obj({"token": {"type": "string"}, "expires_at": TIMESTAMP}),
    "LoginReply": obj(
        {"token": {"type": "string"}, "expires_at": TIMESTAMP, "two_factor_required": {"type": "boolean"}}
    ),
    "SignupReply": obj({"user": ref("User"), "token": {"type": "string"}, "expires_at": TIMESTAMP}),
    "ApiKey": obj(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "prefix": {"type": "string"},
            "created_at": TIMESTAMP,
            "expires_at": NULLABLE_TIMESTAMP,
            "last_used_at": NULLABLE_TIMESTAMP,
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
    "TwoFactorStatus": obj(
        {
            "enabled": {"type": "boolean"},
            "pending": {"type": "boolean"},
            "recovery_codes_remaining": {"type": "integer"},
        }
    ),
    "RecoveryCodes": {"type": "array", "items": {"type": "string"}, "minItems": 10, "maxItems": 10},
}
SCHEMAS["ApiKeyCreated"] = obj(SCHEMAS["ApiKey"]["properties"] | {"key": {"type": "string", "pattern": "^lk_"}})

_ERROR_TEXT = {
    400: "Invalid input; the message names the field.",
    401: "Credential missing, malformed, expired, revoked, or of the wrong kind for this route.",
    403: "Authenticated, but this credential or role may not do this.",
    404: "No such resource, or the caller may not know that it exists.",
    409: "A unique name is taken, or the resource is in the wrong state.",
    415: "The body is not JSON.",
    429: "Too many attempts; wait as Retry-After says.",
}


def error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _ERROR_TEXT[status],
        "content": {"application/json": {"schema": ref("Error")}},
    }
    if status == 429:
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
    return response


def ok(schema: Schema | None, status: int = 200, description: str = "Success.") -> dict[str, Any]:
    if schema is None:
        return {str(status): {"description": description}}
    return {str(status): {"description": description, "content": {"application/json": {"schema": schema}}}}


def body(schema: Schema) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def listing(name: str, item: str) -> Schema:
    return obj({name: {"type": "array", "items": ref(item)}, "next_cursor": {"type": ["string", "null"]}})


PAGE_PARAMETERS = [
    {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string", "minLength": 1}},
]


def path_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}


def operation(
    summary: str,
    responses: dict[str, Any],
    errors: tuple[int, ...],
    auth: str | None = "session or API key",
    request: Schema | None = None,
    parameters: list[dict[str, Any]] | None = None,
    operation_id: str | None = None,
) -> dict[str, Any]:
    """One operation. ``auth`` says which credential it takes (None: none)."""
    op: dict[str, Any] = {"summary": summary, "operationId": operation_id or summary, "responses": dict(responses)}
    if auth:
        op["security"] = [{"bearer": []}]
        op["description"] = f"Credential: {auth}."
    else:
        op["security"] = []
    if request is not None:
        op["requestBody"] = body(request)
        errors = (*errors, 415)
    if parameters:
        op["parameters"] = parameters
    for status in sorted(set(errors)):
        op["responses"][str(status)] = error(status)
    return op


USERNAME = string(3, 32, pattern="^[A-Za-z][A-Za-z0-9_]*$")
PASSWORD = string(10, 128)
APP_NAME = string(1, 64, pattern="^[A-Za-z0-9_-]+$")
DESCRIPTION = {"type": "string", "maxLength": 256}
SESSION = "session token"
ANY = "session token or API key"
CODE = obj({"code": TOTP_CODE})
CODE_OR_RECOVERY = {
    "oneOf": [obj({"code": TOTP_CODE}), obj({"recovery_code": RECOVERY_CODE})],
}
APP_ID = [path_parameter("id")]
COLLABORATOR = [path_parameter("id"), path_parameter("username")]

PATHS: dict[str, dict[str, Any]] = {
    "/": {
        "get": {
            "summary": "dashboard",
            "operationId": "dashboard",
            "security": [],
            "responses": {"200": {"description": "The dashboard page.", "content": {"text/html": {}}}},
        },
    },
    "/v1/health": {
        "get": operation("health", ok(obj({"status": {"type": "string", "const": "ok"}})), (), auth=None),
    },
    "/v1/openapi.json": {
        "get": operation("openapi", ok({"type": "object"}), (), auth=None, operation_id="openapi"),
    },
    "/v1/signup": {
        "post": operation(
            "signup",
            ok(ref("SignupReply"), 201, "The user and a session token."),
            (400, 409),
            auth=None,
            request=obj({"username": USERNAME, "email": string(3, 254, pattern="^[^@]+@[^@]+$"), "password": PASSWORD}),
        ),
    },
    "/v1/login": {
        "post": operation(
            "login",
            ok(ref("LoginReply"), description="A session token, or a pending one when two-factor is on."),
            (400, 401, 429),
            auth=None,
            request=obj({"username": string(1, 254), "password": string(1, 128)}),
        ),
    },
    "/v1/login/totp": {
        "post": operation(
            "login_totp",
            ok(ref("LoginReply")),
            (400, 401, 429),
            auth="pending login token",
            request=CODE_OR_RECOVERY,
        ),
    },
    "/v1/user": {"get": operation("get_user", ok(ref("User")), (401,), auth=ANY)},
    "/v1/user/refresh-token": {
        "post": operation("refresh_token", ok(ref("Token")), (401, 403), auth=SESSION),
    },
    "/v1/user/api-keys": {
        "post": operation(
            "create_api_key",
            ok(ref("ApiKeyCreated"), 201, "The key: shown this once."),
            (400, 401, 403),
            auth=SESSION,
            request=obj(
                {
                    "name": string(1, 64),
                    "description": {"type": ["string", "null"], "maxLength": 256},
                    "expires_at": NULLABLE_TIMESTAMP,
                },
                required=["name"],
            ),
        ),
        "get": operation(
            "list_api_keys",
            ok(listing("api_keys", "ApiKey"), description="Oldest first."),
            (400, 401),
            auth=ANY,
            parameters=PAGE_PARAMETERS,
        ),
    },
    "/v1/user/api-keys/{id}": {
        "delete": operation(
            "delete_api_key", ok(None, 204, "Revoked."), (401, 403, 404), auth=SESSION, parameters=APP_ID
        ),
    },
    "/v1/user/api-keys/batch-delete": {
        "post": operation(
            "batch_delete_api_keys",
            ok(
                obj(
                    {
                        "deleted": {"type": "array", "items": {"type": "string"}},
                        "not_found": {"type": "array", "items": {"type": "string"}},
                    }
                )
            ),
            (400, 401, 403),
            auth=SESSION,
            request=obj({"ids": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 100}}),
        ),
    },
    "/v1/user/2fa": {"get": operation("two_factor_status", ok(ref("TwoFactorStatus")), (401, 403), auth=SESSION)},
    "/v1/user/2fa/setup": {
        "post": operation(
            "two_factor_setup",
            ok(obj({"secret": {"type": "string"}, "otpauth_uri": {"type": "string"}, "qr_svg": {"type": "string"}})),
            (401, 403, 409),
            auth=SESSION,
        ),
    },
    "/v1/user/2fa/enable": {
        "post": operation(
            "two_factor_enable",
            ok(obj({"enabled": {"type": "boolean", "const": True}, "recovery_codes": ref("RecoveryCodes")})),
            (400, 401, 403, 409),
            auth=SESSION,
            request=CODE,
        ),
    },
    "/v1/user/2fa/disable": {
        "post": operation(
            "two_factor_disable",
            ok(obj({"enabled": {"type": "boolean", "const": False}})),
            (400, 401, 403, 409),
            auth=SESSION,
            request=CODE_OR_RECOVERY,
        ),
    },
    "/v1/user/2fa/recovery-codes": {
        "post": operation(
            "two_factor_recovery_codes",
            ok(obj({"recovery_codes": ref("RecoveryCodes")})),
            (400, 401, 403, 409),
            auth=SESSION,
            request=CODE,
        ),
    },
    "/v1/applications": {
        "post": operation(
            "create_application",
            ok(ref("Application"), 201),
            (400, 401, 409),
            request=obj(
                {"name": APP_NAME, "description": {"type": ["string", "null"], "maxLength": 256}}, required=["name"]
            ),
        ),
        "get": operation(
            "list_applications",
            ok(listing("applications", "Application"), description="Owned and shared alike."),
            (400, 401),
            parameters=PAGE_PARAMETERS,
        ),
    },
    "/v1/applications/{id}": {
        "get": operation("get_application", ok(ref("Application")), (401, 404), parameters=APP_ID),
        "patch": operation(
            "update_application",
            ok(ref("Application")),
            (400, 401, 403, 404, 409),
            request=obj({"name": APP_NAME, "description": {"type": ["string", "null"], "maxLength": 256}}, required=[]),
            parameters=APP_ID,
        ),
        "delete": operation("delete_application", ok(None, 204, "Deleted."), (401, 403, 404), parameters=APP_ID),
    },
    "/v1/applications/{id}/collaborators": {
        "get": operation(
            "list_collaborators",
            ok(listing("collaborators", "Collaborator"), description="The owner is not listed."),
            (400, 401, 404),
            parameters=APP_ID + PAGE_PARAMETERS,
        ),
    },
    "/v1/applications/{id}/collaborators/{username}": {
        "put": operation(
            "put_collaborator",
            ok(ref("Collaborator"), 201, "Added.") | ok(ref("Collaborator"), 200, "Already a collaborator."),
            (400, 401, 403, 404),
            request=obj({"role": {"type": "string", "enum": ["developer", "operator", "observer"]}}),
            parameters=COLLABORATOR,
        ),
        "delete": operation(
            "remove_collaborator", ok(None, 204, "Removed."), (400, 401, 403, 404), parameters=COLLABORATOR
        ),
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Latchkey",
        "version": "1",
        "description": "Accounts, session tokens, API keys, TOTP two-factor and shared applications.",
    },
    "servers": [{"url": "/"}],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "Session token or API key."}},
    },
}
