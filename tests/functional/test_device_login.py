"""The device login (RFC 8628): a client asks for codes and polls; the signed-in person looks the
user code up and approves or denies it. Every error state of the poll, a code used twice, an
approval outliving its account, the guessing limits, and the round trips of each step."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.errors import DeviceFlowError
from chalicelib.security.opaque import hash_opaque_token
from chalicelib.services import Services, use_services
from chalicelib.services.identity import Origin
from chalicelib.store import dynamo
from tests.conftest import START, Api, FakeClock, count_dynamodb_calls
from tests.functional.test_deletion import delete, every_item, mentioning

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PUBLIC_URL = "https://id.example.com"


@pytest.fixture
def services(settings: Settings, clock: FakeClock) -> Services:
    built = Services(
        dataclasses.replace(
            settings, public_url=PUBLIC_URL, device_code_guesses_per_address=3, device_code_guesses_global=6
        ),
        clock,
    )
    use_services(built)
    return built


def start(api: Api, name: str = "latchkey CLI on build-7") -> dict[str, Any]:
    reply = api.post("/v1/device/code", {"client_name": name})
    assert reply.status == 200, reply.body
    return dict(reply.body)


def poll(api: Api, device_code: str, **extra: Any) -> Any:
    return api.post("/v1/device/token", {"device_code": device_code, "grant_type": GRANT} | extra)


def events_of(api: Api, token: str) -> list[dict[str, Any]]:
    return list(api.get("/v1/user/events", token=token).body["events"])


def test_the_whole_flow_gives_one_session_of_the_approver(api: Api, alice: str, clock: FakeClock) -> None:
    made = start(api)
    code = made["user_code"]
    assert len(made["device_code"]) >= 43 and len(code) == 9 and code[4] == "-"
    assert set(code.replace("-", "")) <= set("BCDFGHJKLMNPQRSTVWXZ")
    assert made["verification_uri"] == f"{PUBLIC_URL}/#device"
    assert made["verification_uri_complete"] == f"{PUBLIC_URL}/#device?user_code={code}"
    assert (made["expires_in"], made["interval"]) == (600, 5)

    pending = poll(api, made["device_code"])
    assert pending.status == 400 and pending.body["Code"] == "authorization_pending"

    api.use_address("203.0.113.9")
    shown = api.post("/v1/device/lookup", {"user_code": code.lower().replace("-", " ")}, token=alice)
    assert shown.status == 200, shown.body
    assert shown.body["user_code"] == code and shown.body["client_name"] == "latchkey CLI on build-7"
    assert shown.body["address"] == "127.0.0.1" and shown.body["requested_at"] is not None
    approved = api.post("/v1/device/approve", {"user_code": code}, token=alice)
    assert approved.status == 200 and approved.body["status"] == "approved"

    clock.advance(5)
    api.use_address("127.0.0.1")
    done = poll(api, made["device_code"])
    assert done.status == 200, done.body
    assert done.body["two_factor_required"] is False and done.body["device_token"]
    me = api.get("/v1/user", token=done.body["token"])
    assert me.status == 200 and me.body["username"] == "alice"

    again = poll(api, made["device_code"])  # a device code gives one session
    assert again.status == 400 and again.body["Code"] == "invalid_grant"
    assert api.post("/v1/device/approve", {"user_code": code}, token=alice).status == 404

    logged = events_of(api, alice)
    login = next(e for e in logged if e["type"] == "login")
    assert login["details"] == {"method": "device", "client_name": "latchkey CLI on build-7"}
    decision = next(e for e in logged if e["type"] == "device.approved")
    assert decision["address"] == "203.0.113.9" and decision["details"]["requested_from"] == "127.0.0.1"
    # The CLI's session is a session like any other: listed, and with its device token a login's.
    assert len(api.get("/v1/user/sessions", token=alice).body["sessions"]) == 2


def test_the_codes_are_stored_hashed_only(api: Api, alice: str, services: Services) -> None:
    made = start(api)
    api.post("/v1/device/approve", {"user_code": made["user_code"]}, token=alice)
    stored = every_item(services)["device_codes"]
    assert len(stored) == 1  # the user code's item goes with the decision
    text = repr(stored)
    assert made["device_code"] not in text and made["user_code"].replace("-", "") not in text
    assert stored[0]["code_hash"] == hash_opaque_token(made["device_code"])


def test_polling_faster_than_the_interval_is_told_to_slow_down(api: Api, clock: FakeClock) -> None:
    made = start(api)
    assert poll(api, made["device_code"]).body["Code"] == "authorization_pending"
    clock.advance(2)
    slow = poll(api, made["device_code"])
    assert slow.status == 400 and slow.body["Code"] == "slow_down" and "10 seconds" in slow.body["Message"]
    clock.advance(6)  # 6 s: enough for the old interval, not the new one (10 s)
    assert poll(api, made["device_code"]).body["Code"] == "slow_down"  # 15 s now
    clock.advance(15)
    assert poll(api, made["device_code"]).body["Code"] == "authorization_pending"
    clock.advance(14)  # within the one second of slack a whole-second clock needs
    assert poll(api, made["device_code"]).body["Code"] == "authorization_pending"


def test_a_denied_login_gets_access_denied(api: Api, alice: str) -> None:
    made = start(api)
    denied = api.post("/v1/device/deny", {"user_code": made["user_code"]}, token=alice)
    assert denied.status == 200 and denied.body["status"] == "denied"
    reply = poll(api, made["device_code"])
    assert reply.status == 400 and reply.body["Code"] == "access_denied"
    # Decided once: no approval after a denial.
    assert api.post("/v1/device/approve", {"user_code": made["user_code"]}, token=alice).status == 404
    assert poll(api, made["device_code"]).body["Code"] == "access_denied"
    assert "device.denied" in [e["type"] for e in events_of(api, alice)]


def test_an_expired_code_gets_expired_token_and_cannot_be_approved(api: Api, alice: str, clock: FakeClock) -> None:
    made = start(api)
    clock.advance(600)
    assert api.post("/v1/device/approve", {"user_code": made["user_code"]}, token=alice).status == 404
    reply = poll(api, made["device_code"])
    assert reply.status == 400 and reply.body["Code"] == "expired_token"


def test_an_approval_expires_unpolled(api: Api, alice: str, clock: FakeClock) -> None:
    made = start(api)
    api.post("/v1/device/approve", {"user_code": made["user_code"]}, token=alice)
    clock.advance(600)
    assert poll(api, made["device_code"]).body["Code"] == "expired_token"
    assert len(api.get("/v1/user/sessions", token=alice).body["sessions"]) == 1


def test_unknown_and_malformed_codes(api: Api, alice: str) -> None:
    reply = poll(api, "x" * 43)
    assert reply.status == 400 and reply.body["Code"] == "invalid_grant"
    reply = poll(api, "x" * 43, grant_type="password")
    assert reply.status == 400 and reply.body["Message"].startswith("grant_type")
    assert api.post("/v1/device/token", {}).body["Message"].startswith("device_code")
    for name in ("", "tab\there", "x" * 65):
        reply = api.post("/v1/device/code", {"client_name": name})
        assert reply.status == 400 and reply.body["Message"].startswith("client_name"), name
    for typed in ("BCDF-GHJ", "ABCD-EFGH", "BCDF-GHJK-L", "12345678"):
        reply = api.post("/v1/device/lookup", {"user_code": typed}, token=alice)
        assert reply.status == 400 and reply.body["Message"].startswith("user_code"), typed
    reply = api.post("/v1/device/lookup", {"user_code": "BCDF-GHJK"}, token=alice)
    assert reply.status == 404 and reply.body["Code"] == "DeviceCodeNotFoundError"


def test_approving_needs_a_recent_session_and_never_a_key(api: Api, alice: str, clock: FakeClock) -> None:
    made = start(api)
    body = {"user_code": made["user_code"]}
    key = api.post("/v1/user/api-keys", {"name": "ci"}, token=alice).body["key"]
    assert api.post("/v1/device/approve", body).status == 401
    reply = api.post("/v1/device/approve", body, token=key)
    assert reply.status == 403 and reply.body["Code"] == "ForbiddenError"
    assert api.post("/v1/device/lookup", body, token=key).status == 403
    clock.advance(3600)
    made = start(api)
    body = {"user_code": made["user_code"]}
    reply = api.post("/v1/device/approve", body, token=alice)
    assert reply.status == 403 and reply.body["Code"] == "ReauthenticationRequiredError"
    # Looking up and denying need no recent authentication.
    assert api.post("/v1/device/lookup", body, token=alice).status == 200
    assert poll(api, made["device_code"]).body["Code"] == "authorization_pending"


def test_an_approval_by_an_account_deleted_since_gives_nothing(api: Api, alice: str, services: Services) -> None:
    made = start(api)
    user_id = api.get("/v1/user", token=alice).body["id"]
    assert api.post("/v1/device/approve", {"user_code": made["user_code"]}, token=alice).status == 200
    assert delete(api, alice).status == 204
    assert mentioning(every_item(services), user_id) == []  # the approval went with the account
    reply = poll(api, made["device_code"])
    assert reply.status == 400 and reply.body["Code"] == "invalid_grant"
    assert every_item(services)["sessions"] == []


def test_an_approval_of_a_deletion_that_died_half_way_is_denied(api: Api, alice: str, services: Services) -> None:
    made = start(api)
    user = services.accounts.users.get(api.get("/v1/user", token=alice).body["id"])
    assert user is not None
    api.post("/v1/device/approve", {"user_code": made["user_code"]}, token=alice)
    # The deletion's request died right after its first transaction: the approval is left.
    dynamo.transact(services.deletion.users.delete_entries(user, START), on_condition_failure=lambda failed: None)
    reply = poll(api, made["device_code"])
    assert reply.status == 400 and reply.body["Code"] == "access_denied"
    assert mentioning(every_item(services), user.user_id) == []  # the poll finished the deletion


def test_simultaneous_polls_of_an_approved_code_give_one_session(
    api: Api, alice: str, services: Services, clock: FakeClock
) -> None:
    made = start(api)
    api.post("/v1/device/approve", {"user_code": made["user_code"]}, token=alice)

    def one_poll(_: int) -> str:
        try:
            return services.device_login.poll(made["device_code"], Origin("198.51.100.1")).token
        except DeviceFlowError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one_poll, range(4)))
    assert sum(1 for r in results if r.startswith("ey")) == 1, results
    assert sorted(r for r in results if not r.startswith("ey")) == ["invalid_grant"] * 3
    assert len(api.get("/v1/user/sessions", token=alice).body["sessions"]) == 2


def test_wrong_user_codes_are_limited_per_address(api: Api, alice: str) -> None:
    made = start(api)
    api.use_address("198.51.100.7")
    for _ in range(3):
        assert api.post("/v1/device/lookup", {"user_code": "BCDF-GHJK"}, token=alice).status == 404
    # Now even the right code is refused from this address (a hit would tell the guesser apart).
    reply = api.post("/v1/device/approve", {"user_code": made["user_code"]}, token=alice)
    assert reply.status == 429 and int(reply.headers["retry-after"]) <= 600
    api.use_address("198.51.100.8")
    assert api.post("/v1/device/approve", {"user_code": made["user_code"]}, token=alice).status == 200


def test_wrong_user_codes_are_limited_for_everyone_together(api: Api, alice: str, clock: FakeClock) -> None:
    bob = api.signup("bob").body["token"]
    made = start(api)
    for n in range(6):  # 6 addresses, 2 accounts: each under its own limits
        api.use_address(f"198.51.100.{n}")
        assert api.post("/v1/device/deny", {"user_code": "BCDF-GHJK"}, token=(alice, bob)[n % 2]).status == 404
    api.use_address("192.0.2.1")
    reply = api.post("/v1/device/lookup", {"user_code": made["user_code"]}, token=alice)
    assert reply.status == 429 and "everyone" in reply.body["Message"]
    clock.advance(600)  # the next window (the code expired meanwhile: a new one)
    assert api.post("/v1/device/lookup", {"user_code": start(api)["user_code"]}, token=alice).status == 200


def test_wrong_user_codes_are_limited_per_account(api: Api, alice: str, services: Services) -> None:
    roomy = dataclasses.replace(services.settings, device_code_guesses_global=100)
    use_services(dataclasses.replace(services, settings=roomy))
    for n in range(10):
        api.use_address(f"198.51.100.{n}")
        assert api.post("/v1/device/lookup", {"user_code": "BCDF-GHJK"}, token=alice).status == 404
    api.use_address("192.0.2.1")
    reply = api.post("/v1/device/lookup", {"user_code": "BCDF-GHJK"}, token=alice)
    assert reply.status == 429 and "your account" in reply.body["Message"]


def test_new_codes_are_limited_per_address(api: Api) -> None:
    for _ in range(30):
        start(api)
    reply = api.post("/v1/device/code", {"client_name": "flood"})
    assert reply.status == 429 and reply.headers["retry-after"]
    api.use_address("198.51.100.1")
    start(api)


def test_round_trips(api: Api, alice: str, clock: FakeClock) -> None:
    calls = count_dynamodb_calls()
    made = start(api)
    assert calls == ["UpdateItem", "TransactWriteItems"]
    calls.clear()
    poll(api, made["device_code"])
    assert calls == ["GetItem", "UpdateItem"]
    calls.clear()
    api.post("/v1/device/lookup", {"user_code": made["user_code"]}, token=alice)
    assert calls == ["BatchGetItem", "BatchGetItem"]  # the session's read, then the code's and the counters'
    calls.clear()
    api.post("/v1/device/approve", {"user_code": made["user_code"]}, token=alice)
    assert calls == ["BatchGetItem", "BatchGetItem", "TransactWriteItems"]
    calls.clear()
    clock.advance(5)
    assert poll(api, made["device_code"]).status == 200
    assert calls == ["GetItem", "GetItem", "TransactWriteItems"]
