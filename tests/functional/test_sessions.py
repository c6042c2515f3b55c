"""GET /v1/user/sessions, DELETE /v1/user/sessions/{id}, POST /v1/user/logout and
/v1/user/sessions/revoke-others: sessions people can see and end, from the next request on."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest

from chalicelib.services import Services
from chalicelib.store import dynamo
from tests.conftest import Api, FakeClock, count_dynamodb_calls


def sessions_of(api: Api, token: str) -> list[dict]:
    reply = api.get("/v1/user/sessions", token=token)
    assert reply.status == 200, reply.body
    listed: list[dict] = reply.body["sessions"]
    return listed


def events_of(api: Api, token: str, type: str) -> list[dict]:
    return [e for e in api.get("/v1/user/events", token=token).body["events"] if e["type"] == type]


def test_sessions_are_listed_newest_first_with_the_current_one_marked(api: Api, clock: FakeClock) -> None:
    first = api.signup("alice").body["token"]
    clock.advance(60)
    api.use_address("198.51.100.7")
    second = api.call(
        "POST", "/v1/login", {"username": "alice", "password": "correct horse battery"}, **{"User-Agent": "cli/1.0"}
    ).body["token"]
    listed = sessions_of(api, first)
    assert len(listed) == 2
    newest, oldest = listed
    assert [s["current"] for s in listed] == [False, True]
    assert newest["address"] == "198.51.100.7" and newest["user_agent"] == "cli/1.0"
    assert newest["created_at"] == newest["authenticated_at"] == "2033-05-18T03:34:20Z"
    assert newest["expires_at"] == "2033-05-25T03:34:20Z"
    assert oldest["address"] == "127.0.0.1"
    assert set(newest) == {
        "id", "created_at", "expires_at", "authenticated_at", "last_used_at", "address", "user_agent", "current"
    }  # fmt: skip
    assert first not in str(listed) and second not in str(listed)  # the id is not the token
    assert [s["current"] for s in sessions_of(api, second)] == [True, False]


def test_pages_yield_every_session_once(api: Api) -> None:
    token = api.signup("alice").body["token"]
    for _ in range(4):
        api.post("/v1/user/refresh-token", token=token)
    ids, cursor = [], ""
    while cursor is not None:
        reply = api.get(f"/v1/user/sessions?limit=2&cursor={cursor}", token=token)
        ids += [s["id"] for s in reply.body["sessions"]]
        cursor = reply.body["next_cursor"]
    assert len(ids) == len(set(ids)) == 5 and ids == sorted(ids, reverse=True)


def test_pending_and_expired_sessions_are_never_listed(api: Api, clock: FakeClock) -> None:
    token = api.signup("alice").body["token"]
    secret = api.post("/v1/user/2fa/setup", token=token).body["secret"]
    api.post("/v1/user/2fa/enable", {"code": pyotp.TOTP(secret).at(clock())}, token=token)
    assert api.login("alice").body["two_factor_required"] is True
    assert len(sessions_of(api, token)) == 1
    clock.advance(6 * 86400)
    fresh = api.post("/v1/user/refresh-token", token=token).body["token"]
    clock.advance(86400)  # the first session has expired, its refresh has not
    assert [s["current"] for s in sessions_of(api, fresh)] == [True]


def test_last_used_at_is_written_at_most_once_every_5_minutes(api: Api, clock: FakeClock) -> None:
    token = api.signup("alice").body["token"]
    clock.advance(60)
    other = api.login("alice").body["token"]
    issued = ["2033-05-18T03:34:20Z", "2033-05-18T03:33:20Z"]  # issuing a session is its first use
    assert [s["last_used_at"] for s in sessions_of(api, token)] == issued
    calls = count_dynamodb_calls()
    clock.advance(299)
    assert api.get("/v1/user", token=other).status == 200
    assert calls == ["BatchGetItem"]  # used 299 s ago: no write
    clock.advance(1)
    calls.clear()
    assert api.get("/v1/user", token=other).status == 200
    assert calls == ["BatchGetItem", "UpdateItem"]
    calls.clear()
    assert api.get("/v1/user", token=other).status == 200
    assert calls == ["BatchGetItem"]
    assert sessions_of(api, token)[0]["last_used_at"] == "2033-05-18T03:39:20Z"


def test_simultaneous_uses_record_last_used_at_once(api: Api, services: Services, clock: FakeClock) -> None:
    token = api.signup("alice").body["token"]
    [listed] = sessions_of(api, token)
    clock.advance(300)
    now = clock()
    with ThreadPoolExecutor(max_workers=8) as pool:
        wrote = list(pool.map(lambda _: services.sessions.store.touch(listed["id"], now, now - 300), range(8)))
    assert wrote.count(True) == 1


def test_recording_a_use_never_recreates_an_ended_session(api: Api, services: Services) -> None:
    token = api.signup("alice").body["token"]
    [listed] = sessions_of(api, token)
    api.post("/v1/user/logout", token=token)
    assert services.sessions.store.touch(listed["id"], services.clock() + 600, services.clock()) is False
    table = services.settings.table_name("sessions")
    assert "Item" not in dynamo.client().get_item(TableName=table, Key=dynamo.to_item({"session_id": listed["id"]}))


def test_a_revoked_session_is_refused_on_the_next_request(api: Api) -> None:
    mine = api.signup("alice").body["token"]
    laptop = api.login("alice").body["token"]
    laptop_id = next(s["id"] for s in sessions_of(api, laptop) if s["current"])
    reply = api.call("DELETE", f"/v1/user/sessions/{laptop_id}", token=mine)
    assert reply.status == 204 and reply.body is None
    refused = api.get("/v1/user", token=laptop)
    assert refused.status == 401 and refused.body["Code"] == "UnauthorizedError"
    assert api.get("/v1/user", token=mine).status == 200
    assert api.call("DELETE", f"/v1/user/sessions/{laptop_id}", token=mine).status == 404  # gone already
    [revoked] = events_of(api, mine, "session.revoked")
    assert revoked["details"] == {"session_id": laptop_id} and revoked["actor"] == "alice"


def test_logout_ends_the_calling_session_only(api: Api) -> None:
    mine = api.signup("alice").body["token"]
    other = api.login("alice").body["token"]
    reply = api.post("/v1/user/logout", token=mine)
    assert reply.status == 204
    assert api.get("/v1/user", token=mine).status == 401
    assert api.post("/v1/user/logout", token=mine).status == 401
    assert api.get("/v1/user", token=other).status == 200
    assert len(events_of(api, other, "logout")) == 1


def test_revoke_others_ends_every_session_but_the_callers(api: Api, clock: FakeClock) -> None:
    mine = api.signup("alice").body["token"]
    others = [api.login("alice").body["token"] for _ in range(3)]
    refreshed = api.post("/v1/user/refresh-token", token=others[0]).body["token"]
    bob = api.signup("bob").body["token"]
    reply = api.post("/v1/user/sessions/revoke-others", token=mine)
    assert reply.status == 200 and reply.body == {"revoked": 4}
    for token in [*others, refreshed]:
        assert api.get("/v1/user", token=token).status == 401
    assert api.get("/v1/user", token=mine).status == 200
    assert api.get("/v1/user", token=bob).status == 200
    assert [s["current"] for s in sessions_of(api, mine)] == [True]
    assert api.post("/v1/user/sessions/revoke-others", token=mine).body == {"revoked": 0}
    assert [e["details"] for e in events_of(api, mine, "session.revoked")] == [{"count": 0}, {"count": 4}]


@pytest.mark.parametrize("session_id", ["bobs", "01HZZZZZZZZZZZZZZZZZZZZZZZ", "x" * 3000, "%20"])
def test_another_users_or_an_unknown_session_is_not_found(api: Api, session_id: str) -> None:
    alice = api.signup("alice").body["token"]
    bob = api.signup("bob").body["token"]
    bobs = sessions_of(api, bob)[0]["id"]
    target = bobs if session_id == "bobs" else session_id
    reply = api.call("DELETE", f"/v1/user/sessions/{target}", token=alice)
    assert reply.status == 404 and reply.body["Code"] == "NotFoundError"
    assert api.get("/v1/user", token=bob).status == 200
    assert all(s["id"] != bobs for s in sessions_of(api, alice))


def test_one_user_never_lists_anothers_sessions(api: Api) -> None:
    alice = api.signup("alice").body["token"]
    bob = api.signup("bob").body["token"]
    api.login("bob")
    assert len(sessions_of(api, alice)) == 1
    cursor_of_bob = api.get("/v1/user/sessions?limit=1", token=bob).body["next_cursor"]
    reply = api.get(f"/v1/user/sessions?cursor={cursor_of_bob}", token=alice)
    assert reply.status == 400 and reply.body["Message"].startswith("cursor:")


def test_a_pending_login_cannot_be_revoked_by_id(api: Api, clock: FakeClock) -> None:
    token = api.signup("alice").body["token"]
    secret = api.post("/v1/user/2fa/setup", token=token).body["secret"]
    api.post("/v1/user/2fa/enable", {"code": pyotp.TOTP(secret).at(clock())}, token=token)
    import jwt

    pending = api.login("alice").body["token"]
    pending_id = jwt.decode(pending, options={"verify_signature": False})["sid"]
    assert api.call("DELETE", f"/v1/user/sessions/{pending_id}", token=token).status == 404
    # ... but revoke-others ends it with the rest (uncounted: it was no session yet).
    assert api.post("/v1/user/sessions/revoke-others", token=token).body == {"revoked": 0}
    clock.advance(30)
    assert api.post("/v1/login/totp", {"code": pyotp.TOTP(secret).at(clock())}, token=pending).status == 401


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/v1/user/sessions"),
        ("DELETE", "/v1/user/sessions/anything"),
        ("POST", "/v1/user/logout"),
        ("POST", "/v1/user/sessions/revoke-others"),
    ],
)
def test_an_api_key_may_not_manage_sessions(api: Api, clock: FakeClock, method: str, path: str) -> None:
    token = api.signup("alice").body["token"]
    key = api.post("/v1/user/api-keys", {"name": "ci"}, token=token).body["key"]
    reply = api.call(method, path, {} if method == "POST" else None, token=key)
    assert reply.status == 403 and reply.body["Code"] == "ForbiddenError"
    assert api.get("/v1/user", token=token).status == 200
