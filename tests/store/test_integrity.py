"""The integrity checker (scripts/check_integrity.py) finds each kind of orphan and broken
invariant; an application deleted half-way (marked, its grants still there) is no finding, and
the purge finishes deleting it."""

from __future__ import annotations

import check_integrity
import pytest

from chalicelib.config import Settings
from chalicelib.rules import OWNER_ROLE
from chalicelib.services import Services
from chalicelib.services.purge import INTERVAL_SECONDS as PURGE_INTERVAL_SECONDS
from chalicelib.store import dynamo
from chalicelib.store.applications import Application, ApplicationStore
from chalicelib.store.expiry import purge_expired
from chalicelib.store.grants import Grant, GrantStore
from chalicelib.store.sessions import Session, SessionStore
from chalicelib.store.users import User, UserStore
from tests.conftest import START


def rules_found(settings: Settings) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in check_integrity.check(settings):
        found.setdefault(finding.rule, []).append(finding.message)
    return found


@pytest.fixture
def owner(settings: Settings) -> User:
    user = User("U1", "alice", "alice@example.com", "hash", START)
    UserStore(settings).create(user)
    return user


def new_app(settings: Settings, owner: User, name: str = "fleet", app_id: str = "A" * 26) -> Application:
    app = Application(app_id, name, None, owner.user_id, owner.username, START)
    grant = Grant(app_id, owner.user_id, owner.username, OWNER_ROLE, START)
    ApplicationStore(settings).create(app, with_entries=[GrantStore(settings).put_entry(grant)])
    return app


def put(settings: Settings, table: str, item: dict[str, object]) -> None:
    dynamo.client().put_item(TableName=settings.table_name(table), Item=dynamo.to_item(item))


def test_a_consistent_state_has_no_findings(settings: Settings, owner: User) -> None:
    new_app(settings, owner)
    SessionStore(settings).put(Session("s1", owner.user_id, "session", START, START + 60))
    assert check_integrity.check(settings) == []


def test_it_finds_each_kind_of_orphan(settings: Settings, owner: User) -> None:
    app = new_app(settings, owner)
    put(settings, "users", {"pk": "USERNAME#ghost", "user_id": "U9", "created_at": START})
    put(settings, "users", {"pk": "USER#U2", "user_id": "U2", "username": "bob", "email": "b@example.com"})
    put(settings, "grants", {"app_id": "B" * 26, "user_id": owner.user_id, "username": "alice", "role": "observer"})
    put(settings, "grants", {"app_id": app.app_id, "user_id": "U2", "username": "bob", "role": OWNER_ROLE})
    put(settings, "applications", {"pk": "NAME#U1#gone", "app_id": "C" * 26, "owner_id": owner.user_id})
    SessionStore(settings).put(Session("s1", "U9", "session", START, START + 60))
    put(settings, "sessions", {"session_id": "s2", "user_id": owner.user_id, "expires_at": START, "expiry_bucket": "x"})
    put(settings, "passkeys", {"credential_id": "Y3JlZA", "passkey_id": "P1", "user_id": "U9", "name": "laptop"})
    found = rules_found(settings)
    assert set(found) == {
        "username claims without their user",
        "users without their claims",
        "grants of applications that do not exist",
        "applications without exactly one owner grant",
        "application name claims without their application",
        "sessions of users who do not exist",
        "sessions outside their expiry bucket",
        "passkeys of users who do not exist",
    }
    assert found["users without their claims"] == [
        "user U2 has no USERNAME claim for 'bob'",
        "user U2 has no EMAIL claim for 'b@example.com'",
    ]
    assert check_integrity.main(["--prefix", settings.table_prefix, "--endpoint", settings.dynamodb_endpoint]) == 1


def test_an_application_deleted_half_way_is_finished_by_the_purge(settings: Settings, owner: User) -> None:
    app = new_app(settings, owner)
    UserStore(settings).create(User("U2", "bob", "bob@example.com", "hash", START))
    GrantStore(settings).add(
        Grant(app.app_id, "U2", "bob", "observer", START), ApplicationStore(settings).exists_check(app.app_id)
    )
    ApplicationStore(settings).delete(app, START)  # the request died after its transaction
    assert dynamo.get_many(ApplicationStore(settings).ref(app.app_id)) == [None]  # gone for every reader
    assert check_integrity.check(settings) == []  # grants awaiting the purge are no finding
    new_app(settings, owner, app_id="D" * 26)  # its name was released with it

    report = purge_expired(settings, START + 1)["applications"]
    assert (report.deleted, report.cascaded) == (1, 2)
    grants = dynamo.client().scan(TableName=settings.table_name("grants"))["Items"]
    assert [dynamo.from_item(g)["app_id"] for g in grants] == ["D" * 26]
    assert check_integrity.check(settings) == []


def test_an_account_deleted_half_way_is_no_finding_until_the_purge_is_late(
    settings: Settings, services: Services, owner: User
) -> None:
    SessionStore(settings).put(Session("s1", owner.user_id, "session", START, START + 60))
    # The deletion's transaction committed and its request died: the user's session is left.
    dynamo.transact(UserStore(settings).delete_entries(owner, START), on_condition_failure=lambda failed: None)
    assert check_integrity.check(settings, now=START) == []  # the tombstone says it is in progress
    late = START + 2 * PURGE_INTERVAL_SECONDS + 1
    assert [f.rule for f in check_integrity.check(settings, now=late)] == [
        "account deletions the purge has not finished"
    ]
    report = services.purge.finish_deletions()
    assert (report.deleted, report.cascaded) == (1, 1)  # the tombstone, and the session it stood for
    assert check_integrity.check(settings, now=late) == []
    assert SessionStore(settings).all_of(owner.user_id) == []
    assert check_integrity.snapshot(settings).deleting() == {}
