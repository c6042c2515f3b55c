"""The API reference: a valid OpenAPI 3.1 document, served, that matches the app's routes both ways."""

from __future__ import annotations

from openapi_spec_validator import validate

from app import app
from chalicelib.openapi import document
from tests.conftest import Api

METHODS = {"get", "put", "post", "delete", "patch"}
# Served for people, not part of the JSON API: the dashboard page and its static files.
NOT_IN_REFERENCE_PREFIXES = ("/dashboard", "/assets")


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(document())
    assert document()["openapi"].startswith("3.1")


def test_it_is_served_without_a_credential(api: Api) -> None:
    reply = api.get("/v1/openapi.json")
    assert reply.status == 200
    assert reply.body == document()


def app_operations() -> set[tuple[str, str]]:
    return {
        (path, method.lower())
        for path, methods in app.routes.items()
        if not path.startswith(NOT_IN_REFERENCE_PREFIXES)
        for method in methods
    }


def documented_operations() -> set[tuple[str, str]]:
    return {(path, method) for path, item in document()["paths"].items() for method in item if method in METHODS}


def test_every_route_is_documented() -> None:
    assert app_operations() - documented_operations() == set()


def test_every_documented_operation_exists() -> None:
    assert documented_operations() - app_operations() == set()


def test_every_request_body_refuses_unknown_fields() -> None:
    def closed(schema: dict) -> bool:
        return schema.get("additionalProperties") is False

    for path, item in document()["paths"].items():
        for method, op in item.items():
            if "requestBody" in op:
                assert closed(op["requestBody"]["content"]["application/json"]["schema"]), (method, path)


def test_every_link_names_a_real_operation_and_its_parameters() -> None:
    operations = {
        op["operationId"]: op
        for item in document()["paths"].values()
        for method, op in item.items()
        if method in METHODS
    }
    links = [
        link
        for item in document()["paths"].values()
        for method, op in item.items()
        if method in METHODS
        for response in op["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert links
    for link in links:
        target = operations[link["operationId"]]
        names = {f"{p['in']}.{p['name']}" for p in target.get("parameters", [])}
        for parameter in link.get("parameters", {}):
            assert parameter in names or parameter == "header.Authorization", (link, parameter)
        if "requestBody" in link:
            assert set(link["requestBody"]) <= set(
                target["requestBody"]["content"]["application/json"]["schema"]["properties"]
            )
