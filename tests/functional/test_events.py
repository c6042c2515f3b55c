"""The security log and the applications' audit logs: listing, paging, who may read them, retention."""

from __future__ import annotations

from chalicelib.services import Services
from chalicelib.services.identity import Actor
from tests.conftest import Api, FakeClock

DAY = 86400


def user_id(api: Api, token: str) -> str:
    user: str = api.get("/v1/user", token=token).body["id"]
    return user


def every_event(api: Api, path: str, token: str, limit: int) -> list[dict]:
    events, cursor = [], ""
    while cursor is not None:
        reply = api.get(f"{path}?limit={limit}&cursor={cursor}", token=token)
        assert reply.status == 200, reply.body
        events += reply.body["events"]
        cursor = reply.body["next_cursor"]
    return events


def test_pages_yield_every_event_once_newest_first_also_within_one_second(
    api: Api, services: Services, alice: str
) -> None:
    me = user_id(api, alice)
    written = [services.events.for_user(me, "test.marker", Actor("alice"), n=n) for n in range(7)]
    services.events.record(*written)  # all in the same second of the fake clock
    listed = [e for e in every_event(api, "/v1/user/events", alice, limit=2) if e["type"] == "test.marker"]
    assert [e["details"]["n"] for e in listed] == [6, 5, 4, 3, 2, 1, 0]
    assert len({e["id"] for e in listed}) == 7


def test_one_user_never_sees_another_users_events(api: Api, services: Services, alice: str) -> None:
    bob = api.signup("bob").body["token"]
    services.events.record(services.events.for_user(user_id(api, bob), "test.bob_only", Actor("bob")))
    assert all(e["type"] != "test.bob_only" for e in every_event(api, "/v1/user/events", alice, 100))


def test_an_applications_log_needs_manage_collaborators(api: Api, services: Services, alice: str) -> None:
    app_id = api.post("/v1/applications", {"name": "fleet"}, token=alice).body["id"]
    bob = api.signup("bob").body["token"]
    carol = api.signup("carol").body["token"]
    api.call("PUT", f"/v1/applications/{app_id}/collaborators/bob", {"role": "observer"}, token=alice)
    assert api.get(f"/v1/applications/{app_id}/events", token=alice).status == 200
    observer = api.get(f"/v1/applications/{app_id}/events", token=bob)
    assert (observer.status, observer.body["Code"]) == (403, "ForbiddenError")
    stranger = api.get(f"/v1/applications/{app_id}/events", token=carol)
    assert (stranger.status, stranger.body["Code"]) == (404, "NotFoundError")


def test_a_cursor_of_another_list_is_refused(api: Api, services: Services, alice: str) -> None:
    bob = api.signup("bob").body["token"]
    for token in (alice, bob):
        me = user_id(api, token)
        services.events.record(*[services.events.for_user(me, "test.marker", Actor()) for _ in range(3)])
    cursor = api.get("/v1/user/events?limit=1", token=bob).body["next_cursor"]
    reply = api.get(f"/v1/user/events?cursor={cursor}", token=alice)
    assert reply.status == 400 and reply.body["Message"].startswith("cursor:")


def test_the_purge_removes_events_past_retention_and_nothing_younger(
    api: Api, services: Services, clock: FakeClock, alice: str
) -> None:
    me = user_id(api, alice)
    services.events.record(services.events.for_user(me, "test.old", Actor()))
    clock.advance(10 * DAY)
    services.events.record(services.events.for_user(me, "test.young", Actor()))
    clock.advance(services.settings.event_retention_days * DAY - 10 * DAY)  # the old one is now past retention
    report = services.purge.run()
    assert report["events"].deleted >= 1
    raw = services.events.store.page(f"USER#{me}", 100, None, 0)[0]  # as stored, expired or not
    types = {e.type for e in raw}
    assert "test.old" not in types and "test.young" in types


def types_of(api: Api, token: str) -> list[tuple[str, str | None]]:
    return [(e["type"], e["via"]) for e in every_event(api, "/v1/user/events", token, 100)]


def test_two_factor_changes_are_logged_with_their_change_and_failures_are_not(
    api: Api, alice: str, clock: FakeClock
) -> None:
    from tests.functional.test_two_factor import app_code, enable_two_factor, wrong_code

    secret, _ = enable_two_factor(api, alice, clock)
    assert types_of(api, alice)[0] == ("two_factor.enabled", "session")
    clock.advance(30)
    assert api.post("/v1/user/2fa/recovery-codes", {"code": wrong_code(secret, clock)}, token=alice).status == 400
    assert types_of(api, alice)[0] == ("two_factor.enabled", "session")  # a refused change records nothing
    renewed = api.post("/v1/user/2fa/recovery-codes", {"code": app_code(secret, clock)}, token=alice)
    assert renewed.status == 200
    assert types_of(api, alice)[0] == ("recovery_codes.regenerated", "session")
    disabled = api.post("/v1/user/2fa/disable", {"recovery_code": renewed.body["recovery_codes"][0]}, token=alice)
    assert disabled.status == 200
    assert [t for t, _ in types_of(api, alice)[:2]] == ["recovery_code.used", "two_factor.disabled"]
