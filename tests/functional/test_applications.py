"""Applications: creating, renaming and deleting them, unique names per owner, validation, lists."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib.errors import ConflictError
from chalicelib.services import Services
from chalicelib.store import dynamo
from tests.conftest import Api, FakeClock


def scan(services: Services, table: str) -> list[dict[str, Any]]:
    name = services.settings.table_name(table)
    pages = dynamo.client().get_paginator("scan").paginate(TableName=name)
    return [dynamo.from_item(i) for p in pages for i in p["Items"]]


def create(api: Api, token: str, name: str, **fields: Any) -> str:
    reply = api.post("/v1/applications", {"name": name, **fields}, token=token)
    assert reply.status == 201, reply.body
    app_id: str = reply.body["id"]
    return app_id


def test_create_returns_the_application_with_the_owners_role(api: Api, alice: str, clock: FakeClock) -> None:
    clock.advance(60)
    reply = api.post("/v1/applications", {"name": "Fleet-1_a", "description": "Our devices"}, token=alice)
    assert reply.status == 201
    assert reply.headers["cache-control"] == "no-store"
    body = reply.body
    assert body == {
        "id": body["id"],
        "name": "Fleet-1_a",
        "description": "Our devices",
        "owner": "alice",
        "created_at": "2033-05-18T03:34:20Z",
        "role": "owner",
        "permissions": ["read", "write", "operate", "manage_collaborators", "delete"],
    }
    assert api.get(f"/v1/applications/{body['id']}", token=alice).body == body


def test_description_is_optional_and_null_when_absent(api: Api, alice: str) -> None:
    app_id = create(api, alice, "fleet")
    assert api.get(f"/v1/applications/{app_id}", token=alice).body["description"] is None


def test_names_are_unique_per_owner_ignoring_case(api: Api, alice: str) -> None:
    create(api, alice, "Fleet")
    reply = api.post("/v1/applications", {"name": "fLEET"}, token=alice)
    assert reply.status == 409 and reply.body["Code"] == "ConflictError" and "name" in reply.body["Message"]
    bob = api.signup("bob").body["token"]
    create(api, bob, "fleet")  # another owner may use the name


def test_simultaneous_creations_of_one_name_by_one_owner_give_exactly_one_application(
    api: Api, alice: str, services: Services
) -> None:
    user = services.auth.authenticate(alice).user

    def attempt(n: int) -> str:
        try:
            services.applications.create(user, "racer" if n % 2 else "RACER", None)
            return "created"
        except ConflictError:
            return "conflict"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("created") == 1 and outcomes.count("conflict") == 7
    items = scan(services, "applications")
    assert sum(1 for i in items if i["pk"].startswith("APP#")) == 1
    assert sum(1 for i in items if i["pk"].startswith("NAME#")) == 1
    assert len(scan(services, "grants")) == 1
    assert len(api.get("/v1/applications", token=alice).body["applications"]) == 1


# --- PATCH ------------------------------------------------------------------------------------


def test_patch_renames_and_changes_the_description(api: Api, alice: str) -> None:
    app_id = create(api, alice, "fleet", description="old")
    reply = api.call("PATCH", f"/v1/applications/{app_id}", {"name": "Fleet-2", "description": "new"}, alice)
    assert reply.status == 200
    assert (reply.body["name"], reply.body["description"]) == ("Fleet-2", "new")
    assert api.get(f"/v1/applications/{app_id}", token=alice).body == reply.body


def test_patch_leaves_absent_fields_alone_and_null_clears_the_description(api: Api, alice: str) -> None:
    app_id = create(api, alice, "fleet", description="old")
    renamed = api.call("PATCH", f"/v1/applications/{app_id}", {"name": "fleet2"}, alice).body
    assert renamed["description"] == "old"
    described = api.call("PATCH", f"/v1/applications/{app_id}", {"description": "newer"}, alice).body
    assert described["name"] == "fleet2"
    cleared = api.call("PATCH", f"/v1/applications/{app_id}", {"description": None}, alice).body
    assert cleared["description"] is None and cleared["name"] == "fleet2"
    unchanged = api.call("PATCH", f"/v1/applications/{app_id}", {}, alice)
    assert unchanged.status == 200 and unchanged.body == cleared


def test_renaming_onto_another_of_the_owners_names_is_a_conflict(api: Api, alice: str) -> None:
    create(api, alice, "alpha")
    beta = create(api, alice, "beta")
    reply = api.call("PATCH", f"/v1/applications/{beta}", {"name": "ALPHA"}, alice)
    assert reply.status == 409 and "name" in reply.body["Message"]
    assert api.get(f"/v1/applications/{beta}", token=alice).body["name"] == "beta"
    # The refused rename released nothing: beta is still taken.
    assert api.post("/v1/applications", {"name": "Beta"}, token=alice).status == 409


def test_renaming_releases_the_old_name_and_claims_the_new_one(api: Api, alice: str, services: Services) -> None:
    app_id = create(api, alice, "alpha")
    assert api.call("PATCH", f"/v1/applications/{app_id}", {"name": "gamma"}, alice).status == 200
    assert api.post("/v1/applications", {"name": "GAMMA"}, token=alice).status == 409
    create(api, alice, "alpha")
    claims = sorted(i["pk"].rsplit("#", 1)[1] for i in scan(services, "applications") if i["pk"].startswith("NAME#"))
    assert claims == ["alpha", "gamma"]


def test_changing_only_the_case_of_a_name_keeps_its_claim(api: Api, alice: str) -> None:
    app_id = create(api, alice, "alpha")
    reply = api.call("PATCH", f"/v1/applications/{app_id}", {"name": "ALPHA"}, alice)
    assert reply.status == 200 and reply.body["name"] == "ALPHA"
    assert api.post("/v1/applications", {"name": "alpha"}, token=alice).status == 409


def test_simultaneous_renames_onto_one_name_let_exactly_one_through(api: Api, alice: str, services: Services) -> None:
    user = services.auth.authenticate(alice).user
    ids = [create(api, alice, f"app{n}") for n in range(6)]

    def attempt(app_id: str) -> str:
        try:
            services.applications.update(user, app_id, "winner")
            return "renamed"
        except ConflictError:
            return "conflict"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(attempt, ids))
    assert outcomes.count("renamed") == 1
    names = sorted(a["name"] for a in api.get("/v1/applications", token=alice).body["applications"])
    assert names.count("winner") == 1 and len(names) == 6
    claims = [i for i in scan(services, "applications") if i["pk"].startswith("NAME#")]
    assert len(claims) == 6


def test_a_developer_renames_within_the_owners_names(api: Api, alice: str) -> None:
    api.signup("bob")
    bob = api.login("bob").body["token"]
    create(api, alice, "taken")
    app_id = create(api, alice, "shared")
    api.call("PUT", f"/v1/applications/{app_id}/collaborators/bob", {"role": "developer"}, alice)
    create(api, bob, "bobs")  # bob's own names do not matter here
    assert api.call("PATCH", f"/v1/applications/{app_id}", {"name": "TAKEN"}, bob).status == 409
    assert api.call("PATCH", f"/v1/applications/{app_id}", {"name": "bobs"}, bob).status == 200


# --- validation -------------------------------------------------------------------------------

BAD_CREATE = [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "a" * 65}, "name"),
    ({"name": "has space"}, "name"),
    ({"name": "dot.ted"}, "name"),
    ({"name": "slash/ed"}, "name"),
    ({"name": "café"}, "name"),
    ({"name": "tab\t"}, "name"),
    ({"name": 42}, "name"),
    ({"name": None}, "name"),
    ({"name": ["fleet"]}, "name"),
    ({"name": "fleet", "description": "x" * 257}, "description"),
    ({"name": "fleet", "description": 5}, "description"),
    ({"name": "fleet", "owner": "bob"}, "owner"),
    ({"name": "fleet", "id": "01M8F994945TEPAEQ6VJCMXHJ9"}, "id"),
]


@pytest.mark.parametrize("body, field", BAD_CREATE)
def test_create_rejects_bad_fields(api: Api, alice: str, body: dict, field: str) -> None:
    reply = api.post("/v1/applications", body, token=alice)
    assert reply.status == 400 and reply.body["Code"] == "BadRequestError"
    assert field in reply.body["Message"]
    assert api.get("/v1/applications", token=alice).body["applications"] == []


@pytest.mark.parametrize("name", ["a", "A" * 64, "with-dash_and_UNDERSCORE_09", "-", "_"])
def test_create_accepts_names_at_the_edges(api: Api, alice: str, name: str) -> None:
    reply = api.post("/v1/applications", {"name": name, "description": "d" * 256}, token=alice)
    assert reply.status == 201 and reply.body["name"] == name


BAD_PATCH = [
    ({"name": ""}, "name"),
    ({"name": "a" * 65}, "name"),
    ({"name": "no spaces"}, "name"),
    ({"name": None}, "name"),
    ({"name": 7}, "name"),
    ({"description": "x" * 257}, "description"),
    ({"description": False}, "description"),
    ({"role": "owner"}, "role"),
    ({"owner": "bob"}, "owner"),
]


@pytest.mark.parametrize("body, field", BAD_PATCH)
def test_patch_rejects_bad_fields(api: Api, alice: str, body: dict, field: str) -> None:
    app_id = create(api, alice, "fleet", description="kept")
    before = api.get(f"/v1/applications/{app_id}", token=alice).body
    reply = api.call("PATCH", f"/v1/applications/{app_id}", body, alice)
    assert reply.status == 400 and field in reply.body["Message"]
    assert api.get(f"/v1/applications/{app_id}", token=alice).body == before


@pytest.mark.parametrize("raw", ["", "not json", "[]", '"fleet"', "null"])
def test_bodies_that_are_not_json_objects_are_refused(api: Api, alice: str, raw: str) -> None:
    reply = api.call("POST", "/v1/applications", raw, alice)
    assert reply.status == 400 and "body" in reply.body["Message"]


# --- lists ------------------------------------------------------------------------------------


def follow(api: Api, path: str, token: str, items: str, limit: int) -> list[dict[str, Any]]:
    """Every item of a list, following next_cursor page by page."""
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        reply = api.get(path + query, token=token)
        assert reply.status == 200, reply.body
        assert len(reply.body[items]) <= limit
        seen.extend(reply.body[items])
        cursor = reply.body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the list never ended")


@pytest.mark.parametrize("limit", [1, 3, 7, 8, 100])
def test_listing_applications_returns_owned_and_shared_each_exactly_once(api: Api, alice: str, limit: int) -> None:
    bob = api.signup("bob").body["token"]
    owned = [create(api, alice, f"mine{n}") for n in range(5)]
    shared = []
    for n in range(3):
        app_id = create(api, bob, f"bobs{n}")
        api.call("PUT", f"/v1/applications/{app_id}/collaborators/alice", {"role": "operator"}, bob)
        shared.append(app_id)
    create(api, bob, "private")  # not shared with alice
    listed = follow(api, "/v1/applications", alice, "applications", limit)
    assert [a["id"] for a in listed] == sorted(owned + shared)  # oldest first
    roles = {a["id"]: (a["role"], a["owner"]) for a in listed}
    assert all(roles[i] == ("owner", "alice") for i in owned)
    assert all(roles[i] == ("operator", "bob") for i in shared)


@pytest.mark.parametrize("limit", [1, 2, 5, 6, 100])
def test_listing_collaborators_returns_each_exactly_once_without_the_owner(api: Api, alice: str, limit: int) -> None:
    app_id = create(api, alice, "fleet")
    names = [f"user{n}" for n in range(5)]
    for n, name in enumerate(names):
        api.signup(name)
        role = ("developer", "operator", "observer")[n % 3]
        assert api.call("PUT", f"/v1/applications/{app_id}/collaborators/{name}", {"role": role}, alice).status == 201
    listed = follow(api, f"/v1/applications/{app_id}/collaborators", alice, "collaborators", limit)
    assert sorted(c["username"] for c in listed) == names
    assert {c["username"]: c["role"] for c in listed}["user1"] == "operator"


def test_an_empty_list_has_no_cursor(api: Api, alice: str) -> None:
    assert api.get("/v1/applications", token=alice).body == {"applications": [], "next_cursor": None}
    app_id = create(api, alice, "fleet")
    reply = api.get(f"/v1/applications/{app_id}/collaborators", token=alice)
    assert reply.body == {"collaborators": [], "next_cursor": None}


def test_a_cursor_works_only_for_the_list_it_came_from(api: Api, alice: str) -> None:
    bob = api.signup("bob").body["token"]
    for n in range(3):
        create(api, alice, f"a{n}")
        create(api, bob, f"b{n}")
    alices_cursor = api.get("/v1/applications?limit=1", token=alice).body["next_cursor"]
    assert alices_cursor
    reply = api.get(f"/v1/applications?cursor={alices_cursor}", token=bob)
    assert reply.status == 400 and "cursor" in reply.body["Message"]
    app_id = create(api, alice, "fleet")
    reply = api.get(f"/v1/applications/{app_id}/collaborators?cursor={alices_cursor}", token=alice)
    assert reply.status == 400 and "cursor" in reply.body["Message"]


@pytest.mark.parametrize(
    "query, field", [("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"), ("cursor=garbage!", "cursor")]
)
def test_bad_list_parameters_are_400(api: Api, alice: str, query: str, field: str) -> None:
    app_id = create(api, alice, "fleet")
    for path in ("/v1/applications", f"/v1/applications/{app_id}/collaborators"):
        reply = api.get(f"{path}?{query}", token=alice)
        assert reply.status == 400 and field in reply.body["Message"]
