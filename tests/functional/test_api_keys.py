"""API keys: creating, listing and revoking them, and requests authenticated by them."""

from __future__ import annotations

import base64
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib.security.api_keys import BASE62, generate_api_key
from chalicelib.services import Services
from chalicelib.store import dynamo
from tests.conftest import Api, FakeClock, count_dynamodb_calls
from tests.functional.test_purge import scheduled_event

MINUTE = 60
NOW = "2033-05-18T03:33:20Z"  # the fake clock's first reading


def create_key(api: Api, token: str, name: str = "ci", **fields: Any) -> dict[str, Any]:
    reply = api.post("/v1/user/api-keys", {"name": name, **fields}, token=token)
    assert reply.status == 201, reply.body
    body: dict[str, Any] = reply.body
    return body


def list_keys(api: Api, token: str, query: str = "") -> dict[str, Any]:
    reply = api.get("/v1/user/api-keys" + query, token=token)
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.body
    return body


def scan(services: Services) -> list[dict[str, Any]]:
    table = services.settings.table_name("api_keys")
    pages = dynamo.client().get_paginator("scan").paginate(TableName=table)
    return [dynamo.from_item(i) for p in pages for i in p["Items"]]


def last_used(api: Api, token: str) -> str | None:
    value: str | None = list_keys(api, token)["api_keys"][0]["last_used_at"]
    return value


# Creating


def test_create_returns_the_key_once_with_its_record(api: Api, alice: str) -> None:
    reply = api.post("/v1/user/api-keys", {"name": "deploy bot", "description": "CI"}, token=alice)
    assert reply.status == 201 and reply.headers["cache-control"] == "no-store"
    body = reply.body
    key = body.pop("key")
    assert key.startswith("lk_") and len(key) == 41
    assert body == {
        "id": body["id"],
        "name": "deploy bot",
        "description": "CI",
        "prefix": key[:8],
        "created_at": NOW,
        "expires_at": None,
        "last_used_at": None,
        "scope": None,
    }
    [listed] = list_keys(api, alice)["api_keys"]
    assert listed == body  # the same record, without the key


def test_create_with_an_expiry(api: Api, alice: str) -> None:
    created = create_key(api, alice, expires_at="2033-05-18T04:33:20Z", description=None)
    assert created["expires_at"] == "2033-05-18T04:33:20Z" and created["description"] is None


def test_the_key_is_stored_only_as_its_sha256(api: Api, alice: str, services: Services) -> None:
    keys = [create_key(api, alice, name=f"key {i}")["key"] for i in range(3)]
    api.get("/v1/user", token=keys[0])  # a use writes last_used_at: still no key in the table
    items = scan(services)
    assert sorted(i["key_hash"] for i in items) == sorted(hashlib.sha256(k.encode()).hexdigest() for k in keys)
    stored = json.dumps(items)
    for key in keys:
        assert key not in stored and key[3:35] not in stored  # neither the key nor its random part


def test_listing_never_shows_a_key_or_its_hash(api: Api, alice: str, services: Services) -> None:
    keys = [create_key(api, alice, name=f"key {i}")["key"] for i in range(3)]
    hashes = [i["key_hash"] for i in scan(services)]
    pages = [api.get("/v1/user/api-keys?limit=1", token=alice)]
    while pages[-1].body["next_cursor"]:
        pages.append(api.get(f"/v1/user/api-keys?limit=1&cursor={pages[-1].body['next_cursor']}", token=alice))
    assert len(pages) == 3
    for page in pages:
        # The cursor is base64 of JSON: decode it too, so a hash hidden in it would show.
        cursor = page.body["next_cursor"] or ""
        text = json.dumps(page.body) + base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        assert all(k not in text and k[3:35] not in text for k in keys)
        assert all(h not in text for h in hashes)
        assert all("key" not in item for item in page.body["api_keys"])


BAD_FIELDS = [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 65}, "name"),
    ({"name": 7}, "name"),
    ({"name": None}, "name"),
    ({"name": "ok", "description": "x" * 257}, "description"),
    ({"name": "ok", "description": 5}, "description"),
    ({"name": "ok", "expires_at": "2033-05-18T03:33:19Z"}, "expires_at"),  # the past
    ({"name": "ok", "expires_at": NOW}, "expires_at"),  # now is not the future
    ({"name": "ok", "expires_at": "tomorrow"}, "expires_at"),
    ({"name": "ok", "expires_at": "2033-05-19T03:33:20"}, "expires_at"),  # no time zone
    ({"name": "ok", "expires_at": 2000000600}, "expires_at"),
    ({"name": "ok", "expires_at": "2" * 100}, "expires_at"),
    ({"name": "ok", "key": "lk_mine"}, "key"),
]


@pytest.mark.parametrize("body, field", BAD_FIELDS)
def test_create_refuses_bad_fields(api: Api, alice: str, body: dict[str, Any], field: str) -> None:
    reply = api.post("/v1/user/api-keys", body, token=alice)
    assert reply.status == 400 and reply.body["Code"] == "BadRequestError"
    assert reply.body["Message"].startswith(field + ":")


def test_create_accepts_the_longest_fields(api: Api, alice: str) -> None:
    created = create_key(api, alice, name="n" * 64, description="d" * 256, expires_at="2033-05-18T03:33:21+00:00")
    assert created["expires_at"] == "2033-05-18T03:33:21Z"


# Authenticating by a key


def test_a_key_authenticates_get_user_in_two_round_trips(api: Api, alice: str) -> None:
    key = create_key(api, alice)["key"]
    me = api.get("/v1/user", token=alice).body
    assert api.get("/v1/user", token=key).body == me  # the first use also records last_used_at
    calls = count_dynamodb_calls()
    reply = api.get("/v1/user", token=key)
    assert reply.status == 200 and reply.body == me
    assert calls == ["GetItem", "GetItem"]  # the key by its hash, then the user


def test_a_key_may_list_keys(api: Api, alice: str) -> None:
    key = create_key(api, alice)["key"]
    assert [k["name"] for k in list_keys(api, key)["api_keys"]] == ["ci"]


def test_a_key_with_any_one_character_changed_is_refused_without_a_lookup(api: Api, alice: str) -> None:
    key = create_key(api, alice)["key"]
    calls = count_dynamodb_calls()
    for position in range(len(key)):
        replacement = BASE62[(BASE62.find(key[position]) + 1) % 62]
        typo = key[:position] + replacement + key[position + 1 :]
        reply = api.get("/v1/user", token=typo)
        assert reply.status == 401 and reply.body["Code"] == "UnauthorizedError", position
    assert calls == []


def test_a_made_up_key_with_a_valid_checksum_is_refused(api: Api, alice: str) -> None:
    create_key(api, alice)
    calls = count_dynamodb_calls()
    reply = api.get("/v1/user", token=generate_api_key())
    assert reply.status == 401 and reply.body["Code"] == "UnauthorizedError"
    assert calls == ["GetItem"]


SESSION_ONLY = [
    ("POST", "/v1/user/refresh-token", {}),
    ("POST", "/v1/user/api-keys", {"name": "another"}),
    ("DELETE", "/v1/user/api-keys/{id}", None),
    ("POST", "/v1/user/api-keys/batch-delete", {"ids": ["{id}"]}),
]


@pytest.mark.parametrize("method, path, body", SESSION_ONLY)
def test_a_key_gets_403_on_session_only_routes(api: Api, alice: str, method: str, path: str, body: Any) -> None:
    created = create_key(api, alice)
    sent = json.loads(json.dumps(body).replace("{id}", created["id"])) if body is not None else None
    reply = api.call(method, path.replace("{id}", created["id"]), sent, token=created["key"])
    assert reply.status == 403 and reply.body["Code"] == "ForbiddenError"
    assert [k["id"] for k in list_keys(api, alice)["api_keys"]] == [created["id"]]  # nothing happened


def test_key_routes_need_a_credential(api: Api) -> None:
    assert api.get("/v1/user/api-keys").status == 401
    assert api.post("/v1/user/api-keys", {"name": "x"}).status == 401


def test_a_deleted_key_is_refused_on_the_very_next_request(api: Api, alice: str) -> None:
    created = create_key(api, alice)
    assert api.get("/v1/user", token=created["key"]).status == 200
    assert api.call("DELETE", f"/v1/user/api-keys/{created['id']}", token=alice).status == 204
    reply = api.get("/v1/user", token=created["key"])
    assert reply.status == 401 and reply.body["Code"] == "UnauthorizedError"
    assert list_keys(api, alice)["api_keys"] == []


def test_a_batch_deleted_key_is_refused_on_the_very_next_request(api: Api, alice: str, services: Services) -> None:
    created = create_key(api, alice)
    assert api.get("/v1/user", token=created["key"]).status == 200
    reply = api.post("/v1/user/api-keys/batch-delete", {"ids": [created["id"]]}, token=alice)
    assert reply.body == {"deleted": [created["id"]], "not_found": []}
    assert api.get("/v1/user", token=created["key"]).status == 401
    assert scan(services) == []  # and the refused use did not leave a stub behind


def test_an_expired_key_is_refused_from_the_second_it_expires(api: Api, alice: str, clock: FakeClock) -> None:
    key = create_key(api, alice, expires_at="2033-05-18T03:34:20Z")["key"]
    clock.advance(MINUTE - 1)
    assert api.get("/v1/user", token=key).status == 200
    clock.advance(1)
    reply = api.get("/v1/user", token=key)
    assert reply.status == 401 and reply.body["Code"] == "UnauthorizedError"


def test_last_used_at_is_written_on_first_use_then_at_most_every_5_minutes(
    api: Api, alice: str, clock: FakeClock
) -> None:
    key = create_key(api, alice)["key"]
    assert last_used(api, alice) is None
    clock.advance(10)
    calls = count_dynamodb_calls()
    api.get("/v1/user", token=key)
    assert calls.count("UpdateItem") == 1
    assert last_used(api, alice) == "2033-05-18T03:33:30Z"

    calls.clear()
    for _ in range(5):
        clock.advance(59)  # 295 seconds after the first use
        assert api.get("/v1/user", token=key).status == 200
    assert calls.count("UpdateItem") == 0
    assert last_used(api, alice) == "2033-05-18T03:33:30Z"

    clock.advance(5)  # 300 seconds after the first use
    calls.clear()
    assert api.get("/v1/user", token=key).status == 200
    assert calls.count("UpdateItem") == 1
    assert last_used(api, alice) == "2033-05-18T03:38:30Z"


# Listing


def test_pagination_returns_every_key_exactly_once_oldest_first(api: Api, alice: str) -> None:
    created = [create_key(api, alice, name=f"key {i}")["id"] for i in range(7)]  # all within one second
    for limit in (1, 3, 7, 100):
        seen: list[str] = []
        page = list_keys(api, alice, f"?limit={limit}")
        seen += [k["id"] for k in page["api_keys"]]
        while page["next_cursor"]:
            page = list_keys(api, alice, f"?limit={limit}&cursor={page['next_cursor']}")
            assert page["api_keys"]  # never an empty last page
            seen += [k["id"] for k in page["api_keys"]]
        assert seen == created, limit


def test_pagination_survives_deleting_the_last_key_seen(api: Api, alice: str) -> None:
    created = [create_key(api, alice, name=f"key {i}")["id"] for i in range(4)]
    first = list_keys(api, alice, "?limit=2")
    api.call("DELETE", f"/v1/user/api-keys/{created[1]}", token=alice)
    rest = list_keys(api, alice, f"?limit=2&cursor={first['next_cursor']}")
    assert [k["id"] for k in rest["api_keys"]] == created[2:] and rest["next_cursor"] is None


@pytest.mark.parametrize("query", ["?limit=0", "?limit=101", "?limit=x", "?cursor=garbage", "?cursor=e30"])
def test_bad_list_parameters_get_400(api: Api, alice: str, query: str) -> None:
    create_key(api, alice)
    reply = api.get("/v1/user/api-keys" + query, token=alice)
    assert reply.status == 400 and reply.body["Code"] == "BadRequestError"


def test_a_crafted_cursor_with_a_bad_key_id_gets_400(api: Api, alice: str) -> None:
    me = api.get("/v1/user", token=alice).body["id"]
    for key_id in ("", "not-an-id"):
        cursor = dynamo.encode_cursor({"user_id": me, "key_id": key_id})
        assert api.get(f"/v1/user/api-keys?cursor={cursor}", token=alice).status == 400


# One user's keys are not another's


def test_a_user_cannot_list_delete_or_batch_delete_anothers_keys(api: Api, alice: str) -> None:
    bob = api.signup("bob").body["token"]
    alices = [create_key(api, alice, name=f"alice {i}") for i in range(3)]
    bobs = create_key(api, bob, name="bob's")

    assert [k["id"] for k in list_keys(api, bob)["api_keys"]] == [bobs["id"]]
    reply = api.call("DELETE", f"/v1/user/api-keys/{alices[0]['id']}", token=bob)
    assert reply.status == 404 and reply.body["Code"] == "NotFoundError"
    ids = [alices[0]["id"], bobs["id"], alices[1]["id"]]
    reply = api.post("/v1/user/api-keys/batch-delete", {"ids": ids}, token=bob)
    assert reply.status == 200
    assert reply.body == {"deleted": [bobs["id"]], "not_found": [alices[0]["id"], alices[1]["id"]]}

    assert len(list_keys(api, alice)["api_keys"]) == 3
    assert all(api.get("/v1/user", token=k["key"]).status == 200 for k in alices)


def test_a_cursor_from_another_users_list_gets_400(api: Api, alice: str) -> None:
    bob = api.signup("bob").body["token"]
    for i in range(2):
        create_key(api, alice, name=f"alice {i}")
        create_key(api, bob, name=f"bob {i}")
    alices_cursor = list_keys(api, alice, "?limit=1")["next_cursor"]
    reply = api.get(f"/v1/user/api-keys?limit=1&cursor={alices_cursor}", token=bob)
    assert reply.status == 400 and "cursor" in reply.body["Message"]


# Revoking


@pytest.mark.parametrize("key_id", ["01JBZZZZZZZZZZZZZZZZZZZZZZ", "nope"])
def test_deleting_an_unknown_key_gets_404(api: Api, alice: str, key_id: str) -> None:
    create_key(api, alice)
    reply = api.call("DELETE", f"/v1/user/api-keys/{key_id}", token=alice)
    assert reply.status == 404 and reply.body["Code"] == "NotFoundError"


def test_deleting_twice_gets_404_the_second_time(api: Api, alice: str) -> None:
    key_id = create_key(api, alice)["id"]
    assert api.call("DELETE", f"/v1/user/api-keys/{key_id}", token=alice).status == 204
    assert api.call("DELETE", f"/v1/user/api-keys/{key_id}", token=alice).status == 404


def test_batch_delete_of_many_keys_respects_dynamodbs_transaction_limit(api: Api, alice: str) -> None:
    ids = [create_key(api, alice, name=f"key {i}")["id"] for i in range(60)]
    keep = create_key(api, alice, name="keep")
    asked = [*ids, ids[0], "unknown"]  # a repeated id is reported once
    calls = count_dynamodb_calls()
    reply = api.post("/v1/user/api-keys/batch-delete", {"ids": asked}, token=alice)
    assert reply.status == 200 and reply.body == {"deleted": ids, "not_found": ["unknown"]}
    assert calls.count("TransactWriteItems") == 2  # 50 keys and their events, then 10
    assert [k["id"] for k in list_keys(api, alice)["api_keys"]] == [keep["id"]]
    logged = api.get("/v1/user/events", token=alice).body["events"]
    deleted = [e["details"]["key_id"] for e in logged if e["type"] == "api_key.deleted"]
    assert sorted(deleted) == sorted(ids)  # one event per key deleted


@pytest.mark.parametrize(
    "body",
    [{}, {"ids": []}, {"ids": "abc"}, {"ids": [1]}, {"ids": [None]}, {"ids": ["x"] * 101}, {"ids": ["x"], "n": 1}],
)
def test_batch_delete_refuses_bad_ids(api: Api, alice: str, body: dict[str, Any]) -> None:
    reply = api.post("/v1/user/api-keys/batch-delete", body, token=alice)
    assert reply.status == 400 and reply.body["Code"] == "BadRequestError"
    assert reply.body["Message"].split(":")[0] in ("ids", "n")


def test_batch_delete_takes_100_ids(api: Api, alice: str) -> None:
    key_id = create_key(api, alice)["id"]
    ids = [key_id] + [f"unknown-{i}" for i in range(99)]
    reply = api.post("/v1/user/api-keys/batch-delete", {"ids": ids}, token=alice)
    assert reply.status == 200 and reply.body["deleted"] == [key_id] and len(reply.body["not_found"]) == 99


# The purge


def test_the_purge_removes_expired_keys_and_keeps_the_rest(
    api: Api, alice: str, services: Services, clock: FakeClock
) -> None:
    forever = create_key(api, alice, name="forever")
    later = create_key(api, alice, name="later", expires_at="2033-05-20T00:00:00Z")
    soon = [create_key(api, alice, name=f"soon {i}", expires_at="2033-05-18T04:00:00Z") for i in range(3)]
    by_id = {i["key_id"]: i for i in scan(services)}
    assert "expires_at" not in by_id[forever["id"]] and "expiry_bucket" not in by_id[forever["id"]]
    assert by_id[soon[0]["id"]]["expiry_bucket"] == "2033-05-18"

    clock.advance(3600)
    reply = api.client.lambda_.invoke("purge_expired_sessions", scheduled_event(api))
    assert reply.payload["api_keys"]["deleted"] == 3 and reply.payload["api_keys"]["items_read"] == 3
    assert sorted(i["key_id"] for i in scan(services)) == sorted([forever["id"], later["id"]])
    assert api.get("/v1/user", token=forever["key"]).status == 200
    assert api.get("/v1/user", token=later["key"]).status == 200


def test_simultaneous_uses_record_last_used_at_once(api: Api, alice: str, services: Services) -> None:
    create_key(api, alice)
    [stored] = scan(services)
    now = services.clock()
    with ThreadPoolExecutor(max_workers=8) as pool:
        wrote = list(pool.map(lambda _: services.api_keys.store.touch(stored["key_hash"], now, now - 300), range(8)))
    assert wrote.count(True) == 1  # the conditional update lets one of them in


def test_recording_a_use_never_recreates_a_deleted_key(api: Api, alice: str, services: Services) -> None:
    created = create_key(api, alice)
    [stored] = scan(services)
    api.call("DELETE", f"/v1/user/api-keys/{created['id']}", token=alice)
    assert services.api_keys.store.touch(stored["key_hash"], services.clock(), 0) is False
    assert scan(services) == []


def test_an_expired_key_leaves_the_list_when_it_expires_not_when_it_is_purged(
    api: Api, alice: str, clock: FakeClock
) -> None:
    forever = create_key(api, alice, name="forever")["id"]
    expiring = create_key(api, alice, name="soon", expires_at="2033-05-18T03:34:20Z")["id"]
    assert [k["id"] for k in list_keys(api, alice)["api_keys"]] == [forever, expiring]
    clock.advance(MINUTE)
    assert [k["id"] for k in list_keys(api, alice)["api_keys"]] == [forever]
    assert api.call("DELETE", f"/v1/user/api-keys/{expiring}", token=alice).status == 404
    reply = api.post("/v1/user/api-keys/batch-delete", {"ids": [expiring]}, token=alice)
    assert reply.body == {"deleted": [], "not_found": [expiring]}


def test_batch_delete_costs_one_query_whatever_the_number_of_ids(api: Api, alice: str) -> None:
    ids = [api.post("/v1/user/api-keys", {"name": f"k{n}"}, token=alice).body["id"] for n in range(5)]
    calls = count_dynamodb_calls()
    reply = api.post("/v1/user/api-keys/batch-delete", {"ids": [ids[0], ids[2], ids[4]]}, token=alice)
    assert reply.status == 200 and sorted(reply.body["deleted"]) == sorted([ids[0], ids[2], ids[4]])
    assert calls == ["BatchGetItem", "Query", "TransactWriteItems"]  # the keys and their events
    listed = api.get("/v1/user/api-keys", token=alice).body["api_keys"]
    assert [k["id"] for k in listed] == [ids[1], ids[3]]
