"""Integrity check: orphans and broken invariants across every table. Read-only.

    python scripts/check_integrity.py [--prefix latchkey-dev-] [--endpoint http://127.0.0.1:8001]

The table prefix and the endpoint default to TABLE_PREFIX and DYNAMODB_ENDPOINT, as for the dev
server. It reads each table with paged, strongly consistent Scans (an offline tool: fine here,
never in a request), then runs every rule of ``RULES`` over what it read. It prints each finding
and a summary, and exits 1 if anything was found.

Rules are table-driven: a table added to store/tables.py adds its rule(s) to ``RULES`` (a name,
the tables it reads, and a function from the snapshot to finding messages). The fault-injection
tests call ``check(settings)`` in-process after every injected fault.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from chalicelib.config import Settings, use_settings  # noqa: E402
from chalicelib.rules import OWNER_ROLE  # noqa: E402
from chalicelib.services.purge import INTERVAL_SECONDS as PURGE_INTERVAL_SECONDS  # noqa: E402
from chalicelib.store import dynamo  # noqa: E402
from chalicelib.store.tables import TABLES, Table, expiry_attributes, expiry_key  # noqa: E402

Item = dict[str, Any]


@dataclass
class Snapshot:
    """Every item of every table that exists, by logical table name."""

    items: dict[str, list[Item]] = field(default_factory=dict)
    now: int = 0  # the time the check judges ages by

    def of(self, table: str) -> list[Item]:
        return self.items.get(table, [])

    def by_prefix(self, table: str, prefix: str) -> dict[str, Item]:
        """Items of a single-table design whose ``pk`` starts with ``prefix``, by the rest of it."""
        return {i["pk"][len(prefix) :]: i for i in self.of(table) if str(i.get("pk", "")).startswith(prefix)}

    def users(self) -> dict[str, Item]:
        return self.by_prefix("users", "USER#")

    def deleting(self) -> dict[str, Item]:
        """The tombstones of account deletions begun and not finished, by user id."""
        return self.by_prefix("users", "DELETED#")

    def applications(self) -> dict[str, Item]:
        """Every application item, marked deleted or not, by id."""
        return self.by_prefix("applications", "APP#")


@dataclass(frozen=True)
class Rule:
    name: str
    tables: tuple[str, ...]  # the tables it reads: a rule whose tables are not all there is skipped
    check: Callable[[Snapshot], Iterable[str]]


def _claims_without_users(kind: str, field_name: str) -> Callable[[Snapshot], Iterator[str]]:
    def check(s: Snapshot) -> Iterator[str]:
        users = s.users()
        for value, claim in s.by_prefix("users", f"{kind}#").items():
            user = users.get(claim.get("user_id", ""))
            if user is None:
                yield f"{kind}#{value} claims for user {claim.get('user_id')}, who does not exist"
            elif str(user.get(field_name, "")).lower() != value:
                has = user.get(field_name)
                yield f"{kind}#{value} claims for user {user['user_id']}, whose {field_name} is {has!r}"

    return check


def _users_without_claims(s: Snapshot) -> Iterator[str]:
    claims = {kind: s.by_prefix("users", f"{kind}#") for kind in ("USERNAME", "EMAIL")}
    for user_id, user in s.users().items():
        for kind, field_name in (("USERNAME", "username"), ("EMAIL", "email")):
            claim = claims[kind].get(str(user.get(field_name, "")).lower())
            if claim is None or claim.get("user_id") != user_id:
                yield f"user {user_id} has no {kind} claim for {user.get(field_name)!r}"


def _of_missing_users(table: str, what: str, optional: bool = False) -> Callable[[Snapshot], Iterator[str]]:
    """Records of users who do not exist, but for those of a deletion in progress: its tombstone
    says the purge will remove them (a tombstone left too long is a finding of its own). With
    ``optional``, records without a user (a device login nobody has decided) are no finding."""

    def check(s: Snapshot) -> Iterator[str]:
        users, deleting = s.users(), s.deleting()
        for item in s.of(table):
            if optional and "user_id" not in item:
                continue
            if item.get("user_id") not in users and item.get("user_id") not in deleting:
                yield f"{what} of user {item.get('user_id')}, who does not exist: {_key_of(table, item)}"

    return check


def _unfinished_deletions(s: Snapshot) -> Iterator[str]:
    """A tombstone older than two purge intervals: the purge fails, or does not run."""
    for user_id, tombstone in s.deleting().items():
        if int(tombstone.get("deleted_at", 0)) < s.now - 2 * PURGE_INTERVAL_SECONDS:
            yield f"the deletion of user {user_id} (at {tombstone.get('deleted_at')}) has not finished"


def _grants_without_applications(s: Snapshot) -> Iterator[str]:
    apps = s.applications()  # a grant of an application marked deleted awaits the purge: fine
    for grant in s.of("grants"):
        if grant["app_id"] not in apps:
            yield f"grant of {grant['user_id']} on application {grant['app_id']}, which does not exist"


def _owner_grants(s: Snapshot) -> Iterator[str]:
    owners: defaultdict[str, list[Item]] = defaultdict(list)
    for grant in s.of("grants"):
        if grant.get("role") == OWNER_ROLE:
            owners[grant["app_id"]].append(grant)
    for app_id, app in s.applications().items():
        if "deleted" in app:
            continue  # its grants are being deleted
        found = owners.get(app_id, [])
        if len(found) != 1:
            yield f"application {app_id} has {len(found)} owner grants"
        elif found[0]["user_id"] != app.get("owner_id"):
            owner = app.get("owner_id")
            yield f"application {app_id}'s owner grant is {found[0]['user_id']}'s, not its owner {owner}'s"


def _name_claims_without_applications(s: Snapshot) -> Iterator[str]:
    apps = s.applications()
    for value, claim in s.by_prefix("applications", "NAME#").items():
        app = apps.get(claim.get("app_id", ""))
        owner, _, name = value.partition("#")
        if app is None or "deleted" in app:
            yield f"name claim NAME#{value} for application {claim.get('app_id')}, which does not exist"
        elif app.get("owner_id") != owner or str(app.get("name", "")).lower() != name:
            yield f"name claim NAME#{value} for application {app['app_id']}, named {app.get('name')!r}"


def _applications_without_name_claims(s: Snapshot) -> Iterator[str]:
    claims = s.by_prefix("applications", "NAME#")
    for app_id, app in s.applications().items():
        if "deleted" in app:
            continue
        claim = claims.get(f"{app.get('owner_id')}#{str(app.get('name', '')).lower()}")
        if claim is None or claim.get("app_id") != app_id:
            yield f"application {app_id} ({app.get('name')!r}) has no name claim"


def _expiry_buckets(table: Table) -> Callable[[Snapshot], Iterator[str]]:
    """A record that expires carries the bucket its key and expiry call for, or the purge misses it."""

    def check(s: Snapshot) -> Iterator[str]:
        for item in s.of(table.name):
            if "expires_at" not in item and "expiry_bucket" not in item:
                continue
            expected = expiry_attributes(table, expiry_key(table, item), int(item.get("expires_at", 0)))[
                "expiry_bucket"
            ]
            if item.get("expiry_bucket") != expected:
                yield f"{_key_of(table.name, item)} is in bucket {item.get('expiry_bucket')!r}, not {expected!r}"

    return check


RULES: list[Rule] = [
    Rule("username claims without their user", ("users",), _claims_without_users("USERNAME", "username")),
    Rule("email claims without their user", ("users",), _claims_without_users("EMAIL", "email")),
    Rule("users without their claims", ("users",), _users_without_claims),
    Rule("sessions of users who do not exist", ("users", "sessions"), _of_missing_users("sessions", "session")),
    Rule("API keys of users who do not exist", ("users", "api_keys"), _of_missing_users("api_keys", "API key")),
    Rule("grants of applications that do not exist", ("applications", "grants"), _grants_without_applications),
    Rule("grants of users who do not exist", ("users", "grants"), _of_missing_users("grants", "grant")),
    Rule("tokens of users who do not exist", ("users", "tokens"), _of_missing_users("tokens", "token")),
    Rule("account deletions the purge has not finished", ("users",), _unfinished_deletions),
    Rule("passkeys of users who do not exist", ("users", "passkeys"), _of_missing_users("passkeys", "passkey")),
    Rule(
        "device logins decided by users who do not exist",
        ("users", "device_codes"),
        _of_missing_users("device_codes", "device login", optional=True),
    ),
    Rule("applications without exactly one owner grant", ("applications", "grants"), _owner_grants),
    Rule("application name claims without their application", ("applications",), _name_claims_without_applications),
    Rule("applications without their name claim", ("applications",), _applications_without_name_claims),
    *(Rule(f"{t.name} outside their expiry bucket", (t.name,), _expiry_buckets(t)) for t in TABLES if t.expires),
]


def _key_of(table: str, item: Item) -> str:
    spec = next((t for t in TABLES if t.name == table), None)
    names = spec.key_names if spec else ()
    return f"{table}[" + ", ".join(f"{n}={item.get(n)}" for n in names) + "]"


_clients: dict[tuple[str, str], Any] = {}


def scan_client(settings: Settings) -> Any:
    """The checker's own DynamoDB client, one per endpoint. Not the app's: a request's calls are
    bounded to seconds (store/dynamo.py), and a Scan of a whole table may rightly take longer; the
    fault-injection tests also set the app's client to one attempt, which a check must not inherit."""
    key = (settings.dynamodb_endpoint, settings.aws_region)
    if key not in _clients:
        import boto3
        from botocore.config import Config

        _clients[key] = boto3.client(
            "dynamodb",
            region_name=settings.aws_region,
            endpoint_url=settings.dynamodb_endpoint or None,
            config=Config(retries={"mode": "standard", "total_max_attempts": 5}, read_timeout=60),
        )
    return _clients[key]


def snapshot(settings: Settings, now: int | None = None) -> Snapshot:
    """Every item of every table that exists (paged, strongly consistent Scans), judged at ``now``
    (by default the current time)."""
    client = scan_client(settings)
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page.get("TableNames", []))
    snap = Snapshot(now=int(time.time()) if now is None else now)
    for table in TABLES:
        name = settings.table_name(table.name)
        if name not in existing:
            continue
        items: list[Item] = []
        for page in client.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
            items.extend(dynamo.from_item(i) for i in page.get("Items", []))
        snap.items[table.name] = items
    return snap


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str


def check(settings: Settings, now: int | None = None) -> list[Finding]:
    """Every finding of every rule whose tables exist, judged at ``now`` (empty: all is well)."""
    snap = snapshot(settings, now)
    return [
        Finding(rule.name, message)
        for rule in RULES
        if all(t in snap.items for t in rule.tables)
        for message in rule.check(snap)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prefix", default=os.environ.get("TABLE_PREFIX", Settings().table_prefix))
    parser.add_argument("--endpoint", default=os.environ.get("DYNAMODB_ENDPOINT", ""), help="DynamoDB endpoint URL")
    args = parser.parse_args(argv)
    if args.endpoint:
        import local_dynamodb  # a local endpoint takes any credentials

        local_dynamodb.use_fake_aws_credentials()
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or Settings().aws_region
    settings = Settings(table_prefix=args.prefix, dynamodb_endpoint=args.endpoint, aws_region=region)
    use_settings(settings)
    snap = snapshot(settings)
    counts: Counter[str] = Counter()
    for rule in RULES:
        if not all(t in snap.items for t in rule.tables):
            print(f"skipped: {rule.name} (no table {', '.join(t for t in rule.tables if t not in snap.items)})")
            continue
        for message in rule.check(snap):
            counts[rule.name] += 1
            print(f"FINDING [{rule.name}]: {message}")
        counts[rule.name] += 0
    records = sum(len(v) for v in snap.items.values())
    found = sum(counts.values())
    print(
        f"integrity: {found} finding(s) over {len(counts)} rules and {records:,} records in"
        f" {len(snap.items)} tables (prefix {args.prefix!r})"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
