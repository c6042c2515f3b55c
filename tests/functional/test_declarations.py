"""Every route's declaration is what the app enforces and what the reference documents: each declared
field is tried one character (or item) too long, and the app's 400 and the document's verdict agree;
each declared credential kind is tried with the other kinds."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from app import app  # noqa: F401  (declares every route)
from chalicelib.openapi import document
from chalicelib.security.tokens import PENDING as PENDING_KIND
from chalicelib.services import Services
from chalicelib.web import ANY, DECLARATIONS, NONE, PENDING, SESSION, Body, Declaration, Field
from tests.conftest import Api

PLACEHOLDER = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def string_of(length: int, pattern: str | None) -> str:
    """A string of ``length`` characters that matches ``pattern``."""
    for candidate in ("a" * length, "a" * (length - 6) + "@b.com"):
        if pattern is None or re.fullmatch(pattern, candidate):
            return candidate
    raise AssertionError(f"no {length}-character string for {pattern}")


def valid(f: Field) -> Any:
    """A small value that the field accepts."""
    if isinstance(f.type, Body):
        return valid_body(f.type)
    if f.enum:
        return f.enum[0]
    if f.date_time:
        return "2030-01-01T00:00:00Z"
    if f.type is int:
        return f.minimum or 0
    if f.type is bool:
        return True
    if f.type is list:
        return [valid(f.item or Field("item"))] * (f.min_length or 1)
    return string_of(max(f.min_length or 0, 12), f.pattern)


def valid_body(body: Body) -> dict[str, Any]:
    chosen = {f.name: valid(f) for f in body.fields if f.required}
    for name in body.exactly_one_of[:1]:
        chosen[name] = valid(next(f for f in body.fields if f.name == name))
    return chosen


def body_with(body: Body, f: Field, value: Any) -> dict[str, Any]:
    """The smallest valid body with ``f`` set to ``value`` (and its exclusive alternatives left out)."""
    others = set(body.exactly_one_of) - {f.name}
    return {k: v for k, v in valid_body(body).items() if k not in others} | {f.name: value}


def too_long(f: Field) -> Any:
    assert f.max_length is not None
    if f.type is list:
        return [valid(f.item or Field("item"))] * (f.max_length + 1)
    return string_of(f.max_length + 1, f.pattern)


def bounded_fields() -> list[tuple[Declaration, Field]]:
    return [
        (d, f)
        for d in DECLARATIONS.values()
        if d.body is not None
        for f in d.body.fields
        if f.max_length is not None and not f.date_time
    ]


def schema_of(d: Declaration) -> dict[str, Any]:
    operation = document()["paths"][d.path][d.method]
    schema: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["schema"]
    return schema


def concrete(path: str) -> str:
    return re.sub(r"\{\w+\}", PLACEHOLDER, path)


@pytest.fixture
def credentials(api: Api, services: Services) -> dict[Any, str]:
    signed_up = api.signup("alice").body
    session = signed_up["token"]
    key = api.post("/v1/user/api-keys", {"name": "k"}, token=session).body["key"]
    pending = services.sessions.issue(signed_up["user"]["id"], PENDING_KIND).token
    return {SESSION: session, ANY: session, PENDING: pending, "api key": key}


def test_every_route_of_the_reference_is_declared() -> None:
    documented = {(p, m) for p, item in document()["paths"].items() for m in item if p != "/"}
    assert documented == set(DECLARATIONS)


@pytest.mark.parametrize(
    ("declaration", "field"), bounded_fields(), ids=lambda v: getattr(v, "operation_id", getattr(v, "name", ""))
)
def test_a_field_one_too_long_is_refused_by_the_app_and_the_document(
    api: Api, credentials: dict[Any, str], declaration: Declaration, field: Field
) -> None:
    assert declaration.body is not None
    token = credentials.get(declaration.credential)
    validator = Draft202012Validator(schema_of(declaration), format_checker=FormatChecker())
    at_limit = body_with(declaration.body, field, too_long(replace(field, max_length=field.max_length - 1)))
    assert validator.is_valid(at_limit), (declaration.operation_id, field.name)

    over = body_with(declaration.body, field, too_long(field))
    assert not validator.is_valid(over), (declaration.operation_id, field.name)
    reply = api.call(declaration.method.upper(), concrete(declaration.path), over, token=token)
    assert reply.status == 400 and reply.body["Message"].startswith(field.name + ":"), reply.body


def test_every_documented_body_accepts_the_smallest_valid_body() -> None:
    for d in DECLARATIONS.values():
        if d.body is not None:
            assert Draft202012Validator(schema_of(d)).is_valid(valid_body(d.body)), d.operation_id


@pytest.mark.parametrize("declaration", list(DECLARATIONS.values()), ids=lambda d: d.operation_id)
def test_the_declared_credential_is_the_one_enforced_and_documented(
    api: Api, credentials: dict[Any, str], declaration: Declaration
) -> None:
    d = declaration
    operation = document()["paths"][d.path][d.method]
    body = valid_body(d.body) if d.body is not None else None
    path = concrete(d.path)
    if d.credential is NONE:
        assert operation["security"] == [] and "x-credential" not in operation
        return
    assert operation["x-credential"] == d.credential.value
    assert operation.get("x-recent-authentication", False) == d.recent
    assert api.call(d.method.upper(), path, body).status == 401  # no credential
    others = {
        SESSION: {"api key": 403, PENDING: 401},
        ANY: {PENDING: 401},
        PENDING: {SESSION: 401, "api key": 401},
    }[d.credential]
    for other, status in others.items():
        reply = api.call(d.method.upper(), path, body, token=credentials[other])
        assert reply.status == status, (d.operation_id, other, reply.body)
        assert str(status) in operation["responses"]
    reply = api.call(d.method.upper(), path, body, token=credentials[d.credential])
    assert reply.status < 500 and (reply.body is None or reply.body.get("Code") != "UnauthorizedError"), reply.body


@pytest.mark.parametrize(
    "declaration",
    [d for d in DECLARATIONS.values() if d.body is not None and not d.body.required],
    ids=lambda d: d.operation_id,
)
def test_a_body_of_optional_fields_may_be_left_out(
    api: Api, credentials: dict[Any, str], declaration: Declaration
) -> None:
    d = declaration
    operation = document()["paths"][d.path][d.method]
    assert operation["requestBody"]["required"] is False
    reply = api.call(d.method.upper(), concrete(d.path), None, token=credentials.get(d.credential))
    assert not (reply.status == 400 and reply.body["Message"].startswith("body:")), reply.body
