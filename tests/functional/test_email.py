"""Email verification and address change, end to end through the outbox (MAIL_DIR in the test's
own directory): the mail arrives, its one link's token works once, and no other way round."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from chalicelib.errors import ApiError
from chalicelib.services import Services
from chalicelib.services.identity import Actor
from tests.conftest import PASSWORD, Api, FakeClock, Outbox
from tests.functional.test_two_factor import race

DAY = 86400


def events_of(api: Api, token: str) -> list[dict[str, object]]:
    reply = api.get("/v1/user/events", token=token)
    assert reply.status == 200
    return list(reply.body["events"])


def verify(api: Api, token: str) -> object:
    return api.post("/v1/email/verify", {"token": token})


def test_sign_up_mails_a_link_that_verifies_the_address_once(api: Api, outbox: Outbox, services: Services) -> None:
    session = api.signup("alice").body["token"]
    assert api.get("/v1/user", token=session).body["email_verified"] is False
    mail = outbox.last("alice@example.com")
    assert mail.subject == "Confirm your email address"
    assert mail.text.count("http") == 1  # the plain-text part holds exactly one link
    parts = urlsplit(mail.link)
    assert f"{parts.scheme}://{parts.netloc}" == services.settings.public_url
    assert parse_qs(parts.fragment)["action"] == ["verify-email"]
    assert not parts.query  # the token rides in the fragment, which never reaches a server
    assert mail.token in mail.html

    reply = api.post("/v1/email/verify", {"token": mail.token})
    assert reply.status == 200
    assert reply.body == {"email": "alice@example.com", "email_verified": True}
    assert api.get("/v1/user", token=session).body["email_verified"] is True
    again = api.post("/v1/email/verify", {"token": mail.token})
    assert again.status == 400 and again.body["Code"] == "BadRequestError"
    assert again.body["Message"].startswith("token:")
    verified = [e for e in events_of(api, session) if e["type"] == "email.verified"]
    assert len(verified) == 1 and verified[0]["via"] == "email" and verified[0]["actor"] == "alice"
    assert mail.token not in str(verified[0])


def test_a_verification_link_expires_after_24_hours(api: Api, outbox: Outbox, clock: FakeClock) -> None:
    api.signup("alice")
    token = outbox.last("alice@example.com").token
    clock.advance(DAY)
    reply = api.post("/v1/email/verify", {"token": token})
    assert reply.status == 400 and reply.body["Message"].startswith("token:")


def test_unknown_and_malformed_tokens_are_a_400_naming_the_token(api: Api) -> None:
    api.signup("alice")
    for token in ("x", "A" * 43, "not a token at all", "é" * 10):
        reply = api.post("/v1/email/verify", {"token": token})
        assert reply.status == 400 and reply.body["Message"].startswith("token:"), (token, reply.body)
    assert api.post("/v1/email/verify", {}).body["Message"].startswith("token:")


def test_a_new_link_voids_the_earlier_and_is_limited_to_one_a_minute(
    api: Api, outbox: Outbox, clock: FakeClock
) -> None:
    session = api.signup("alice").body["token"]
    first = outbox.last("alice@example.com").token
    # Sign-up's mail counts as the first: a new one within the minute is refused, the first still works.
    too_soon = api.post("/v1/user/email/verification", token=session)
    assert too_soon.status == 429 and 1 <= int(too_soon.headers["retry-after"]) <= 60
    assert len(outbox.to("alice@example.com")) == 1
    clock.advance(60)
    sent = api.post("/v1/user/email/verification", token=session)
    assert sent.status == 202 and sent.body == {}
    second = outbox.last("alice@example.com").token
    assert second != first
    assert api.post("/v1/email/verify", {"token": first}).status == 400  # voided
    assert api.post("/v1/email/verify", {"token": second}).status == 200
    clock.advance(60)
    already = api.post("/v1/user/email/verification", token=session)
    assert already.status == 409 and already.body["Code"] == "ConflictError"


def test_at_most_ten_verification_mails_a_day(api: Api, outbox: Outbox, clock: FakeClock) -> None:
    session = api.signup("alice").body["token"]
    for _ in range(9):
        clock.advance(61)
        assert api.post("/v1/user/email/verification", token=session).status == 202
    clock.advance(61)
    refused = api.post("/v1/user/email/verification", token=session)
    assert refused.status == 429
    assert DAY - 11 * 61 <= int(refused.headers["retry-after"]) <= DAY
    assert len(outbox.to("alice@example.com")) == 10
    clock.advance(int(refused.headers["retry-after"]) - 1)
    assert api.post("/v1/user/email/verification", token=session).status == 429
    clock.advance(1)
    assert api.post("/v1/user/email/verification", token=session).status == 202


def test_simultaneous_verifications_of_one_token_succeed_once(api: Api, outbox: Outbox, services: Services) -> None:
    api.signup("alice")
    token = outbox.last("alice@example.com").token
    results = race(8, lambda i: services.email.verify(token, Actor(address="192.0.2.1")))
    assert results.count("alice@example.com") == 1
    assert all(isinstance(r, ApiError) and r.status == 400 for r in results if r != "alice@example.com")


# ---- changing the address ----


def test_a_new_address_takes_effect_when_its_link_is_opened(api: Api, outbox: Outbox, services: Services) -> None:
    session = api.signup("alice").body["token"]
    reply = api.post("/v1/user/email", {"email": "Alice@New.example"}, token=session)
    assert reply.status == 202 and reply.body == {"pending_email": "Alice@New.example"}
    # Until then the old address stays in force: the user, logins by email, and the claim.
    assert api.get("/v1/user", token=session).body["email"] == "alice@example.com"
    assert api.login("alice@example.com").status == 200
    assert api.post("/v1/signup", {"username": "eve", "email": "alice@example.com", "password": PASSWORD}).status == 409
    mail = outbox.last("Alice@New.example")
    assert mail.subject == "Confirm your new email address" and mail.text.count("http") == 1

    verified = api.post("/v1/email/verify", {"token": mail.token})
    assert verified.status == 200 and verified.body == {"email": "Alice@New.example", "email_verified": True}
    me = api.get("/v1/user", token=session).body
    assert me["email"] == "Alice@New.example" and me["email_verified"] is True
    assert api.login("alice@new.example").status == 200
    assert api.login("alice@example.com").status == 401
    notice = outbox.last("alice@example.com")
    assert notice.subject == "Your email address was changed" and "Alice@New.example" in notice.text
    # The old address is free at once; the new one is claimed.
    assert api.post("/v1/signup", {"username": "bob", "email": "alice@example.com", "password": PASSWORD}).status == 201
    taken = api.post("/v1/signup", {"username": "eve", "email": "ALICE@new.example", "password": PASSWORD})
    assert taken.status == 409
    assert api.post("/v1/email/verify", {"token": mail.token}).status == 400
    email_events = [e for e in events_of(api, session) if e["type"].startswith("email.")]
    assert [e["type"] for e in email_events] == ["email.changed", "email.change_requested"]
    changed = email_events[0]
    assert changed["via"] == "email" and changed["details"] == {"from": "alice@example.com", "to": "Alice@New.example"}


def test_an_address_taken_now_or_by_the_time_of_verification_is_a_409(api: Api, outbox: Outbox) -> None:
    session = api.signup("alice").body["token"]
    api.signup("bob")
    now = api.post("/v1/user/email", {"email": "BOB@example.com"}, token=session)
    assert now.status == 409 and now.body["Message"].startswith("email:")
    assert api.post("/v1/user/email", {"email": "carol@example.com"}, token=session).status == 202
    token = outbox.last("carol@example.com").token
    api.signup("carol")  # takes the address before alice opens her link
    later = api.post("/v1/email/verify", {"token": token})
    assert later.status == 409 and later.body["Code"] == "ConflictError"
    assert api.get("/v1/user", token=session).body["email"] == "alice@example.com"
    assert api.login("alice@example.com").status == 200


def test_changing_the_address_needs_a_recent_authentication(api: Api, clock: FakeClock) -> None:
    session = api.signup("alice").body["token"]
    clock.advance(3600)
    reply = api.post("/v1/user/email", {"email": "alice@new.example"}, token=session)
    assert reply.status == 403 and reply.body["Code"] == "ReauthenticationRequiredError"


def test_the_current_address_and_bad_addresses_are_refused(api: Api) -> None:
    session = api.signup("alice").body["token"]
    for email in ("ALICE@example.com", "nope", "a@b"):
        reply = api.post("/v1/user/email", {"email": email}, token=session)
        assert reply.status == 400 and reply.body["Message"].startswith("email:"), email


def test_a_later_change_voids_the_earlier_link(api: Api, outbox: Outbox, clock: FakeClock) -> None:
    session = api.signup("alice").body["token"]
    api.post("/v1/user/email", {"email": "first@example.com"}, token=session)
    clock.advance(60)
    api.post("/v1/user/email", {"email": "second@example.com"}, token=session)
    assert api.post("/v1/email/verify", {"token": outbox.last("first@example.com").token}).status == 400
    assert api.post("/v1/email/verify", {"token": outbox.last("second@example.com").token}).status == 200
    assert api.get("/v1/user", token=session).body["email"] == "second@example.com"


def test_a_verification_sent_to_the_old_address_stops_working_after_a_change(api: Api, outbox: Outbox) -> None:
    session = api.signup("alice").body["token"]
    old_link = outbox.last("alice@example.com").token
    api.post("/v1/user/email", {"email": "alice@new.example"}, token=session)
    assert api.post("/v1/email/verify", {"token": outbox.last("alice@new.example").token}).status == 200
    assert api.post("/v1/email/verify", {"token": old_link}).status == 400
