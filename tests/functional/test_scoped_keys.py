"""Scoped API keys (what a scope accepts, what it cuts, what it costs) and key rotation."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.services import Services
from chalicelib.store import dynamo
from chalicelib.store.expiry import purge_expired
from tests.conftest import Api, FakeClock, count_dynamodb_calls


def make_key(api: Api, token: str, **body: Any) -> Any:
    return api.post("/v1/user/api-keys", {"name": "ci", **body}, token=token)


def app_of(api: Api, token: str, name: str) -> str:
    reply = api.post("/v1/applications", {"name": name}, token=token)
    assert reply.status == 201, reply.body
    app_id: str = reply.body["id"]
    return app_id


def share(api: Api, owner: str, app_id: str, username: str, role: str) -> None:
    reply = api.call("PUT", f"/v1/applications/{app_id}/collaborators/{username}", {"role": role}, owner)
    assert reply.status in (200, 201), reply.body


def test_the_scope_is_stored_shown_and_listed(api: Api, alice: str) -> None:
    fleet = app_of(api, alice, "fleet")
    created = make_key(api, alice, scope={"applications": [fleet, fleet], "permissions": ["operate", "read", "read"]})
    assert created.status == 201
    assert created.body["scope"] == {"applications": [fleet], "permissions": ["read", "operate"]}
    listed = api.get("/v1/user/api-keys", token=alice).body["api_keys"]
    assert listed[0]["scope"] == created.body["scope"]


@pytest.mark.parametrize("scope", [None, {}, {"applications": None}, {"applications": None, "permissions": None}])
def test_an_empty_scope_is_no_scope(api: Api, alice: str, scope: Any) -> None:
    created = make_key(api, alice, scope=scope)
    assert created.status == 201 and created.body["scope"] is None
    assert api.post("/v1/applications", {"name": "made"}, token=created.body["key"]).status == 201


@pytest.mark.parametrize(
    "scope, field",
    [
        ({"applications": []}, "scope.applications"),
        ({"applications": ["01M8F994945TEPAEQ6VJCMXHJ9"]}, "scope.applications"),
        ({"applications": ["nope"]}, "scope.applications"),
        ({"applications": [""]}, "scope.applications"),
        ({"applications": [3]}, "scope.applications"),
        ({"applications": ["x"] * 101}, "scope.applications"),
        ({"permissions": []}, "scope.permissions"),
        ({"permissions": ["admin"]}, "scope.permissions"),
        ({"permissions": "read"}, "scope.permissions"),
        ({"owner": True}, "scope.owner"),
        ("all", "scope"),
    ],
)
def test_a_bad_scope_is_a_400_naming_the_field(api: Api, alice: str, scope: Any, field: str) -> None:
    reply = make_key(api, alice, scope=scope)
    assert reply.status == 400 and reply.body["Message"].startswith(field + ":"), reply.body


def test_a_scope_naming_an_application_the_user_cannot_access_is_a_400(api: Api, alice: str) -> None:
    bob = api.signup("bob").body["token"]
    theirs = app_of(api, bob, "theirs")
    mine = app_of(api, alice, "mine")
    reply = make_key(api, alice, scope={"applications": [mine, theirs]})
    assert reply.status == 400 and reply.body["Message"].startswith("scope.applications:")
    assert theirs in reply.body["Message"] and mine not in reply.body["Message"]
    # Shared with alice, it may be named.
    share(api, bob, theirs, "alice", "observer")
    assert make_key(api, alice, scope={"applications": [mine, theirs]}).status == 201
    # A deleted application may not.
    assert api.call("DELETE", f"/v1/applications/{mine}", token=alice).status == 204
    assert make_key(api, alice, scope={"applications": [mine]}).status == 400


def test_removing_the_user_cuts_their_scoped_key_off_on_the_next_request(api: Api, alice: str) -> None:
    bob = api.signup("bob").body["token"]
    fleet = app_of(api, bob, "fleet")
    share(api, bob, fleet, "alice", "developer")
    key = make_key(api, alice, scope={"applications": [fleet], "permissions": ["read"]}).body["key"]
    assert api.get(f"/v1/applications/{fleet}", token=key).status == 200
    assert api.call("DELETE", f"/v1/applications/{fleet}/collaborators/alice", token=bob).status == 204
    assert api.get(f"/v1/applications/{fleet}", token=key).status == 404
    assert api.get("/v1/applications", token=key).body["applications"] == []
    # Given access again as an observer, the key has what both allow: read, not more.
    share(api, bob, fleet, "alice", "observer")
    assert api.get(f"/v1/applications/{fleet}", token=key).body["permissions"] == ["read"]


def test_a_role_lowered_lowers_the_scoped_key_at_once(api: Api, alice: str) -> None:
    bob = api.signup("bob").body["token"]
    fleet = app_of(api, bob, "fleet")
    share(api, bob, fleet, "alice", "developer")
    key = make_key(api, alice, scope={"permissions": ["write", "read"]}).body["key"]
    assert api.call("PATCH", f"/v1/applications/{fleet}", {"description": "x"}, key).status == 200
    share(api, bob, fleet, "alice", "observer")
    reply = api.call("PATCH", f"/v1/applications/{fleet}", {"description": "y"}, key)
    assert reply.status == 403 and "role" in reply.body["Message"]


def test_a_key_scoped_by_permissions_creates_applications_with_those_permissions(api: Api, alice: str) -> None:
    key = make_key(api, alice, scope={"permissions": ["read", "write"]}).body["key"]
    made = api.post("/v1/applications", {"name": "made"}, token=key)
    assert made.status == 201 and made.body["role"] == "owner" and made.body["permissions"] == ["read", "write"]
    refused = api.call("DELETE", f"/v1/applications/{made.body['id']}", token=key)
    assert refused.status == 403 and "scope" in refused.body["Message"]
    assert api.get(f"/v1/applications/{made.body['id']}", token=alice).status == 200


def test_a_key_scoped_to_applications_may_not_create_one(api: Api, alice: str) -> None:
    fleet = app_of(api, alice, "fleet")
    key = make_key(api, alice, scope={"applications": [fleet]}).body["key"]
    reply = api.post("/v1/applications", {"name": "another"}, token=key)
    assert reply.status == 403 and reply.body["Code"] == "ForbiddenError"
    assert [a["name"] for a in api.get("/v1/applications", token=alice).body["applications"]] == ["fleet"]


def test_a_read_only_key_may_not_take_its_user_off_an_application(api: Api, alice: str) -> None:
    bob = api.signup("bob").body["token"]
    fleet = app_of(api, bob, "fleet")
    share(api, bob, fleet, "alice", "observer")
    key = make_key(api, alice, scope={"permissions": ["read"]}).body["key"]
    assert api.call("DELETE", f"/v1/applications/{fleet}/collaborators/alice", token=key).status == 403
    assert api.get(f"/v1/applications/{fleet}", token=alice).status == 200


def test_a_scoped_listing_pages_through_the_scope(api: Api, alice: str) -> None:
    ids = [app_of(api, alice, f"app{n}") for n in range(7)]
    key = make_key(api, alice, scope={"applications": ids[:5]}).body["key"]
    api.call("DELETE", f"/v1/applications/{ids[2]}", token=alice)
    seen, cursor = [], None
    while True:
        page = api.get("/v1/applications?limit=2" + (f"&cursor={cursor}" if cursor else ""), token=key).body
        assert len(page["applications"]) <= 2
        seen += [a["id"] for a in page["applications"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted([ids[0], ids[1], ids[3], ids[4]])
    assert api.get("/v1/applications?cursor=bogus", token=key).status == 400


def test_a_scoped_key_costs_no_more_round_trips(api: Api, alice: str) -> None:
    fleet = app_of(api, alice, "fleet")
    key = make_key(api, alice, scope={"applications": [fleet], "permissions": ["read"]}).body["key"]
    calls = count_dynamodb_calls()
    assert api.get("/v1/user", token=key).status == 200
    # The key (its scope included) and the user; the first use is recorded, as for any key.
    assert calls == ["GetItem", "GetItem", "UpdateItem"]
    calls.clear()
    assert api.get("/v1/user", token=key).status == 200
    assert calls == ["GetItem", "GetItem"]
    calls.clear()
    assert api.get(f"/v1/applications/{fleet}", token=key).status == 200
    assert calls == ["GetItem", "GetItem", "BatchGetItem"]  # as for an unscoped key
    calls.clear()
    assert api.get("/v1/applications/01M8F994945TEPAEQ6VJCMXHJ9", token=key).status == 404
    assert calls == ["GetItem", "GetItem"]  # outside the scope: nothing read


def test_the_scope_applies_to_the_people_list(api: Api, alice: str) -> None:
    api.signup("bob")
    one, two = app_of(api, alice, "one"), app_of(api, alice, "two")
    share(api, alice, one, "bob", "observer")
    share(api, alice, two, "bob", "developer")
    key = make_key(api, alice, scope={"applications": [two]}).body["key"]
    people = api.get("/v1/collaborators", token=key).body["collaborators"]
    assert [(p["username"], [a["id"] for a in p["applications"]]) for p in people] == [("bob", [two])]
    blind = make_key(api, alice, scope={"permissions": ["operate"]}).body["key"]
    assert api.get("/v1/collaborators", token=blind).status == 403


def test_creating_a_key_needs_a_recent_authentication(api: Api, alice: str, clock: FakeClock) -> None:
    clock.advance(3600)
    reply = make_key(api, alice)
    assert reply.status == 403 and reply.body["Code"] == "ReauthenticationRequiredError"


# --- rotation ---------------------------------------------------------------------------------


def rotate(api: Api, token: str, key_id: str, **body: Any) -> Any:
    return api.post(f"/v1/user/api-keys/{key_id}/rotate", body, token=token)


def test_rotation_copies_the_key_and_ends_the_old_one_at_once(api: Api, alice: str, services: Services) -> None:
    fleet = app_of(api, alice, "fleet")
    old = make_key(
        api, alice, description="deploys", expires_at="2040-01-01T00:00:00Z", scope={"applications": [fleet]}
    ).body
    new = rotate(api, alice, old["id"])
    assert new.status == 201 and new.headers["cache-control"] == "no-store"
    assert new.body["key"] != old["key"] and new.body["id"] != old["id"] and new.body["prefix"] == new.body["key"][:8]
    for field in ("name", "description", "expires_at", "scope"):
        assert new.body[field] == old[field]
    assert api.get("/v1/user", token=old["key"]).status == 401
    assert api.get(f"/v1/applications/{fleet}", token=new.body["key"]).status == 200
    assert api.post("/v1/applications", {"name": "x"}, token=new.body["key"]).status == 403  # the scope came along
    assert [k["id"] for k in api.get("/v1/user/api-keys", token=alice).body["api_keys"]] == [new.body["id"]]


def test_a_grace_keeps_both_keys_working_until_it_ends(api: Api, alice: str, clock: FakeClock) -> None:
    old = make_key(api, alice).body
    new = rotate(api, alice, old["id"], grace_seconds=600).body
    listed = {k["id"]: k for k in api.get("/v1/user/api-keys", token=alice).body["api_keys"]}
    assert listed[old["id"]]["expires_at"] == "2033-05-18T03:43:20Z" and listed[new["id"]]["expires_at"] is None
    clock.advance(599)
    assert api.get("/v1/user", token=old["key"]).status == 200
    assert api.get("/v1/user", token=new["key"]).status == 200
    clock.advance(1)
    assert api.get("/v1/user", token=old["key"]).status == 401
    assert api.get("/v1/user", token=new["key"]).status == 200


def test_a_grace_never_lengthens_the_old_keys_life(api: Api, alice: str, clock: FakeClock) -> None:
    old = make_key(api, alice, expires_at="2033-05-18T04:00:00Z").body
    new = rotate(api, alice, old["id"], grace_seconds=604800).body
    assert new["expires_at"] == "2033-05-18T04:00:00Z"
    listed = {k["id"]: k for k in api.get("/v1/user/api-keys", token=alice).body["api_keys"]}
    assert listed[old["id"]]["expires_at"] == "2033-05-18T04:00:00Z"


def test_the_old_keys_new_end_is_found_by_the_purge(api: Api, alice: str, services: Services, clock: FakeClock) -> None:
    old = make_key(api, alice).body
    new = rotate(api, alice, old["id"], grace_seconds=60).body
    clock.advance(120)
    purge_expired(services.settings, clock())
    items = dynamo.client().scan(TableName=services.settings.table_name("api_keys"))["Items"]
    assert [dynamo.from_item(i)["key_id"] for i in items] == [new["id"]]


@pytest.mark.parametrize("grace", [-1, 604801, "60", 1.5, None])
def test_a_bad_grace_is_a_400(api: Api, alice: str, grace: Any) -> None:
    old = make_key(api, alice).body
    reply = rotate(api, alice, old["id"], grace_seconds=grace)
    assert reply.status == 400 and reply.body["Message"].startswith("grace_seconds:")
    assert api.get("/v1/user", token=old["key"]).status == 200


def test_rotating_someone_elses_unknown_or_expired_key_is_a_404(api: Api, alice: str, clock: FakeClock) -> None:
    bob = api.signup("bob").body["token"]
    theirs = make_key(api, bob).body
    assert rotate(api, alice, theirs["id"]).status == 404
    assert api.get("/v1/user", token=theirs["key"]).status == 200
    assert rotate(api, alice, "01M8F994945TEPAEQ6VJCMXHJ9").status == 404
    assert rotate(api, alice, "nope").status == 404
    short = make_key(api, alice, expires_at="2033-05-18T03:40:00Z").body
    clock.advance(400)
    assert rotate(api, alice, short["id"]).status == 404
    ended = make_key(api, alice).body
    rotate(api, alice, ended["id"])
    assert rotate(api, alice, ended["id"]).status == 404  # rotated with no grace: it has ended


def test_rotation_needs_a_recent_session(api: Api, alice: str, clock: FakeClock) -> None:
    other = make_key(api, alice).body
    assert rotate(api, other["key"], other["id"]).status == 403  # an API key may not
    clock.advance(3600)
    reply = rotate(api, alice, other["id"])
    assert reply.status == 403 and reply.body["Code"] == "ReauthenticationRequiredError"


def test_key_events_name_the_key(api: Api, alice: str) -> None:
    first = make_key(api, alice).body
    second = rotate(api, alice, first["id"], grace_seconds=60).body
    assert api.call("DELETE", f"/v1/user/api-keys/{second['id']}", token=alice).status == 204
    events = api.get("/v1/user/events", token=alice).body["events"]
    typed = [(e["type"], e["details"]) for e in events if e["type"].startswith("api_key.")]
    assert typed[0] == ("api_key.deleted", {"key_id": second["id"], "name": "ci", "prefix": second["prefix"]})
    assert typed[1][0] == "api_key.rotated"
    assert typed[1][1] | {} == {
        "key_id": first["id"],
        "name": "ci",
        "prefix": first["prefix"],
        "new_key_id": second["id"],
        "new_prefix": second["prefix"],
        "old_key_expires_at": typed[1][1]["old_key_expires_at"],
    }
    assert typed[2] == ("api_key.created", {"key_id": first["id"], "name": "ci", "prefix": first["prefix"]})
    assert all(first["key"] not in str(e) and second["key"] not in str(e) for e in events)
