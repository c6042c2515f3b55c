"""The Python SDK against the dev server: every operation once, typed results, errors, pages, a real 429."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import latchkey
import pyotp
import pytest
from latchkey import Client

from tests.clients.conftest import ON_MOTO, MailServer, unique_name
from tests.clients.stub import Reply, Stub
from tests.conftest import PASSWORD
from tests.e2e.conftest import ServerFactory
from tests.passkey_authenticator import SoftwareAuthenticator

pytestmark = ON_MOTO
NEW_PASSWORD = "a different long secret"

# Every operation of the contract, as the SDK calls it: "ID" and "NAME" stand for {id} and {username}.
OPERATIONS: dict[str, Callable[[Client], object]] = {
    "health": lambda c: c.health(),
    "openapi": lambda c: c.openapi(),
    "signup": lambda c: c.signup("alice", "a@example.com", PASSWORD),
    "login": lambda c: c.login("alice", PASSWORD),
    "login_totp": lambda c: c.login_totp("123456"),
    "refresh_token": lambda c: c.refresh_token(),
    "reauthenticate": lambda c: c.reauthenticate(PASSWORD),
    "list_sessions": lambda c: c.list_sessions(),
    "revoke_session": lambda c: c.revoke_session("ID"),
    "logout": lambda c: c.logout(),
    "revoke_other_sessions": lambda c: c.revoke_other_sessions(),
    "change_password": lambda c: c.change_password(PASSWORD, NEW_PASSWORD),
    "verify_email": lambda c: c.verify_email("t"),
    "resend_verification": lambda c: c.resend_verification(),
    "change_email": lambda c: c.change_email("b@example.com"),
    "request_password_reset": lambda c: c.request_password_reset("a@example.com"),
    "confirm_password_reset": lambda c: c.confirm_password_reset("t", NEW_PASSWORD),
    "delete_account": lambda c: c.delete_account(PASSWORD),
    "get_user": lambda c: c.get_user(),
    "create_api_key": lambda c: c.create_api_key("ci"),
    "list_api_keys": lambda c: c.list_api_keys(),
    "delete_api_key": lambda c: c.delete_api_key("ID"),
    "delete_api_keys": lambda c: c.delete_api_keys(["ID"]),
    "rotate_api_key": lambda c: c.rotate_api_key("ID"),
    "two_factor_status": lambda c: c.two_factor_status(),
    "setup_two_factor": lambda c: c.setup_two_factor(),
    "enable_two_factor": lambda c: c.enable_two_factor("123456"),
    "disable_two_factor": lambda c: c.disable_two_factor("123456"),
    "regenerate_recovery_codes": lambda c: c.regenerate_recovery_codes("123456"),
    "create_application": lambda c: c.create_application("fleet"),
    "list_applications": lambda c: c.list_applications(),
    "get_application": lambda c: c.get_application("ID"),
    "update_application": lambda c: c.update_application("ID", name="x"),
    "delete_application": lambda c: c.delete_application("ID"),
    "transfer_application": lambda c: c.transfer_application("ID", "NAME"),
    "list_collaborators": lambda c: c.list_collaborators("ID"),
    "add_collaborator": lambda c: c.add_collaborator("ID", "NAME", "developer"),
    "remove_collaborator": lambda c: c.remove_collaborator("ID", "NAME"),
    "list_organization_collaborators": lambda c: c.list_organization_collaborators(),
    "offboard_collaborator": lambda c: c.offboard_collaborator("NAME"),
    "list_events": lambda c: c.list_events(),
    "list_application_events": lambda c: c.list_application_events("ID"),
    "passkey_registration_options": lambda c: c.passkey_registration_options(),
    "register_passkey": lambda c: c.register_passkey("c", {}),
    "list_passkeys": lambda c: c.list_passkeys(),
    "rename_passkey": lambda c: c.rename_passkey("ID", "laptop"),
    "delete_passkey": lambda c: c.delete_passkey("ID"),
    "passkey_login_options": lambda c: c.passkey_login_options(),
    "login_with_passkey": lambda c: c.login_with_passkey("c", {}),
    "start_device_login": lambda c: c.start_device_login("ci"),
    "poll_device_login": lambda c: c.poll_device_login(latchkey.DeviceLogin("d", "C", "u", "u", 600, 5), wait=False),
    "device_login_request": lambda c: c.device_login_request("BCDF-GHJK"),
    "approve_device_login": lambda c: c.approve_device_login("BCDF-GHJK"),
    "deny_device_login": lambda c: c.deny_device_login("BCDF-GHJK"),
}


class CountingTransport(httpx.HTTPTransport):
    """Counts the requests a client sends (to see that iterators really follow the pages)."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path + ("?" + request.url.query.decode() if request.url.query else ""))
        return super().handle_request(request)


@pytest.fixture
def account(clients_server: MailServer) -> Iterator[tuple[Client, str]]:
    """A signed-up user's client (holding the session token) and the username."""
    name = unique_name("sdk")
    with Client(clients_server.url, "") as client:
        signup = client.signup(name, f"{name}@example.com", PASSWORD)
        assert client.token == signup.token
        yield client, name


def test_the_sdk_has_a_method_for_every_operation_of_the_servers_document(
    stub: Stub, clients_server: MailServer
) -> None:
    """What each method sends (seen by a stub), against the operations GET /v1/openapi.json lists."""
    document = httpx.get(f"{clients_server.url}/v1/openapi.json", timeout=10).json()
    served = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if path.startswith("/v1/") and method in {"get", "put", "post", "patch", "delete"}
    }
    stub.replies = [Reply(200, {})]
    sent: dict[tuple[str, str], str] = {}
    for name, call in OPERATIONS.items():
        before = len(stub.seen)
        with Client(stub.url, "t") as client, contextlib.suppress(Exception):  # the stub's {} is no real reply
            call(client)
        method, path = stub.seen[before][:2]
        path = path.split("?")[0].replace("/ID", "/{id}").replace("/NAME", "/{username}")
        assert (method, path) not in sent, (name, sent.get((method, path)))
        sent[(method, path)] = name
    assert len(sent) == 54  # the contract's operations, each by its own method
    assert served - sent.keys() == set(), "operations of the server without a method in the SDK"


def test_sign_up_log_in_refresh_and_the_user(clients_server: MailServer) -> None:
    with Client(clients_server.url, "") as client:
        assert client.health() == {"status": "ok"}
        assert client.openapi()["openapi"].startswith("3.1")
        name = unique_name("sdk")
        signup = client.signup(name, f"{name}@example.com", PASSWORD)
        assert isinstance(signup, latchkey.Signup) and isinstance(signup.user, latchkey.User)
        assert signup.user.username == name and signup.user.two_factor_enabled is False
        assert signup.expires_at.tzinfo is not None and signup.expires_at > datetime.now(UTC) + timedelta(days=6)

        login = client.login(name.upper(), PASSWORD)  # usernames are unique ignoring case
        assert isinstance(login, latchkey.Login) and login.two_factor_required is False
        assert client.token == login.token
        user = client.get_user()
        assert isinstance(user, latchkey.User) and user.id == signup.user.id and user.created_at <= datetime.now(UTC)
        assert client.whoami() == user

        old = client.token
        refreshed = client.refresh_token()
        assert isinstance(refreshed, latchkey.Token) and client.token == refreshed.token != old
        assert Client(clients_server.url, old).get_user().username == name  # the old one stays valid


def test_api_keys_create_list_delete_and_batch_delete(account: tuple[Client, str], clients_server: MailServer) -> None:
    client, name = account
    expires = datetime(2031, 1, 1, tzinfo=UTC)
    created = client.create_api_key("ci", description="deploys", expires_at=expires)
    assert isinstance(created, latchkey.NewApiKey) and created.key.startswith("lk_")
    assert created.prefix == created.key[:8] and created.expires_at == expires and created.last_used_at is None
    with Client(clients_server.url, created.key) as by_key:
        assert by_key.get_user().username == name
        (listed,) = by_key.list_api_keys().items  # an API key may list keys
        assert isinstance(listed, latchkey.ApiKey) and not hasattr(listed, "key")
        assert listed.id == created.id and listed.description == "deploys"
        with pytest.raises(latchkey.ForbiddenError) as refused:
            by_key.create_api_key("more")  # ...but not manage them
        assert refused.value.status == 403 and refused.value.code == "ForbiddenError"

    others = [client.create_api_key(f"k{i}").id for i in range(3)]
    client.delete_api_key(others[0])
    with pytest.raises(latchkey.NotFoundError):
        client.delete_api_key(others[0])
    result = client.delete_api_keys([others[1], others[2], "nope", others[1]])
    assert isinstance(result, latchkey.BatchDelete)
    assert result.deleted == [others[1], others[2]] and result.not_found == ["nope"]
    assert [k.id for k in client.iter_api_keys()] == [created.id]
    with Client(clients_server.url, created.key) as by_key:
        client.delete_api_keys([created.id])
        with pytest.raises(latchkey.UnauthorizedError):
            by_key.get_user()  # refused on the very next request


def test_iterators_follow_next_cursor_across_pages(clients_server: MailServer) -> None:
    name = unique_name("pages")
    transport = CountingTransport()
    with Client(clients_server.url, "", transport=transport) as client:
        client.signup(name, f"{name}@example.com", PASSWORD)
        made = [client.create_api_key(f"k{i}").id for i in range(4)]

        first = client.list_api_keys(limit=1)
        assert [k.id for k in first] == made[:1] and first.next_cursor
        second = client.list_api_keys(limit=1, cursor=first.next_cursor)
        assert [k.id for k in second] == made[1:2]

        transport.paths.clear()
        assert [k.id for k in client.iter_api_keys(page_size=1)] == made  # each exactly once, oldest first
        assert len(transport.paths) >= 4 and all("limit=1" in p for p in transport.paths)
        assert sum("cursor=" in p for p in transport.paths) == len(transport.paths) - 1

        apps = [client.create_application(f"app{i}").id for i in range(3)]
        assert sorted(a.id for a in client.iter_applications(page_size=1)) == sorted(apps)


def test_two_factor_enable_log_in_recovery_codes_and_disable(account: tuple[Client, str]) -> None:
    client, name = account
    status = client.two_factor_status()
    assert isinstance(status, latchkey.TwoFactorStatus) and (status.enabled, status.pending) == (False, False)
    setup = client.setup_two_factor()
    assert isinstance(setup, latchkey.TwoFactorSetup) and setup.qr_svg.lstrip().startswith("<")
    authenticator = pyotp.parse_uri(setup.otpauth_uri)
    assert isinstance(authenticator, pyotp.TOTP) and authenticator.secret == setup.secret
    assert client.two_factor_status().pending is True
    # Three checks of a code, each a later step than the last, all within the window of one either side.
    start = time.time()
    with pytest.raises(latchkey.InvalidTotpCodeError) as wrong:
        client.enable_two_factor("000000" if authenticator.at(start - 30) != "000000" else "111111")
    assert wrong.value.status == 400
    codes = client.enable_two_factor(authenticator.at(start - 30))
    assert len(codes) == 10 and client.two_factor_status().enabled is True

    pending = client.login(name, PASSWORD)
    assert pending.two_factor_required is True and client.token == pending.token
    with pytest.raises(latchkey.UnauthorizedError):
        client.get_user()  # a pending token is good for the second step only
    done = client.login_totp(authenticator.at(start))
    assert done.two_factor_required is False and client.get_user().two_factor_enabled is True

    fresh = client.regenerate_recovery_codes(authenticator.at(start + 30))
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    client.login(name, PASSWORD)
    client.login_totp(recovery_code=fresh[0])
    assert client.two_factor_status().recovery_codes_remaining == 9
    with pytest.raises(ValueError):
        client.disable_two_factor()  # a code or a recovery code, exactly one
    client.disable_two_factor(recovery_code=fresh[1])
    assert client.two_factor_status().enabled is False


def test_applications_and_collaborators(account: tuple[Client, str], clients_server: MailServer) -> None:
    client, owner = account
    helper = unique_name("helper")
    with Client(clients_server.url, "") as other:
        other.signup(helper, f"{helper}@example.com", PASSWORD)

        app = client.create_application("fleet", description="Our devices")
        assert isinstance(app, latchkey.Application) and (app.owner, app.role) == (owner, "owner")
        assert set(app.permissions) == {"read", "write", "operate", "manage_collaborators", "delete"}
        assert client.get_application(app.id) == app
        renamed = client.update_application(app.id, name="fleet2")
        assert renamed.name == "fleet2" and renamed.description == "Our devices"  # not given: kept
        cleared = client.update_application(app.id, description=None)
        assert cleared.name == "fleet2" and cleared.description is None
        assert [a.id for a in client.list_applications().items] == [app.id]

        added = client.add_collaborator(app.id, helper, "developer")
        assert isinstance(added, latchkey.SharedCollaborator) and added.added is True and added.role == "developer"
        changed = client.add_collaborator(app.id, helper, "observer")
        assert changed.added is False and changed.role == "observer"
        (listed,) = client.list_collaborators(app.id).items
        assert isinstance(listed, latchkey.Collaborator) and (listed.username, listed.role) == (helper, "observer")
        assert [c.username for c in client.iter_collaborators(app.id, page_size=1)] == [helper]
        seen = other.get_application(app.id)
        assert (seen.role, seen.permissions) == ("observer", ["read"])
        with pytest.raises(latchkey.ForbiddenError):
            other.update_application(app.id, name="mine")  # access, but not the permission: 403

        client.remove_collaborator(app.id, helper)
        with pytest.raises(latchkey.NotFoundError):
            other.get_application(app.id)  # gone on the very next request, as if it never existed
        with pytest.raises(latchkey.ConflictError):
            client.create_application("FLEET2")
        client.delete_application(app.id)
        with pytest.raises(latchkey.NotFoundError):
            client.get_application(app.id)


@pytest.mark.parametrize(
    ("call", "error", "status"),
    [
        (lambda c: c.signup("x", "x@example.com", PASSWORD), latchkey.BadRequestError, 400),
        (lambda c: c.login(unique_name(), "wrong password"), latchkey.InvalidCredentialsError, 401),
        (lambda c: c.get_user(), latchkey.UnauthorizedError, 401),
    ],
)
def test_each_error_is_its_own_class_with_status_and_message(
    clients_server: MailServer, call: object, error: type[latchkey.ApiError], status: int
) -> None:
    with Client(clients_server.url, "") as client, pytest.raises(error) as raised:
        call(client)  # type: ignore[operator]
    assert raised.value.status == status and raised.value.code == error.code and raised.value.message
    assert isinstance(raised.value, latchkey.ApiError) and str(raised.value).startswith(error.code + ": ")


def test_bad_input_names_the_field_and_a_taken_name_is_a_conflict(account: tuple[Client, str]) -> None:
    client, name = account
    with pytest.raises(latchkey.BadRequestError) as bad:
        client.create_api_key("")
    assert "name" in bad.value.message
    with pytest.raises(latchkey.ConflictError) as taken:
        Client(client.url, "").signup(name, f"other-{name}@example.com", PASSWORD)
    assert taken.value.status == 409 and "username" in taken.value.message.lower()


def test_a_real_lockout_429_is_raised_at_once_with_retry_after(clients_server: MailServer) -> None:
    """Retry-After of a lockout (15 minutes) is beyond the retry budget: no waiting, the error says how long."""
    name = unique_name("locked")
    with Client(clients_server.url, "", max_retry_wait=30) as client:
        client.signup(name, f"{name}@example.com", PASSWORD)
        for _ in range(10):
            with pytest.raises(latchkey.InvalidCredentialsError):
                client.login(name, "not the password")
        started = time.monotonic()
        with pytest.raises(latchkey.TooManyRequestsError) as locked:
            client.login(name, PASSWORD)  # even the right password, for 15 minutes
        assert time.monotonic() - started < 5
        assert locked.value.status == 429 and locked.value.retry_after is not None
        assert 30 < locked.value.retry_after <= 900


# ---- the second stage of the contract ----


def test_sessions_list_revoke_and_logout(account: tuple[Client, str], clients_server: MailServer) -> None:
    client, name = account
    with Client(clients_server.url, "") as laptop, Client(clients_server.url, "") as phone:
        laptop.login(name, PASSWORD)
        phone.login(name, PASSWORD)
        sessions = list(client.iter_sessions(page_size=1))
        assert len(sessions) == 3 and all(isinstance(s, latchkey.Session) for s in sessions)
        assert [s.current for s in sessions].count(True) == 1
        assert [s.created_at for s in sessions] == sorted((s.created_at for s in sessions), reverse=True)
        page = client.list_sessions(limit=2)
        assert len(page) == 2 and page.next_cursor

        phones = next(s for s in phone.list_sessions().items if s.current)
        client.revoke_session(phones.id)
        with pytest.raises(latchkey.UnauthorizedError):
            phone.get_user()
        with pytest.raises(latchkey.NotFoundError):
            client.revoke_session(phones.id)

        laptop.logout()
        assert laptop.token is None
        with Client(clients_server.url, "") as again:
            again.login(name, PASSWORD)
            assert client.revoke_other_sessions() == 1
            with pytest.raises(latchkey.UnauthorizedError):
                again.get_user()
        assert client.get_user().username == name


def test_reauthenticate_password_change_and_device_tokens(clients_server: MailServer) -> None:
    name = unique_name("pw")
    with Client(clients_server.url, "") as client, Client(clients_server.url, "") as other:
        signup = client.signup(name, f"{name}@example.com", PASSWORD)
        assert signup.device_token
        login = client.login(name, PASSWORD)
        assert login.device_token == signup.device_token == client.device_token  # sent back: the same one
        other.login(name, PASSWORD)

        when = client.reauthenticate(PASSWORD)
        assert when is not None and abs((when - datetime.now(UTC)).total_seconds()) < 60
        with pytest.raises(latchkey.InvalidPasswordError) as wrong:
            client.reauthenticate("not the password")
        assert wrong.value.status == 400

        with pytest.raises(latchkey.InvalidPasswordError):
            client.change_password("not the password", NEW_PASSWORD)
        assert client.change_password(PASSWORD, NEW_PASSWORD) == 2  # sign-up's session and the other's
        with pytest.raises(latchkey.UnauthorizedError):
            other.get_user()
        assert client.get_user().username == name  # the caller's session goes on
        relogin = Client(clients_server.url, "").login(name, NEW_PASSWORD, device_token=signup.device_token)
        assert relogin.device_token and relogin.device_token != signup.device_token  # the old one ended


def test_email_verification_change_and_password_reset(clients_server: MailServer) -> None:
    name = unique_name("mail")
    address = f"{name}@example.com"
    with Client(clients_server.url, "", max_retry_wait=0) as client:
        client.signup(name, address, PASSWORD)
        assert client.get_user().email_verified is False
        with pytest.raises(latchkey.TooManyRequestsError) as soon:
            client.resend_verification()  # sign-up's message counts as the first of the minute
        assert soon.value.retry_after is not None and 0 < soon.value.retry_after <= 60

        verified = client.verify_email(clients_server.last_token(address))
        assert isinstance(verified, latchkey.EmailVerification) and (verified.email, verified.email_verified) == (
            address,
            True,
        )
        assert client.get_user().email_verified is True
        with pytest.raises(latchkey.ConflictError):
            client.resend_verification()  # already verified
        with pytest.raises(latchkey.BadRequestError) as used:
            client.verify_email(clients_server.last_token(address))
        assert "token" in used.value.message

        new_address = f"new-{name}@example.com"
        assert client.change_email(new_address) == new_address
        assert client.get_user().email == address  # until verified
        assert client.verify_email(clients_server.last_token(new_address)).email == new_address
        assert client.get_user().email == new_address

        assert client.request_password_reset(new_address) is None
        assert client.request_password_reset(f"nobody-{name}@example.com") is None  # alike
        client.confirm_password_reset(clients_server.last_token(new_address), NEW_PASSWORD)
        with pytest.raises(latchkey.UnauthorizedError):
            client.get_user()  # every session ended
        assert client.login(name, NEW_PASSWORD).two_factor_required is False


def test_delete_the_account(account: tuple[Client, str], clients_server: MailServer) -> None:
    client, name = account
    app = client.create_application("fleet")
    with pytest.raises(latchkey.ConflictError) as owns:
        client.delete_account(PASSWORD)
    assert "fleet" in owns.value.message
    client.delete_application(app.id)
    with pytest.raises(latchkey.InvalidPasswordError):
        client.delete_account("not the password")
    client.delete_account(PASSWORD)
    assert client.token is None
    with Client(clients_server.url, "") as again:
        with pytest.raises(latchkey.InvalidCredentialsError):
            again.login(name, PASSWORD)
        again.signup(name, f"{name}@example.com", PASSWORD)  # the name is free again


def test_rotate_and_scoped_keys(account: tuple[Client, str], clients_server: MailServer) -> None:
    client, _ = account
    fleet = client.create_application("fleet")
    other = client.create_application("other")
    scoped = client.create_api_key("fleet-ci", applications=[fleet.id], permissions=["read", "operate"])
    assert scoped.scope == latchkey.Scope(applications=[fleet.id], permissions=["read", "operate"])
    with Client(clients_server.url, scoped.key) as by_key:
        assert [a.id for a in by_key.iter_applications()] == [fleet.id]
        assert by_key.get_application(fleet.id).permissions == ["read", "operate"]
        with pytest.raises(latchkey.NotFoundError):
            by_key.get_application(other.id)
        with pytest.raises(latchkey.ForbiddenError):
            by_key.create_application("third")
    with pytest.raises(latchkey.BadRequestError) as bad:
        client.create_api_key("bad", applications=["no-such-app"])
    assert "scope.applications" in bad.value.message

    rotated = client.rotate_api_key(scoped.id, grace_seconds=600)
    assert isinstance(rotated, latchkey.NewApiKey) and rotated.key != scoped.key
    assert (rotated.name, rotated.scope) == (scoped.name, scoped.scope)
    old = next(k for k in client.iter_api_keys() if k.id == scoped.id)
    assert old.expires_at is not None and old.expires_at <= datetime.now(UTC) + timedelta(seconds=601)
    assert Client(clients_server.url, scoped.key).get_user()  # within the grace period
    at_once = client.rotate_api_key(rotated.id)
    with pytest.raises(latchkey.UnauthorizedError):
        Client(clients_server.url, rotated.key).get_user()
    assert Client(clients_server.url, at_once.key).get_user()
    with pytest.raises(latchkey.NotFoundError):
        client.rotate_api_key(rotated.id)  # expired: cannot be rotated


def test_transfer_organization_collaborators_and_offboarding(
    account: tuple[Client, str], clients_server: MailServer
) -> None:
    client, _ = account
    helper = unique_name("helper")
    with Client(clients_server.url, "") as other:
        other.signup(helper, f"{helper}@example.com", PASSWORD)
        apps = [client.create_application(f"app{i}") for i in range(3)]
        for app in apps:
            client.add_collaborator(app.id, helper, "developer")
        (person,) = client.iter_organization_collaborators()
        assert isinstance(person, latchkey.OrganizationCollaborator) and person.username == helper
        assert sorted(a.id for a in person.applications) == sorted(a.id for a in apps)
        assert len(client.list_organization_collaborators(limit=1).items) == 1

        moved = client.transfer_application(apps[0].id, helper)
        assert (moved.owner, moved.role) == (helper, "developer")
        with pytest.raises(latchkey.BadRequestError) as bad:
            client.transfer_application(apps[1].id, unique_name("nobody"))
        assert "username" in bad.value.message

        removed = client.offboard_collaborator(helper)
        assert sorted(removed) == sorted(a.id for a in apps[1:])
        assert [a.id for a in other.iter_applications()] == [apps[0].id]  # only the one they now own
        with pytest.raises(latchkey.NotFoundError):
            client.offboard_collaborator(helper)


def test_events_of_the_account_and_of_an_application(account: tuple[Client, str], clients_server: MailServer) -> None:
    client, name = account
    with pytest.raises(latchkey.InvalidCredentialsError):
        Client(clients_server.url, "").login(name, "not the password")
    key = client.create_api_key("ci")
    events = list(client.iter_events(page_size=1))
    assert all(isinstance(e, latchkey.Event) for e in events)
    assert [e.type for e in events][:3] == ["api_key.created", "login.failed", "signup"]
    assert events[0].details["prefix"] == key.prefix and key.key not in str([e.raw for e in events])
    assert events[1].details["reason"] == "password"
    assert [e.type for e in client.list_events(limit=1).items] == ["api_key.created"]

    app = client.create_application("fleet")
    helper = unique_name("helper")
    Client(clients_server.url, "").signup(helper, f"{helper}@example.com", PASSWORD)
    client.add_collaborator(app.id, helper, "developer")
    client.add_collaborator(app.id, helper, "observer")
    log = list(client.iter_application_events(app.id))
    assert [e.type for e in log] == ["collaborator.role_changed", "collaborator.added", "application.created"]
    assert log[0].details["from"] == "developer" and log[0].details["to"] == "observer"
    assert [e.type for e in client.list_application_events(app.id, limit=1)] == ["collaborator.role_changed"]


def test_a_session_too_old_for_a_recent_route_needs_reauthentication(start_server: ServerFactory) -> None:
    server = start_server(REAUTH_MAX_AGE_SECONDS="2")
    name = unique_name("recent")
    with Client(server.url, "") as client:
        client.signup(name, f"{name}@example.com", PASSWORD)
        time.sleep(3)
        with pytest.raises(latchkey.ReauthenticationRequiredError) as old:
            client.create_api_key("ci")
        assert old.value.status == 403
        client.reauthenticate(PASSWORD)
        assert client.create_api_key("ci").key.startswith("lk_")


# ---- passkeys ----


def add_passkey(client: Client, url: str, name: str = "laptop") -> SoftwareAuthenticator:
    """Register a software authenticator's passkey for the client's user, as a browser would."""
    parts = urlsplit(url)  # the dev server's PUBLIC_URL is its own URL
    authenticator = SoftwareAuthenticator(f"{parts.scheme}://{parts.netloc}", parts.hostname or "")
    started = client.passkey_registration_options()
    passkey = client.register_passkey(started["challenge_id"], authenticator.create(started["options"]), name)
    assert isinstance(passkey, latchkey.Passkey) and passkey.id == authenticator.id and passkey.name == name
    return authenticator


def test_passkeys_register_list_rename_delete_and_log_in(
    account: tuple[Client, str], clients_server: MailServer
) -> None:
    client, _ = account
    first = add_passkey(client, clients_server.url, "laptop")
    second = add_passkey(client, clients_server.url, "phone")
    listed = list(client.iter_passkeys(page_size=1))
    assert [p.name for p in listed] == ["laptop", "phone"] and listed[0].last_used_at is None
    assert client.list_passkeys(limit=1).next_cursor
    assert client.rename_passkey(second.id, "old phone").name == "old phone"

    with Client(clients_server.url, "") as browser:
        started = browser.passkey_login_options()
        login = browser.login_with_passkey(started["challenge_id"], first.get(started["options"]))
        assert isinstance(login, latchkey.Login) and login.two_factor_required is False and login.device_token
        assert browser.get_user().id == client.get_user().id
        started = browser.passkey_login_options()
        with pytest.raises(latchkey.InvalidPasskeyError) as refused:
            browser.login_with_passkey(started["challenge_id"], first.get(started["options"], forge=True))
        assert refused.value.status == 401
        with pytest.raises(latchkey.PasskeyChallengeError):
            browser.login_with_passkey(started["challenge_id"], first.get(started["options"]))  # spent

    client.delete_passkey(second.id)
    assert [p.id for p in client.iter_passkeys()] == [first.id]
    with pytest.raises(latchkey.PasskeyNotFoundError) as missing:
        client.delete_passkey(second.id)
    assert isinstance(missing.value, latchkey.NotFoundError) and missing.value.status == 404


# ---- device login ----


def test_device_login_polls_until_approved_and_stops_at_a_denial(clients_server: MailServer) -> None:
    name = unique_name("sdkdev")
    slept: list[float] = []
    with Client(clients_server.url, "") as browser, Client(clients_server.url, "", sleep=slept.append) as terminal:
        browser.signup(name, f"{name}@example.com", PASSWORD)
        started = terminal.start_device_login("sdk test")
        assert isinstance(started, latchkey.DeviceLogin) and started.interval == 5 and started.expires_in == 600
        assert "device_code" not in repr(started)  # the client's secret stays out of logs
        assert terminal.poll_device_login(started, wait=False) is None
        with pytest.raises(latchkey.SlowDownError):  # polled again at once
            terminal.poll_device_login(started, wait=False)
        shown = browser.device_login_request(started.user_code.replace("-", " ").lower())
        assert isinstance(shown, latchkey.DeviceRequest) and shown.client_name == "sdk test"
        assert browser.approve_device_login(started.user_code).status == "approved"
        done = terminal.poll_device_login(started)
        assert done is not None and terminal.token == done.token and terminal.device_token
        assert slept == [5] and terminal.get_user().username == name
        with pytest.raises(latchkey.InvalidGrantError) as used:
            terminal.poll_device_login(started)
        assert used.value.status == 400 and used.value.code == "invalid_grant"

        denied = terminal.start_device_login("sdk test")
        browser.deny_device_login(denied.user_code)
        with pytest.raises(latchkey.AccessDeniedError):
            terminal.poll_device_login(denied)
        with pytest.raises(latchkey.DeviceCodeNotFoundError):
            browser.approve_device_login(denied.user_code)
