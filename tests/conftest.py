"""Fixtures that read like the story: a DynamoDB endpoint, fresh tables, a KMS key, a clock, the API, a user."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import local_dynamodb
import pytest

local_dynamodb.use_fake_aws_credentials()

import check_integrity  # noqa: E402
from chalice.test import Client  # noqa: E402

from app import app  # noqa: E402
from chalicelib.config import Settings, use_settings  # noqa: E402
from chalicelib.services import Services, use_services  # noqa: E402
from chalicelib.store import dynamo, kms  # noqa: E402

JSON = {"Content-Type": "application/json"}
START = 2_000_000_000  # 2033-05-18T03:33:20Z: the fake clock's first reading
PASSWORD = "correct horse battery"
_prefixes = itertools.count()
_made: set[str] = set()  # the prefixes whose tables exist


class FakeClock:
    """A clock that tests move by hand."""

    def __init__(self, now: int = START) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds


BACKENDS = ("moto", "dynamodb-local")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=(*BACKENDS, "once", "all"),
        default="once",
        help="the DynamoDB the store, functional and e2e tests run against: moto, dynamodb-local, all (each "
        "test on both), or once (the default: each test on DynamoDB Local, the stricter, where it can run, "
        "else on moto; tests pinned to one backend keep it)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep only the tests of the chosen backend; in CI a DynamoDB Local that cannot run is an error."""
    chosen = config.getoption("--backend")
    if chosen == "once":
        chosen = "moto" if local_dynamodb.dynamodb_local_missing() else "dynamodb-local"
        both = _on_both(items)
        dropped = [item for item in items if _pairing(item) in both and _backend(item) != chosen]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if item not in set(dropped)]
    elif chosen != "all":
        kept, dropped = [], []
        for item in items:
            backend = _backend(item)
            (dropped if backend and backend != chosen else kept).append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept
    if os.environ.get("CI") == "true" and any(_backend(item) == "dynamodb-local" for item in items):
        missing = local_dynamodb.dynamodb_local_missing()
        if missing:
            raise pytest.UsageError(f"CI=true and {missing}")


def _pairing(item: pytest.Item) -> str:
    """The item's id with its backend left out: the same test on the other backend has the same."""
    base, bracket, params = item.nodeid.partition("[")
    backend = _backend(item)
    return base + bracket + (params.replace(backend, "*", 1) if backend else params)


def _on_both(items: list[pytest.Item]) -> set[str]:
    """The tests collected for both backends."""
    seen: dict[str, set[str]] = {}
    for item in items:
        backend = _backend(item)
        if backend:
            seen.setdefault(_pairing(item), set()).add(backend)
    return {key for key, backends in seen.items() if len(backends) == len(BACKENDS)}


def _backend(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("dynamodb_endpoint") if callspec else None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip DynamoDB Local's runs where it cannot run, raised here (not in the fixture) so that
    pytest's summary folds them into one line."""
    missing = _backend(item) == "dynamodb-local" and local_dynamodb.dynamodb_local_missing()
    if missing:
        pytest.skip(missing)


@pytest.fixture(scope="session", params=BACKENDS)
def dynamodb_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    """One DynamoDB for the whole test session, per backend: moto's server, or Amazon's DynamoDB Local.

    Every test that uses it (through ``settings``, ``api``...) runs once against each.
    """
    if request.param == "moto":
        endpoint, stop = local_dynamodb.start_moto()
    else:
        endpoint, stop = local_dynamodb.start_dynamodb_local()  # pytest_runtest_setup skipped it if missing
    yield endpoint
    stop()


@pytest.fixture(scope="session")
def kms_endpoint() -> Iterator[str]:
    """One KMS for the whole test session, on both backends: a moto server of its own."""
    endpoint, stop = local_dynamodb.start_moto()
    yield endpoint
    stop()


# Emptied table sets, by endpoint, for the next test to take: creating the eleven tables costs
# about 0.4 s a test, emptying them a tenth of that.
_emptied: dict[str, list[str]] = {}


@pytest.fixture
def settings(dynamodb_endpoint: str, kms_endpoint: str, tmp_path: Path) -> Iterator[Settings]:
    """Empty tables (their own name prefix: made for this test, or emptied after another) and a new
    KMS key for one test, and the settings that name them. Mail goes to the outbox in the test's own
    directory (see ``Outbox``)."""
    free = _emptied.setdefault(dynamodb_endpoint, [])
    prefix = free.pop() if free else f"t{os.getpid()}x{next(_prefixes)}-"
    base = Settings(
        table_prefix=prefix,
        jwt_secret="test-signing-key-" + "x" * 32,
        mail_dir=str(tmp_path / "mail"),
        mail_transport="outbox",
        purge_lookback_days=1,  # the purge queries every expiry shard of every day it looks back over
    )
    settings = local_dynamodb.install(base, dynamodb_endpoint, kms_endpoint, create=prefix not in _made)
    _made.add(prefix)
    yield settings
    try:  # with the integrity checker's client: not the test's (a fault injector, no retries)
        local_dynamodb.empty_tables(settings, check_integrity.scan_client(settings))
        free.append(prefix)
    except Exception:  # a database the test stopped or broke: its tables are not handed on
        _made.discard(prefix)
    use_settings(None)
    use_services(None)
    dynamo.reset_client()
    kms.reset_client()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(settings: Settings, clock: FakeClock) -> Services:
    built = Services(settings, clock)
    use_services(built)
    return built


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Api:
    """The API through Chalice's test client: JSON in, Reply out."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def call(self, method: str, path: str, body: Any = None, token: str | None = None, **headers: str) -> Reply:
        sent = dict(JSON)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers)
        raw = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
        reply = self.client.http.request(method, path, headers=sent, body=raw or b"")
        parsed = json.loads(reply.body) if reply.body else None
        return Reply(reply.status_code, parsed, {k.lower(): v for k, v in reply.headers.items()})

    def get(self, path: str, token: str | None = None) -> Reply:
        return self.call("GET", path, token=token)

    def post(self, path: str, body: Any = None, token: str | None = None) -> Reply:
        return self.call("POST", path, body if body is not None else {}, token=token)

    def signup(self, username: str = "alice", email: str | None = None, password: str = PASSWORD) -> Reply:
        reply = self.post(
            "/v1/signup", {"username": username, "email": email or f"{username}@example.com", "password": password}
        )
        assert reply.status == 201, reply.body
        return reply

    def login(self, username: str = "alice", password: str = PASSWORD, device_token: str | None = None) -> Reply:
        body = {"username": username, "password": password}
        if device_token is not None:
            body["device_token"] = device_token
        return self.post("/v1/login", body)

    def use_address(self, address: str) -> None:
        """Send the next requests from ``address``, as API Gateway would report the client's."""
        self.client.http._local_gateway.event_converter.LOCAL_SOURCE_IP = address


@pytest.fixture
def api(services: Services) -> Iterator[Api]:
    with Client(app) as client:
        yield Api(client)


@pytest.fixture
def alice(api: Api) -> str:
    """A signed-up user's session token."""
    token: str = api.signup("alice").body["token"]
    return token


def count_dynamodb_calls() -> list[str]:
    """Record the name of every DynamoDB call made from now on into the returned list."""
    calls: list[str] = []
    dynamo.client().meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    return calls


def count_kms_calls() -> list[str]:
    """Record the name of every KMS call made from now on into the returned list."""
    calls: list[str] = []
    kms.client().meta.events.register("before-call.kms", lambda model, **_: calls.append(model.name))
    return calls


@dataclass
class Mail:
    """A message from the outbox, parsed with the email module."""

    to: str
    subject: str
    text: str
    html: str
    links: list[str]

    @property
    def link(self) -> str:
        """The message's one link (it fails unless there is exactly one)."""
        assert len(self.links) == 1, self.links
        return self.links[0]

    @property
    def token(self) -> str:
        """The token of the one link's fragment (or query)."""
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(self.link)
        found = parse_qs(parts.fragment) or parse_qs(parts.query)
        return found["token"][0]


class Outbox:
    """The mails the app wrote to MAIL_DIR, oldest first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def all(self) -> list[Mail]:
        import email
        import email.policy
        import re

        mails = []
        for path in sorted(self.directory.glob("*.eml")) if self.directory.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert message.get_content_type() == "multipart/alternative"
            text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
            links = re.findall(r"https?://\S+", text)
            mails.append(Mail(str(message["To"]), str(message["Subject"]), text, html, links))
        return mails

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.all() if m.to == address]

    def last(self, address: str) -> Mail:
        mails = self.to(address)
        assert mails, f"no mail to {address}"
        return mails[-1]


@pytest.fixture
def outbox(settings: Settings) -> Outbox:
    return Outbox(Path(settings.mail_dir))
