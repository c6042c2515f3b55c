"""POST /v1/user/delete: proof, owners refused, every record of the user gone (read raw), others'
data untouched, the name and the address free at once."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.errors import UnauthorizedError
from chalicelib.services import Services
from chalicelib.store import dynamo
from chalicelib.store.applications import Application
from chalicelib.store.grants import Grant
from chalicelib.store.tables import TABLES
from tests.conftest import PASSWORD, START, Api, FakeClock, Outbox
from tests.functional.test_passwords import device_token
from tests.functional.test_two_factor import app_code, enable_two_factor


def every_item(services: Services) -> dict[str, list[dict[str, Any]]]:
    """Every item of every table, raw (a Scan: tests only)."""
    items: dict[str, list[dict[str, Any]]] = {}
    for table in TABLES:
        name = services.settings.table_name(table.name)
        found: list[dict[str, Any]] = []
        for page in dynamo.client().get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
            found += [dynamo.from_item(i) for i in page["Items"]]
        items[table.name] = found
    return items


def mentioning(items: dict[str, list[dict[str, Any]]], *needles: str) -> list[tuple[str, dict[str, Any]]]:
    """The items that mention any of ``needles``, except applications' audit logs: those are their
    owners' records (who was added when), kept when a collaborator's account goes."""
    return [
        (t, i)
        for t, rows in items.items()
        for i in rows
        if any(n.lower() in repr(i).lower() for n in needles) and not str(i.get("stream", "")).startswith("APP#")
    ]


def delete(api: Api, token: str, **body: str) -> Any:
    return api.post("/v1/user/delete", {"password": PASSWORD, **body}, token=token)


def test_deleting_removes_every_record_of_the_user_and_nothing_else(
    api: Api, services: Services, clock: FakeClock, outbox: Outbox
) -> None:
    bob = api.signup("bob").body["token"]
    bob_app = api.post("/v1/applications", {"name": "fleet"}, token=bob).body["id"]
    alice = api.signup("alice").body["token"]
    alice_id = api.get("/v1/user", token=alice).body["id"]
    assert (
        api.call("PUT", f"/v1/applications/{bob_app}/collaborators/alice", {"role": "developer"}, token=bob).status
        == 201
    )
    assert api.post("/v1/user/api-keys", {"name": "ci"}, token=alice).status == 201
    api.post("/v1/user/api-keys", {"name": "old", "expires_at": "2033-05-18T04:00:00Z"}, token=alice)
    other_session = api.login("alice").body["token"]
    device_token(services, alice_id, clock)
    api.post("/v1/user/email", {"email": "alice@new.example"}, token=alice)  # a pending change
    api.post("/v1/password-reset", {"email": "alice@example.com"})
    api.login("alice", "a wrong password")  # a login counter
    api.post("/v1/user/password", {"current_password": "wrong again!", "new_password": "whatever long"}, token=alice)
    secret, _ = enable_two_factor(api, alice, clock)
    clock.advance(2400)  # the expiring key has expired; the session is still recent enough
    before = every_item(services)
    bob_items = {t: [i for i in rows if not mentioning({t: [i]}, alice_id, "alice")] for t, rows in before.items()}
    assert mentioning(before, alice_id)

    reply = delete(api, alice, code=app_code(secret, clock))
    assert reply.status == 204, reply.body
    after = every_item(services)
    # Failed-login counters per address cannot be found by user (their key holds the address of
    # whoever failed): they are the attempts of others, not the account's data, and expire within a
    # day, when the purge removes them.
    left = [i for i in after["throttles"] if i["key"].startswith(f"login-account-address#{alice_id}#")]
    assert all(i["expires_at"] <= clock() + 86400 for i in left)
    after["throttles"] = [i for i in after["throttles"] if i not in left]
    assert mentioning(after, alice_id, "alice@") == []
    assert mentioning(after, "USERNAME#alice") == []
    assert after == bob_items  # everybody else's records are all there, unchanged
    for token in (alice, other_session):
        assert api.get("/v1/user", token=token).status == 401
    assert api.get(f"/v1/applications/{bob_app}/collaborators", token=bob).body["collaborators"] == []
    # The name and the address are free from the very next request on.
    again = api.post("/v1/signup", {"username": "ALICE", "email": "Alice@Example.com", "password": PASSWORD})
    assert again.status == 201
    assert api.get("/v1/user/events", token=again.body["token"]).body["events"] == [] or all(
        e["type"] == "signup" for e in api.get("/v1/user/events", token=again.body["token"]).body["events"]
    )


def test_an_owner_is_refused_with_the_names_of_the_applications(api: Api) -> None:
    alice = api.signup("alice").body["token"]
    for name in ("fleet", "lab"):
        api.post("/v1/applications", {"name": name}, token=alice)
    reply = delete(api, alice)
    assert reply.status == 409 and reply.body["Code"] == "ConflictError"
    assert "fleet" in reply.body["Message"] and "lab" in reply.body["Message"]
    assert api.get("/v1/user", token=alice).status == 200
    for app in api.get("/v1/applications", token=alice).body["applications"]:
        api.call("DELETE", f"/v1/applications/{app['id']}", token=alice)
    assert delete(api, alice).status == 204


def test_the_password_and_with_two_factor_a_code_are_required(api: Api, clock: FakeClock) -> None:
    alice = api.signup("alice").body["token"]
    wrong = api.post("/v1/user/delete", {"password": "not the password"}, token=alice)
    assert wrong.status == 400 and wrong.body["Code"] == "InvalidPasswordError"
    secret, codes = enable_two_factor(api, alice, clock)
    missing = delete(api, alice)
    assert missing.status == 400 and missing.body["Message"].startswith("code:")
    bad = delete(api, alice, code="000000" if app_code(secret, clock) != "000000" else "111111")
    assert bad.status == 400 and bad.body["Code"] == "InvalidTotpCodeError"
    both = delete(api, alice, code="123456", recovery_code=codes[0])
    assert both.status == 400
    assert delete(api, alice, recovery_code=codes[0]).status == 204
    assert api.login().status == 401


def test_wrong_proofs_count_toward_the_held_session_limit(api: Api) -> None:
    alice = api.signup("alice").body["token"]
    for _ in range(5):
        assert api.post("/v1/user/delete", {"password": "not the password"}, token=alice).status == 400
    held = delete(api, alice)
    assert held.status == 429 and "retry-after" in held.headers


def test_deleting_needs_a_recent_authentication(api: Api, clock: FakeClock) -> None:
    alice = api.signup("alice").body["token"]
    clock.advance(3600)
    reply = delete(api, alice)
    assert reply.status == 403 and reply.body["Code"] == "ReauthenticationRequiredError"


def test_no_application_can_be_created_for_an_account_being_deleted(api: Api, services: Services) -> None:
    """The race with a concurrent create: the create's transaction requires its owner's item."""
    alice = api.signup("alice").body["token"]
    user = api.get("/v1/user", token=alice).body
    stale = services.accounts.users.get(user["id"])  # what a request authenticated just before holds
    assert delete(api, alice).status == 204
    try:
        services.applications.create(stale, "fleet", None)  # type: ignore[arg-type]
    except UnauthorizedError:
        pass
    else:
        raise AssertionError("an application was created for a deleted account")
    assert mentioning(every_item(services), user["id"]) == []


def test_an_application_created_just_before_the_deletion_goes_with_it(api: Api, services: Services) -> None:
    """One that the owner check did not see (its index lagging) is found by the clean-up."""
    alice = api.signup("alice").body["token"]
    user = services.accounts.users.get(api.get("/v1/user", token=alice).body["id"])
    assert user is not None
    dynamo.transact(services.deletion.users.delete_entries(user, START), on_condition_failure=lambda failed: None)
    # As if the create had committed just before the transaction above, unseen by the owner check:
    app_id = "01M8RCNS9QAS7BS3DYM4DBDDRB"
    owner = Grant(app_id, user.user_id, "alice", "owner", 0)
    app = Application(app_id, "fleet", None, user.user_id, "alice", 0)
    services.applications.apps.create(app, with_entries=[services.applications.grants.put_entry(owner)])
    services.purge.run()  # the request died after its transaction: the purge finishes the deletion
    assert mentioning(every_item(services), user.user_id) == []


@pytest.mark.parametrize("credential", ["session", "api key"])
def test_a_leftover_credential_used_again_is_refused_and_finishes_the_deletion(
    api: Api, services: Services, credential: str
) -> None:
    alice = api.signup("alice").body["token"]
    key = api.post("/v1/user/api-keys", {"name": "ci"}, token=alice).body["key"]
    user = services.accounts.users.get(api.get("/v1/user", token=alice).body["id"])
    assert user is not None
    # The deletion's request died right after its transaction: the session and the key are left.
    dynamo.transact(services.deletion.users.delete_entries(user, START), on_condition_failure=lambda failed: None)
    assert mentioning(every_item(services), user.user_id)
    reply = api.get("/v1/user", token=alice if credential == "session" else key)
    assert reply.status == 401 and reply.body["Code"] == "UnauthorizedError"
    assert mentioning(every_item(services), user.user_id) == []  # the tombstone too: nothing is left
    assert api.get("/v1/user", token=key if credential == "session" else alice).status == 401
