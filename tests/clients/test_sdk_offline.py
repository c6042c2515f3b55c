"""The Python SDK's own behaviour against a tiny HTTP stub on 127.0.0.1: retries, timeouts, errors, the file store.

No DynamoDB and no dev server: the stub answers what each test scripts, and records what it got.
"""

from __future__ import annotations

import json
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import latchkey
import pytest
from latchkey import Client, credentials
from latchkey.client import retry_after
from latchkey.errors import ERRORS_BY_CODE, error_for

from tests.clients.conftest import free_port_url
from tests.clients.stub import Reply, Stub

USER = {
    "id": "u1",
    "username": "alice",
    "email": "a@example.com",
    "created_at": "2030-01-01T00:00:00Z",
    "two_factor_enabled": False,
}
TOO_MANY = {"Code": "TooManyRequestsError", "Message": "Too many failed logins: try again later."}
BUSY = {"Code": "ServiceUnavailableError", "Message": "The database is busy: try again."}


def test_a_429_is_retried_after_its_retry_after(stub: Stub) -> None:
    stub.replies = [Reply(429, TOO_MANY, {"Retry-After": "1"}), Reply(200, USER)]
    with Client(stub.url, "t") as client:
        assert client.get_user().username == "alice"
    assert len(stub.seen) == 2
    assert stub.times[1] - stub.times[0] >= 0.95  # it waited as asked


def test_a_503_is_retried_and_a_post_is_sent_again_whole(stub: Stub) -> None:
    stub.replies = [
        Reply(503, BUSY, {"Retry-After": "0"}),
        Reply(503, BUSY, {"Retry-After": "0"}),
        Reply(
            201,
            {
                "id": "k1",
                "name": "ci",
                "description": None,
                "prefix": "lk_abcde",
                "created_at": "2030-01-01T00:00:00Z",
                "expires_at": None,
                "last_used_at": None,
                "key": "lk_" + "a" * 38,
            },
        ),
    ]
    with Client(stub.url, "t") as client:
        assert client.create_api_key("ci").id == "k1"
    assert [json.loads(body) for *_, body in stub.seen] == [{"name": "ci"}] * 3


def test_retries_are_bounded_in_number(stub: Stub) -> None:
    stub.replies = [Reply(503, BUSY, {"Retry-After": "0"})]
    with Client(stub.url, "t", max_attempts=3) as client, pytest.raises(latchkey.ServiceUnavailableError) as busy:
        client.get_user()
    assert len(stub.seen) == 3
    assert busy.value.status == 503 and busy.value.retry_after == 0 and busy.value.message == BUSY["Message"]


def test_retries_are_bounded_in_total_wait(stub: Stub) -> None:
    waits: list[float] = []
    stub.replies = [Reply(429, TOO_MANY, {"Retry-After": "2"})]
    with (
        Client(stub.url, "t", max_retry_wait=5, sleep=waits.append) as client,
        pytest.raises(latchkey.TooManyRequestsError) as limited,
    ):
        client.get_user()
    assert waits == [2, 2]  # a third wait would pass the 5 seconds: given up, saying how long to wait
    assert len(stub.seen) == 3 and limited.value.retry_after == 2


def test_a_wait_longer_than_the_budget_is_not_waited_at_all(stub: Stub) -> None:
    stub.replies = [Reply(429, TOO_MANY, {"Retry-After": "900"})]
    started = time.monotonic()
    with Client(stub.url, "t") as client, pytest.raises(latchkey.TooManyRequestsError) as locked:
        client.login("alice", "pw")
    assert time.monotonic() - started < 2 and len(stub.seen) == 1 and locked.value.retry_after == 900


def test_retry_after_as_an_http_date(stub: Stub) -> None:
    later = datetime.now(UTC) + timedelta(seconds=1)
    stub.replies = [Reply(503, BUSY, {"Retry-After": format_datetime(later, usegmt=True)}), Reply(200, USER)]
    waits: list[float] = []
    with Client(stub.url, "t", sleep=waits.append) as client:
        client.get_user()
    assert len(waits) == 1 and 0 <= waits[0] <= 1.5
    assert retry_after("120") == 120 and retry_after(None) is None and retry_after("soon") is None


def test_other_errors_are_not_retried(stub: Stub) -> None:
    stub.replies = [Reply(500, {"Code": "InternalServerError", "Message": "An internal server error occurred."})]
    with Client(stub.url, "t") as client, pytest.raises(latchkey.InternalServerError):
        client.get_user()
    assert len(stub.seen) == 1


def test_a_server_that_does_not_answer_in_time_is_a_network_error(stub: Stub) -> None:
    stub.replies = [Reply(200, USER, delay=2)]
    started = time.monotonic()
    with Client(stub.url, "t", timeout=0.3) as client, pytest.raises(latchkey.NetworkError) as slow:
        client.get_user()
    assert slow.value.timed_out is True and time.monotonic() - started < 1.5


def test_a_server_that_is_not_there_is_a_network_error() -> None:
    url = free_port_url()
    with Client(url, "t") as client, pytest.raises(latchkey.NetworkError) as down:
        client.get_user()
    assert down.value.timed_out is False and url in down.value.message


def test_what_the_client_sends(stub: Stub) -> None:
    stub.replies = [Reply(204)]
    with Client(stub.url + "/api/", "the-token") as client:  # API Gateway's stage path, with a slash
        client.remove_collaborator("app/1", "bob?x")
        client.logout()
    (method, path, headers, body), (method2, path2, headers2, body2) = stub.seen
    assert (method, path, body) == ("DELETE", "/api/v1/applications/app%2F1/collaborators/bob%3Fx", b"")
    assert headers["authorization"] == "Bearer the-token" and headers["user-agent"].startswith("latchkey-python/")
    assert (method2, path2, body2) == ("POST", "/api/v1/user/logout", b"")  # no fields: no body
    assert "content-type" not in headers2
    assert client.token is None  # logged out: forgotten


def test_login_sends_the_device_token_it_was_given_and_keeps_the_new_one(stub: Stub) -> None:
    stub.replies = [
        Reply(200, {"token": "p1", "expires_at": "2030-01-01T00:00:00Z", "two_factor_required": True}),
        Reply(
            200,
            {"token": "s1", "expires_at": "2030-01-01T00:00:00Z", "two_factor_required": False, "device_token": "d2"},
        ),
        Reply(
            200,
            {"token": "s2", "expires_at": "2030-01-01T00:00:00Z", "two_factor_required": False, "device_token": "d2"},
        ),
    ]
    with Client(stub.url, "", device_token="d1") as client:
        assert client.login("alice", "pw").two_factor_required is True and client.token == "p1"
        assert client.login_totp("123456").device_token == "d2"
        assert (client.token, client.device_token) == ("s1", "d2")
        client.login("alice", "pw")
    bodies = [json.loads(body) for *_, body in stub.seen]
    assert bodies[0] == {"username": "alice", "password": "pw", "device_token": "d1"}
    assert stub.seen[1][2]["authorization"] == "Bearer p1" and bodies[1] == {"code": "123456"}
    assert bodies[2]["device_token"] == "d2"  # the one the server gave, from then on
    assert "authorization" not in stub.seen[0][2]  # a login sends no credential


def test_the_platforms_answer_to_an_unknown_path_never_repeats_the_credential(stub: Stub) -> None:
    # Chalice's local server echoes the Authorization header in this message.
    echo = {"message": "Authorization header requires 'Credential' parameter. Authorization=Bearer secret-token"}
    stub.replies = [Reply(403, echo)]
    with Client(stub.url, "secret-token") as client, pytest.raises(latchkey.ForbiddenError) as missing:
        client.list_events()
    assert missing.value.no_route is True and "secret-token" not in str(missing.value) + repr(missing.value)
    assert missing.value.message == "the server has no route for GET /v1/user/events"


@pytest.mark.parametrize("code", sorted(ERRORS_BY_CODE))
def test_every_code_of_the_contract_has_its_class(code: str) -> None:
    status = {
        "BadRequestError": 400,
        "InvalidTotpCodeError": 400,
        "InvalidPasswordError": 400,
        "UnauthorizedError": 401,
        "InvalidCredentialsError": 401,
        "ForbiddenError": 403,
        "ReauthenticationRequiredError": 403,
        "NotFoundError": 404,
        "ConflictError": 409,
        "UnsupportedMediaType": 415,
        "TooManyRequestsError": 429,
        "ServiceUnavailableError": 503,
        "InternalServerError": 500,
        "PasskeyChallengeError": 400,
        "InvalidPasskeyError": 401,  # 400 while registering
        "PasskeyCloneError": 401,
        "PasskeyNotFoundError": 404,
        "DeviceCodeNotFoundError": 404,
        # A device login's poll: RFC 8628's words are the Code, each its own class.
        "authorization_pending": 400,
        "slow_down": 400,
        "access_denied": 400,
        "expired_token": 400,
        "invalid_grant": 400,
    }[code]
    rfc_words = {
        "authorization_pending": "AuthorizationPendingError",
        "slow_down": "SlowDownError",
        "access_denied": "AccessDeniedError",
        "expired_token": "ExpiredTokenError",
        "invalid_grant": "InvalidGrantError",
    }
    error = error_for(status, {"Code": code, "Message": "what happened"}, 7.0)
    assert type(error) is getattr(latchkey, rfc_words.get(code, code)) and isinstance(error, latchkey.ApiError)
    assert (error.status, error.code, error.message, error.retry_after) == (status, code, "what happened", 7.0)
    assert isinstance(error, latchkey.DeviceLoginError) == (code in rfc_words)
    assert len(ERRORS_BY_CODE) == 23


def test_an_unknown_code_falls_back_to_its_status() -> None:
    assert type(error_for(409, {"Code": "SomethingNew", "Message": "m"}, None)) is latchkey.ConflictError
    assert type(error_for(418, "teapot", None)) is latchkey.ApiError


# ---- the credential file ----


def test_the_file_is_created_0600_even_with_a_permissive_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = credentials.FileStore(tmp_path / "latchkey" / "credentials.json")
    modes_when_renamed: list[int] = []
    real_replace = os.replace

    def spy(source: str | Path, target: str | Path) -> None:  # the new file's mode before it takes the name
        modes_when_renamed.append(stat.S_IMODE(os.stat(source).st_mode))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    old_umask = os.umask(0)
    try:
        store.save("http://x", credentials.Record(token="t1", kind="session"))
        store.save("http://y", credentials.Record(token="t2", kind="api_key"))
    finally:
        os.umask(old_umask)
    assert modes_when_renamed == [0o600, 0o600]
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert store.load("http://x") == credentials.Record(token="t1", kind="session")
    assert store.delete("http://x") and not store.delete("http://x")
    assert list(store.path.parent.iterdir()) == [store.path]


def test_a_keyring_that_does_not_work_means_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("LATCHKEY_KEYRING", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    import keyring.core

    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # chosen again, from the variable
    store = credentials.save("http://x", credentials.Record(token="t"))
    assert isinstance(store, credentials.FileStore) and store.path == tmp_path / "latchkey" / "credentials.json"
    monkeypatch.setenv("LATCHKEY_KEYRING", "0")
    assert credentials.working_keyring() is None


@pytest.mark.parametrize(
    ("offset", "shown"),
    [
        (timedelta(seconds=-20), "just now"),
        (timedelta(minutes=-5), "5m ago"),
        (timedelta(hours=-3, minutes=-10), "3h ago"),
        (timedelta(days=7, seconds=-5), "in 7d"),
        (timedelta(days=-59), "59d ago"),
        (timedelta(days=90), "2030-04-01"),
    ],
)
def test_times_in_a_terminal_table_are_relative(offset: timedelta, shown: str) -> None:
    from latchkey.cli import At

    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert At(now + offset).show(terminal=True, now=now) == shown
    assert At(now + offset).show(terminal=False, now=now) == (now + offset).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert At(None, "-").show(terminal=True, now=now) == "-"
