"""Forged credentials against every authenticated route.

The routes come from the app itself, and what each one takes (session token, pending login token,
or either credential) from its entry in the API reference, so a new route joins the matrix without
anyone editing this file. Each row of the matrix is one kind of forgery, tried against every route:
the route must answer 401 UnauthorizedError (or, for an API key on a route that refuses keys, 403;
for another user's ids, 404). A control row shows that the same requests with a real credential
get past authentication, so each 401 is the forgery's doing.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest

from app import app
from chalicelib.config import Settings
from chalicelib.openapi import document
from chalicelib.security.tokens import PENDING
from chalicelib.services import Services
from chalicelib.store.secrets import load_signing_key
from tests.conftest import Api, FakeClock, Reply

pytestmark = pytest.mark.filterwarnings("ignore:The HMAC key is")  # the forgeries' own keys
NOT_IN_REFERENCE_PREFIXES = ("/dashboard", "/assets")
PLACEHOLDER_ID = "01JZZZZZZZZZZZZZZZZZZZZZZZ"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as the app routes it, with {params}
    takes: str  # "session", "pending" or "any"
    operation: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _takes(operation: dict[str, Any]) -> str:
    return {"pending login token": "pending", "session token": "session"}.get(operation["x-credential"], "any")


def authenticated_routes() -> list[Route]:
    """Every route of the app whose reference entry asks for a credential."""
    routes = []
    for path, methods in sorted(app.routes.items()):
        if path.startswith(NOT_IN_REFERENCE_PREFIXES):
            continue
        for method in sorted(methods):
            operation = document()["paths"].get(path, {}).get(method.lower())
            assert operation is not None, f"{method} {path} is not in the API reference"
            if operation["security"]:
                routes.append(Route(method, path, _takes(operation), operation))
    return routes


ROUTES = authenticated_routes()


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def valid_value(schema: dict[str, Any]) -> Any:
    """A small value that the schema accepts (bodies must pass parsing, so that only auth refuses)."""
    schema = _resolve(schema)
    if "oneOf" in schema:
        return valid_value(schema["oneOf"][0])
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][-1]
    if "examples" in schema:
        return schema["examples"][0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        return {name: valid_value(schema["properties"][name]) for name in schema.get("required", [])}
    if kind == "array":
        return [valid_value(schema.get("items", {"type": "string"})) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    return "a" + "b" * max(0, schema.get("minLength", 1) - 1)


def request_body(route: Route) -> Any:
    content = route.operation.get("requestBody", {}).get("content", {}).get("application/json")
    return valid_value(content["schema"]) if content else None


def concrete(path: str, ids: dict[str, str] | None = None) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: (ids or {}).get(m.group(1), PLACEHOLDER_ID), path)


def call(api: Api, route: Route, authorization: str | None, path: str | None = None) -> Reply:
    headers = {} if authorization is None else {"Authorization": authorization}
    return api.call(route.method, path or concrete(route.path), request_body(route), **headers)


# Credentials ---------------------------------------------------------------------------------


def b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def with_payload(token: str, change: dict[str, Any]) -> str:
    """The token with its payload changed and its original signature kept."""
    header, _, signature = token.split(".")
    return f"{header}.{b64(claims_of(token) | change)}.{signature}"


@dataclass
class World:
    """Two users with sessions and API keys, and the means to forge."""

    api: Api
    services: Services
    settings: Settings
    clock: FakeClock
    alice: dict[str, Any]
    bob: dict[str, Any]

    @property
    def key(self) -> bytes:
        return load_signing_key(self.settings)

    def api_key(self, token: str, **fields: Any) -> dict[str, Any]:
        created = self.api.post("/v1/user/api-keys", {"name": "matrix"} | fields, token=token)
        assert created.status == 201, created.body
        return dict(created.body)


@pytest.fixture
def world(api: Api, services: Services, settings: Settings, clock: FakeClock) -> World:
    alice = api.signup("alice").body
    bob = api.signup("bob").body
    return World(api, services, settings, clock, alice, bob)


Forgery = Callable[[World], str | None]  # the Authorization header to send (None: none)


def alice_claims(w: World) -> dict[str, Any]:
    return claims_of(w.alice["token"])


FORGERIES: dict[str, Forgery] = {
    "no credential": lambda w: None,
    "not a bearer scheme": lambda w: "Basic YWxpY2U6Y29ycmVjdCBob3JzZQ==",
    "empty bearer": lambda w: "Bearer ",
    "garbage token": lambda w: "Bearer not.a.token",
    "alg none": lambda w: f"Bearer {b64({'alg': 'none', 'typ': 'JWT'})}.{b64(alice_claims(w))}.",
    "alg none, signature kept": lambda w: "Bearer "
    + ".".join([b64({"alg": "none", "typ": "JWT"}), *w.alice["token"].split(".")[1:]]),
    "wrong signing key": lambda w: "Bearer " + jwt.encode(alice_claims(w), b"another key " * 4, algorithm="HS256"),
    "right key, other algorithm (HS512)": lambda w: "Bearer " + jwt.encode(alice_claims(w), w.key, algorithm="HS512"),
    "tampered sub (bob), signature kept": lambda w: "Bearer "
    + with_payload(w.alice["token"], {"sub": w.bob["user"]["id"]}),
    "tampered exp, signature kept": lambda w: "Bearer "
    + with_payload(w.alice["token"], {"exp": alice_claims(w)["exp"] + 10**6}),
    "tampered typ, signature kept": lambda w: "Bearer " + with_payload(w.alice["token"], {"typ": "admin"}),
    "signature stripped": lambda w: "Bearer " + w.alice["token"].rsplit(".", 1)[0] + ".",
    "right key, no stored session": lambda w: "Bearer "
    + jwt.encode(alice_claims(w) | {"sid": "no-such-session"}, w.key, algorithm="HS256"),
    "right key, bob's session under alice's name": lambda w: "Bearer "
    + jwt.encode(alice_claims(w) | {"sid": claims_of(w.bob["token"])["sid"]}, w.key, algorithm="HS256"),
    "right key, missing exp": lambda w: "Bearer "
    + jwt.encode({k: v for k, v in alice_claims(w).items() if k != "exp"}, w.key, algorithm="HS256"),
    "expired session token": lambda w: "Bearer " + expired_session(w),
    "pending login token": lambda w: "Bearer " + w.services.sessions.issue(w.alice["user"]["id"], PENDING).token,
    # The same against the second login step, from a real pending token.
    "pending token, alg none": lambda w: f"Bearer {b64({'alg': 'none', 'typ': 'JWT'})}.{b64(pending_claims(w))}.",
    "pending token, wrong signing key": lambda w: "Bearer "
    + jwt.encode(pending_claims(w), b"another key " * 4, algorithm="HS256"),
    "pending token, tampered sub (bob), signature kept": lambda w: "Bearer "
    + with_payload(pending_token(w), {"sub": w.bob["user"]["id"]}),
    "pending token, typ changed to session, signature kept": lambda w: "Bearer "
    + with_payload(pending_token(w), {"typ": "session"}),
    "expired pending login token": lambda w: "Bearer " + expired_pending(w),
    "deleted API key": lambda w: "Bearer " + deleted_api_key(w),
    "truncated API key": lambda w: "Bearer " + w.api_key(w.alice["token"])["key"][:-1],
    "API key, one character changed": lambda w: "Bearer " + one_character_changed(w.api_key(w.alice["token"])["key"]),
    "API key, made up with a valid shape": lambda w: "Bearer lk_" + "A" * 38,
    "expired API key": lambda w: "Bearer " + expired_api_key(w),
}
# Forgeries that are the right credential for some routes: the pending token is what
# POST /v1/login/totp takes, so it is tried only against the others.
ONLY_AGAINST = {"pending login token": {"session", "any"}}


def pending_token(w: World) -> str:
    return w.services.sessions.issue(w.alice["user"]["id"], PENDING).token


def pending_claims(w: World) -> dict[str, Any]:
    return claims_of(pending_token(w))


def expired_pending(w: World) -> str:
    token = pending_token(w)
    w.clock.advance(w.settings.pending_ttl_seconds)
    return token


def expired_session(w: World) -> str:
    token: str = w.alice["token"]
    w.clock.advance(w.settings.session_ttl_seconds)
    return token


def deleted_api_key(w: World) -> str:
    created = w.api_key(w.alice["token"])
    assert w.api.call("DELETE", f"/v1/user/api-keys/{created['id']}", token=w.alice["token"]).status == 204
    return str(created["key"])


def expired_api_key(w: World) -> str:
    expires = w.clock() + 60
    created = w.api_key(w.alice["token"], expires_at=f"{_rfc3339(expires)}")
    w.clock.advance(60)
    return str(created["key"])


def _rfc3339(seconds: int) -> str:
    from chalicelib.services.views import timestamp

    text = timestamp(seconds)
    assert text is not None
    return text


def one_character_changed(key: str) -> str:
    middle = len(key) // 2
    return key[:middle] + ("B" if key[middle] != "B" else "C") + key[middle + 1 :]


def test_the_matrix_covers_every_authenticated_route() -> None:
    assert len(ROUTES) >= 3
    print(f"forged-credential matrix: {len(ROUTES)} routes x {len(FORGERIES)} forgeries")


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_every_authenticated_route_refuses(world: World, forgery: str) -> None:
    authorization = FORGERIES[forgery](world)
    wrong: list[str] = []
    for route in ROUTES:
        if route.takes not in ONLY_AGAINST.get(forgery, {"session", "any", "pending"}):
            continue
        reply = call(world.api, route, authorization)
        if reply.status != 401 or reply.body.get("Code") != "UnauthorizedError":
            wrong.append(f"{route}: {reply.status} {reply.body}")
    assert wrong == [], f"{forgery} was not refused with 401 by:\n" + "\n".join(wrong)


def test_a_session_token_is_refused_where_a_pending_login_token_is_asked(world: World) -> None:
    for route in ROUTES:
        if route.takes == "pending":
            reply = call(world.api, route, f"Bearer {world.alice['token']}")
            assert (reply.status, reply.body["Code"]) == (401, "UnauthorizedError"), route


def test_an_api_key_is_refused_by_routes_that_want_a_session(world: World) -> None:
    key = world.api_key(world.alice["token"])["key"]
    for route in ROUTES:
        reply = call(world.api, route, f"Bearer {key}")
        expected = {"session": (403, "ForbiddenError"), "pending": (401, "UnauthorizedError")}.get(route.takes)
        if expected:
            assert (reply.status, reply.body["Code"]) == expected, (str(route), reply.body)
        else:
            assert reply.status not in (401, 403), (str(route), reply.body)


def test_control_a_real_credential_gets_past_authentication(world: World) -> None:
    """The same requests with the right credential are not refused as unauthenticated."""
    pending = world.services.sessions.issue(world.alice["user"]["id"], PENDING).token
    for route in ROUTES:
        # A session of its own for each route: one of them (logout) ends the session it is called with.
        token = pending if route.takes == "pending" else world.services.sessions.issue(world.alice["user"]["id"]).token
        reply = call(world.api, route, f"Bearer {token}")
        refused = reply.body is not None and reply.body.get("Code") == "UnauthorizedError"
        assert reply.status < 500 and not refused, (str(route), reply.body)


# Another user's ids --------------------------------------------------------------------------


def bobs_resources(w: World) -> dict[str, dict[str, str]]:
    """Path parameters naming bob's resources, by the route prefix that owns them."""
    resources = {"/v1/user/api-keys/": {"id": w.api_key(w.bob["token"])["id"]}}
    if any(r.path.startswith("/v1/applications/") for r in ROUTES):
        created = w.api.post("/v1/applications", {"name": "bobs-app"}, token=w.bob["token"])
        assert created.status == 201, created.body
        resources["/v1/applications/"] = {"id": created.body["id"], "username": "bob"}
    bobs_session = w.api.get("/v1/user/sessions", token=w.bob["token"]).body["sessions"][0]["id"]
    resources["/v1/user/sessions/"] = {"id": bobs_session}
    # Bob's collaborator is no one on alice's applications: offboarding them is, to her, a 404.
    resources["/v1/collaborators/"] = {"username": "bob"}
    resources["/v1/user/passkeys/"] = {"id": bobs_passkey(w)}
    return resources


def bobs_passkey(w: World) -> str:
    from tests.passkey_authenticator import SoftwareAuthenticator

    service = w.services.passkeys
    authenticator = SoftwareAuthenticator(service.origin, service.rp_id)
    options = w.api.post("/v1/user/passkeys/registration/options", token=w.bob["token"]).body
    body = {"challenge_id": options["challenge_id"], "credential": authenticator.create(options["options"])}
    created = w.api.post("/v1/user/passkeys", body, token=w.bob["token"])
    assert created.status == 201, created.body
    return authenticator.id


# A resource's own Code for a 404, where it has one.
NOT_FOUND_CODES = {"/v1/user/passkeys/": "PasskeyNotFoundError"}


def test_another_users_ids_are_not_found(world: World) -> None:
    resources = bobs_resources(world)
    wrong = []
    tried = 0
    for route in ROUTES:
        if "{" not in route.path:
            continue
        owner = next((prefix for prefix in resources if route.path.startswith(prefix)), None)
        assert owner is not None, f"{route}: no resource of another user known for its path; add one above"
        reply = call(world.api, route, f"Bearer {world.alice['token']}", concrete(route.path, resources[owner]))
        tried += 1
        if reply.status != 404 or reply.body.get("Code") != NOT_FOUND_CODES.get(owner, "NotFoundError"):
            wrong.append(f"{route}: {reply.status} {reply.body}")
    assert tried and wrong == [], "\n".join(wrong)
    # and bob's things are untouched
    assert world.api.get("/v1/user/api-keys", token=world.bob["token"]).body["api_keys"]


def test_another_users_key_ids_in_a_batch_delete_count_as_not_found(world: World) -> None:
    bobs = world.api_key(world.bob["token"])
    reply = world.api.post("/v1/user/api-keys/batch-delete", {"ids": [bobs["id"]]}, token=world.alice["token"])
    assert reply.status == 200 and reply.body == {"deleted": [], "not_found": [bobs["id"]]}
    assert world.api.get("/v1/user", token=bobs["key"]).status == 200
