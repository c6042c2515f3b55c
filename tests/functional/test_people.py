"""The organization's people (GET and DELETE /v1/collaborators), ownership transfer, and the
applications' audit log."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chalicelib.services import Services
from chalicelib.store import dynamo
from tests.conftest import Api, FakeClock, count_dynamodb_calls


def app_of(api: Api, token: str, name: str) -> str:
    reply = api.post("/v1/applications", {"name": name}, token=token)
    assert reply.status == 201, reply.body
    app_id: str = reply.body["id"]
    return app_id


def share(api: Api, owner: str, app_id: str, username: str, role: str = "observer") -> None:
    reply = api.call("PUT", f"/v1/applications/{app_id}/collaborators/{username}", {"role": role}, owner)
    assert reply.status in (200, 201), reply.body


def grants_of(services: Services, app_id: str) -> list[dict[str, Any]]:
    reply = dynamo.client().query(
        TableName=services.settings.table_name("grants"),
        KeyConditionExpression="app_id = :a",
        ExpressionAttributeValues=dynamo.to_item({":a": app_id}),
        ConsistentRead=True,
    )
    return [dynamo.from_item(i) for i in reply["Items"]]


def people(api: Api, token: str, limit: int = 100) -> list[dict[str, Any]]:
    found, cursor = [], None
    while True:
        page = api.get(f"/v1/collaborators?limit={limit}" + (f"&cursor={cursor}" if cursor else ""), token=token)
        assert page.status == 200, page.body
        assert len(page.body["collaborators"]) <= limit
        found += page.body["collaborators"]
        cursor = page.body["next_cursor"]
        if cursor is None:
            return found


# --- the people list ----------------------------------------------------------------------------


def test_the_people_list_names_everyone_once_with_their_applications(api: Api, clock: FakeClock) -> None:
    olivia = api.signup("olivia").body["token"]
    for name in ("Zed", "amy", "bob2", "bob", "carl"):
        api.signup(name)
    one, two, three = (app_of(api, olivia, n) for n in ("one", "two", "three"))
    share(api, olivia, one, "bob", "developer")
    clock.advance(10)
    share(api, olivia, two, "bob", "observer")
    share(api, olivia, three, "Zed", "operator")
    share(api, olivia, one, "amy")
    share(api, olivia, two, "bob2")
    # carl's access to someone else's application is not olivia's business.
    other = api.signup("other").body["token"]
    share(api, other, app_of(api, other, "theirs"), "carl")
    for limit in (1, 2, 100):
        listed = people(api, olivia, limit)
        assert [p["username"] for p in listed] == ["amy", "bob", "bob2", "Zed"]
    bob = next(p for p in listed if p["username"] == "bob")
    assert sorted(bob["applications"], key=lambda a: a["name"]) == [
        {"id": one, "name": "one", "role": "developer", "added_at": "2033-05-18T03:33:20Z"},
        {"id": two, "name": "two", "role": "observer", "added_at": "2033-05-18T03:33:30Z"},
    ]
    assert [(p["username"], [a["name"] for a in p["applications"]]) for p in people(api, other)] == [
        ("carl", ["theirs"])
    ]


def test_a_page_of_people_costs_what_the_page_holds(api: Api) -> None:
    olivia = api.signup("olivia").body["token"]
    apps = [app_of(api, olivia, f"app{n}") for n in range(3)]
    for n in range(12):
        api.signup(f"user{n:02}")
        for app_id in apps:
            share(api, olivia, app_id, f"user{n:02}")
    calls = count_dynamodb_calls()
    page = api.get("/v1/collaborators?limit=2", token=olivia).body
    assert [p["username"] for p in page["collaborators"]] == ["user00", "user01"]
    assert calls == ["BatchGetItem", "Query", "BatchGetItem"]  # the session; the index; grants and apps
    assert api.get("/v1/collaborators?cursor=bogus", token=olivia).status == 400


def test_an_owner_of_nothing_shared_has_no_people(api: Api, alice: str) -> None:
    app_of(api, alice, "lonely")
    assert api.get("/v1/collaborators", token=alice).body == {"collaborators": [], "next_cursor": None}


# --- offboarding --------------------------------------------------------------------------------


def test_offboarding_removes_someone_from_every_application_at_once(api: Api, services: Services) -> None:
    olivia = api.signup("olivia").body["token"]
    leaver = api.signup("leaver").body["token"]
    stays = api.signup("stays").body["token"]
    other = api.signup("other").body["token"]
    apps = [app_of(api, olivia, f"app{n}") for n in range(30)]  # more than one transaction's worth
    for app_id in apps:
        share(api, olivia, app_id, "leaver", "developer")
    share(api, olivia, apps[0], "stays")
    theirs = app_of(api, other, "theirs")
    share(api, other, theirs, "leaver")
    calls = count_dynamodb_calls()
    reply = api.call("DELETE", "/v1/collaborators/LEAVER", token=olivia)
    assert reply.status == 200 and sorted(reply.body["removed_from"]) == sorted(apps)
    assert calls.count("TransactWriteItems") == 2  # 25 removals with their events, then 5
    for app_id in apps:
        assert api.get(f"/v1/applications/{app_id}", token=leaver).status == 404
        assert [g["username"] for g in grants_of(services, app_id) if g["role"] != "owner"] == (
            ["stays"] if app_id == apps[0] else []
        )
    assert api.get(f"/v1/applications/{apps[0]}", token=stays).status == 200
    assert [a["id"] for a in api.get("/v1/applications", token=leaver).body["applications"]] == [theirs]
    assert [p["username"] for p in people(api, olivia)] == ["stays"]
    events = api.get(f"/v1/applications/{apps[7]}/events", token=olivia).body["events"]
    assert events[0]["type"] == "collaborator.removed" and events[0]["details"]["username"] == "leaver"
    # Done: again is a 404, as for a stranger or a name no one has.
    assert api.call("DELETE", "/v1/collaborators/leaver", token=olivia).status == 404
    assert api.call("DELETE", "/v1/collaborators/nobody", token=olivia).status == 404
    assert api.call("DELETE", "/v1/collaborators/other", token=olivia).status == 404
    assert api.call("DELETE", "/v1/collaborators/olivia", token=olivia).status == 404


def test_offboarding_that_died_midway_is_finished_by_repeating_it(api: Api, services: Services) -> None:
    olivia = api.signup("olivia").body["token"]
    leaver = api.signup("leaver").body["token"]
    apps = [app_of(api, olivia, f"app{n}") for n in range(4)]
    for app_id in apps:
        share(api, olivia, app_id, "leaver")
    # As if a first request had removed two grants (with their events) and died.
    for app_id in apps[:2]:
        assert api.call("DELETE", f"/v1/applications/{app_id}/collaborators/leaver", token=olivia).status == 204
    reply = api.call("DELETE", "/v1/collaborators/leaver", token=olivia)
    assert reply.status == 200 and sorted(reply.body["removed_from"]) == sorted(apps[2:])
    assert all(api.get(f"/v1/applications/{a}", token=leaver).status == 404 for a in apps)


def test_offboarding_needs_a_session_token(api: Api, alice: str) -> None:
    key = api.post("/v1/user/api-keys", {"name": "k"}, token=alice).body["key"]
    assert api.call("DELETE", "/v1/collaborators/bob", token=key).status == 403
    assert api.get("/v1/collaborators", token=key).status == 200


# --- transfer -----------------------------------------------------------------------------------


def transfer(api: Api, token: str, app_id: str, username: str) -> Any:
    return api.post(f"/v1/applications/{app_id}/transfer", {"username": username}, token=token)


def owners_agree(services: Services, app_id: str) -> str | None:
    """The application's one owner, agreed on by its item and its grants; None if it is gone."""
    item = (
        dynamo.client()
        .get_item(
            TableName=services.settings.table_name("applications"),
            Key=dynamo.to_item({"pk": f"APP#{app_id}"}),
            ConsistentRead=True,
        )
        .get("Item")
    )
    if item is None or "deleted" in item:
        return None
    app = dynamo.from_item(item)
    grants = grants_of(services, app_id)
    owners = [g["user_id"] for g in grants if g["role"] == "owner"]
    assert owners == [app["owner_id"]], (owners, app["owner_id"])
    assert all(g.get("owner_id") == app["owner_id"] for g in grants if g["role"] != "owner")
    return str(app["owner_id"])


def test_a_transfer_makes_the_collaborator_owner_and_the_owner_a_developer(api: Api, services: Services) -> None:
    olivia = api.signup("olivia").body["token"]
    nina = api.signup("nina").body["token"]
    api.signup("sam")
    app_id = app_of(api, olivia, "fleet")
    share(api, olivia, app_id, "nina", "observer")
    share(api, olivia, app_id, "sam", "operator")
    reply = transfer(api, olivia, app_id, "NINA")
    assert reply.status == 200, reply.body
    assert reply.body["owner"] == "nina" and reply.body["role"] == "developer"
    assert reply.body["permissions"] == ["read", "write", "operate"]
    assert api.get(f"/v1/applications/{app_id}", token=olivia).body == reply.body
    seen = api.get(f"/v1/applications/{app_id}", token=nina).body
    assert seen["role"] == "owner" and seen["owner"] == "nina"
    owners_agree(services, app_id)
    # The names moved: olivia may make another "fleet", nina may not.
    assert api.post("/v1/applications", {"name": "FLEET"}, token=olivia).status == 201
    assert api.post("/v1/applications", {"name": "fleet"}, token=nina).status == 409
    # The people lists moved too.
    assert [p["username"] for p in people(api, nina)] == ["olivia", "sam"]
    assert people(api, olivia) == []
    collaborators = api.get(f"/v1/applications/{app_id}/collaborators", token=nina).body["collaborators"]
    assert sorted((c["username"], c["role"]) for c in collaborators) == [("olivia", "developer"), ("sam", "operator")]
    event = api.get(f"/v1/applications/{app_id}/events", token=nina).body["events"][0]
    assert event["type"] == "application.transferred" and event["actor"] == "olivia"
    assert event["details"] == {"username": "nina", "from": "olivia", "to": "nina"}
    # nina may offboard olivia from it.
    assert api.call("DELETE", "/v1/collaborators/olivia", token=nina).body == {"removed_from": [app_id]}
    assert api.get(f"/v1/applications/{app_id}", token=olivia).status == 404


@pytest.mark.parametrize("username", ["sam", "nobody", "olivia", "a@b.co"])
def test_only_a_collaborator_may_receive_an_application(api: Api, username: str) -> None:
    olivia = api.signup("olivia").body["token"]
    api.signup("sam")
    app_id = app_of(api, olivia, "fleet")
    reply = transfer(api, olivia, app_id, username)
    assert reply.status == 400 and reply.body["Message"].startswith("username:")
    assert api.get(f"/v1/applications/{app_id}", token=olivia).body["role"] == "owner"


def test_only_the_owner_may_transfer(api: Api, services: Services) -> None:
    olivia = api.signup("olivia").body["token"]
    dev = api.signup("dev").body["token"]
    stranger = api.signup("sam").body["token"]
    app_id = app_of(api, olivia, "fleet")
    share(api, olivia, app_id, "dev", "developer")
    assert transfer(api, dev, app_id, "dev").status == 403
    assert transfer(api, stranger, app_id, "dev").status == 404
    key = api.post("/v1/user/api-keys", {"name": "k"}, token=olivia).body["key"]
    assert transfer(api, key, app_id, "dev").status == 403
    assert owners_agree(services, app_id) is not None
    assert api.get(f"/v1/applications/{app_id}", token=olivia).body["role"] == "owner"


def test_a_transfer_needs_a_recent_authentication(api: Api, clock: FakeClock) -> None:
    olivia = api.signup("olivia").body["token"]
    api.signup("dev")
    app_id = app_of(api, olivia, "fleet")
    share(api, olivia, app_id, "dev")
    clock.advance(3600)
    reply = transfer(api, olivia, app_id, "dev")
    assert reply.status == 403 and reply.body["Code"] == "ReauthenticationRequiredError"


def test_the_new_owner_must_not_have_an_application_of_that_name(api: Api, services: Services) -> None:
    olivia = api.signup("olivia").body["token"]
    nina = api.signup("nina").body["token"]
    app_id = app_of(api, olivia, "fleet")
    app_of(api, nina, "FLEET")
    share(api, olivia, app_id, "nina")
    reply = transfer(api, olivia, app_id, "nina")
    assert reply.status == 409 and reply.body["Code"] == "ConflictError"
    assert owners_agree(services, app_id) == api.get("/v1/user", token=olivia).body["id"]
    assert api.get(f"/v1/applications/{app_id}", token=nina).body["role"] == "observer"


def test_simultaneous_transfers_and_deletes_leave_exactly_one_owner(api: Api, services: Services) -> None:
    olivia = api.signup("olivia").body["token"]
    names = ["nina", "nora", "ned"]
    for name in names:
        api.signup(name)
    for round_ in range(4):
        app_id = app_of(api, olivia, f"fleet{round_}")
        for name in names:
            share(api, olivia, app_id, name, "developer")
        barrier = threading.Barrier(len(names) + 1)
        results: list[int] = []

        def send(
            action: str,
            name: str = "",
            app_id: str = app_id,
            barrier: threading.Barrier = barrier,
            results: list[int] = results,
        ) -> None:
            barrier.wait()
            if action == "delete":
                reply = api.call("DELETE", f"/v1/applications/{app_id}", token=olivia)
            else:
                reply = transfer(api, olivia, app_id, name)
            results.append(reply.status)

        threads = [threading.Thread(target=send, args=("transfer", n)) for n in names]
        if round_ % 2:
            threads.append(threading.Thread(target=send, args=("delete",)))
        else:
            threads.append(threading.Thread(target=send, args=("transfer", names[0])))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert 500 not in results and (200 in results or 204 in results), results
        owner = owners_agree(services, app_id)
        if owner is not None:
            # One transfer won; the others found olivia no owner any more (403).
            assert results.count(200) == 1, results


# --- the audit log ------------------------------------------------------------------------------


def test_each_change_of_an_application_is_in_its_audit_log(api: Api) -> None:
    olivia = api.signup("olivia").body["token"]
    bob = api.signup("bob").body["token"]
    api.signup("sam")
    app_id = api.post("/v1/applications", {"name": "fleet", "description": "old"}, token=olivia).body["id"]
    api.call("PATCH", f"/v1/applications/{app_id}", {"name": "fleet2", "description": None}, olivia)
    share(api, olivia, app_id, "bob", "observer")
    share(api, olivia, app_id, "bob", "observer")  # no change: no event
    share(api, olivia, app_id, "bob", "developer")
    share(api, olivia, app_id, "sam", "operator")
    api.call("DELETE", f"/v1/applications/{app_id}/collaborators/sam", token=olivia)
    api.call("DELETE", f"/v1/applications/{app_id}/collaborators/bob", token=bob)
    events = api.get(f"/v1/applications/{app_id}/events", token=olivia).body["events"]
    assert [(e["type"], e["details"]) for e in reversed(events)] == [
        ("application.created", {"name": "fleet", "description": "old"}),
        (
            "application.updated",
            {"name": {"old": "fleet", "new": "fleet2"}, "description": {"old": "old", "new": None}},
        ),
        ("collaborator.added", {"username": "bob", "role": "observer"}),
        ("collaborator.role_changed", {"username": "bob", "from": "observer", "to": "developer"}),
        ("collaborator.added", {"username": "sam", "role": "operator"}),
        ("collaborator.removed", {"username": "sam", "role": "operator"}),
        ("collaborator.left", {"username": "bob"}),
    ]
    assert [e["actor"] for e in events] == ["bob"] + ["olivia"] * 6


def test_a_refused_change_leaves_no_event(api: Api) -> None:
    olivia = api.signup("olivia").body["token"]
    app_id = app_of(api, olivia, "fleet")
    app_of(api, olivia, "taken")
    assert api.call("PATCH", f"/v1/applications/{app_id}", {"name": "taken"}, olivia).status == 409
    assert (
        api.call("PUT", f"/v1/applications/{app_id}/collaborators/nobody", {"role": "observer"}, olivia).status == 404
    )
    events = api.get(f"/v1/applications/{app_id}/events", token=olivia).body["events"]
    assert [e["type"] for e in events] == ["application.created"]
