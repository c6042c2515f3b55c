"""The single description of every table, key, index and TTL attribute.

Tests and ``make run`` create tables from it, and the deployment template is generated from it,
so the three cannot drift. Every table whose records expire has a ``by_expiry`` index keyed by
``expiry_bucket`` (the UTC day of expiry and a shard, ``YYYY-MM-DD#shard``) and ``expires_at``: the
purge queries it, so its cost follows the expired records, not the size of the table.

The shard spreads one day's records over ``expiry_shards`` index partitions: DynamoDB takes about
1,000 writes a second on one partition key, for an index as for a table, and a throttled index
throttles the table's writes. A record's shard comes from its own key (a hash of the table's
partition key value), so it never moves. Each table's shard count is chosen from the traffic model
in scripts/bench/partitions.py (BENCHMARKS.md says why).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EXPIRY_INDEX = "by_expiry"


@dataclass(frozen=True)
class Attr:
    name: str
    type: str = "S"  # S or N


@dataclass(frozen=True)
class Index:
    name: str
    partition: Attr
    sort: Attr | None = None
    projection: str = "ALL"  # ALL or KEYS_ONLY


@dataclass(frozen=True)
class Table:
    name: str  # logical name; the physical name is Settings.table_name(name)
    partition: Attr
    sort: Attr | None = None
    indexes: tuple[Index, ...] = field(default_factory=tuple)
    ttl_attribute: str | None = None
    expiry_shards: int = 1  # the partitions of a day in the by_expiry index (tables that expire)

    @property
    def expires(self) -> bool:
        return any(i.name == EXPIRY_INDEX for i in self.indexes)

    @property
    def key_names(self) -> tuple[str, ...]:
        return (self.partition.name,) + ((self.sort.name,) if self.sort else ())


_EXPIRY = Index(EXPIRY_INDEX, Attr("expiry_bucket"), Attr("expires_at", "N"), projection="KEYS_ONLY")

# A deleted account leaves a tombstone here (``DELETED#<id>``, store/users.py) with expiry attributes
# in the transaction that deletes the user, so that the purge finds a deletion that died half-way
# and finishes it. Only tombstones expire (the index is sparse); no TTL: it would delete a tombstone
# before the purge had finished its deletion. Deletions come at human pace: 8 shards.
USERS = Table("users", Attr("pk"), indexes=(_EXPIRY,), expiry_shards=8)
# Shards: sessions take a write per login (100,000 a second in the model: 128 shards, ~780 each),
# and so do the events of the security log; throttles up to three index writes per failed login
# (10,000 a second: 64 shards, ~470 each); API keys, tokens and deleted applications are written at
# human pace (8 or 16 shards leave room for a fleet's provisioning script). The purge queries every
# shard of every day it looks back over.
# ``by_user`` lists a user's sessions (session ids are time-ordered: newest first by a reverse Query).
SESSIONS = Table(
    "sessions",
    Attr("session_id"),
    indexes=(Index("by_user", Attr("user_id"), Attr("session_id")), _EXPIRY),
    ttl_attribute="expires_at",
    expiry_shards=128,
)
API_KEYS = Table(
    "api_keys",
    Attr("key_hash"),
    indexes=(Index("by_user", Attr("user_id"), Attr("key_id")), _EXPIRY),
    ttl_attribute="expires_at",
    expiry_shards=8,
)
# A deleted application is marked (``deleted``) and given expiry attributes in the transaction that
# releases its name, so that the purge finds it and finishes removing its grants and the item. No
# TTL here: TTL would delete the item before its grants.
APPLICATIONS = Table("applications", Attr("pk"), indexes=(_EXPIRY,), expiry_shards=8)
# ``by_owner`` (sparse: collaborators' grants only) lists the people of an owner's applications,
# one person's grants together: ``person`` is ``<lower username>#<app id>``.
GRANTS = Table(
    "grants",
    Attr("app_id"),
    Attr("user_id"),
    indexes=(Index("by_user", Attr("user_id"), Attr("app_id")), Index("by_owner", Attr("owner_id"), Attr("person"))),
)
THROTTLES = Table("throttles", Attr("key"), indexes=(_EXPIRY,), ttl_attribute="expires_at", expiry_shards=64)
# Single-use email tokens (verification, address change, password reset) and device tokens, keyed
# by the SHA-256 of the token; ``by_user`` finds a user's tokens of one kind, to void or end them.
TOKENS = Table(
    "tokens",
    Attr("token_hash"),
    indexes=(Index("by_user", Attr("user_id"), Attr("kind")), _EXPIRY),
    ttl_attribute="expires_at",
    expiry_shards=16,
)
# The security log (stream ``USER#<id>``) and the applications' audit logs (``APP#<id>``): one
# partition per user or application, newest first by a reverse Query of the time-ordered event id.
EVENTS = Table(
    "events", Attr("stream"), Attr("event_id"), indexes=(_EXPIRY,), ttl_attribute="expires_at", expiry_shards=128
)

# Passkeys (WebAuthn credentials), keyed by the credential id (base64url) so that a passkey login
# finds its credential with one GetItem; ``by_user`` lists a user's, oldest first (``passkey_id`` is
# time-ordered). No expiry: a passkey lives until it is deleted, with its account at the latest.
PASSKEYS = Table("passkeys", Attr("credential_id"), indexes=(Index("by_user", Attr("user_id"), Attr("passkey_id")),))
# Passkey challenges, single use, 5 minutes, keyed by the SHA-256 of the challenge: one per passkey
# login attempt (shards as for the throttles, which take a write per failed login).
PASSKEY_CHALLENGES = Table(
    "passkey_challenges", Attr("challenge_hash"), indexes=(_EXPIRY,), ttl_attribute="expires_at", expiry_shards=64
)

# RFC 8628 device authorization requests and their user codes (store/device_codes.py), keyed by
# the SHA-256 of each code; they live 10 minutes. ``by_user`` (sparse: decided requests only) finds
# the requests an account approved or denied, for its deletion. Human pace: 8 shards.
DEVICE_CODES = Table(
    "device_codes",
    Attr("code_hash"),
    indexes=(Index("by_user", Attr("user_id"), projection="KEYS_ONLY"), _EXPIRY),
    ttl_attribute="expires_at",
    expiry_shards=8,
)

TABLES: tuple[Table, ...] = (
    USERS,
    SESSIONS,
    API_KEYS,
    APPLICATIONS,
    GRANTS,
    THROTTLES,
    TOKENS,
    EVENTS,
    PASSKEYS,
    PASSKEY_CHALLENGES,
    DEVICE_CODES,
)


def expiry_day(expires_at: int) -> str:
    """The UTC day of ``expires_at``, as the first part of an expiry bucket."""
    return datetime.fromtimestamp(expires_at, tz=UTC).strftime("%Y-%m-%d")


def expiry_shard(table: Table, key_value: str) -> int:
    """The shard of a record of ``table`` whose partition key value is ``key_value``: a hash of it,
    so that one day's records spread evenly and a record keeps its shard whenever it is written."""
    digest = hashlib.blake2b(key_value.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % table.expiry_shards


def expiry_bucket(day: str, shard: int) -> str:
    """The ``by_expiry`` partition key value of ``day``'s shard ``shard``."""
    return f"{day}#{shard}"


def expiry_buckets(table: Table, day: str) -> list[str]:
    """Every ``by_expiry`` partition of ``table`` for ``day``: what the purge queries."""
    return [expiry_bucket(day, shard) for shard in range(table.expiry_shards)]


def expiry_key(table: Table, item: dict[str, Any]) -> str:
    """The key value a record's shard comes from: its partition key value, with ``#`` and its sort
    key value for a table that has one (one stream's events spread over every shard)."""
    value = str(item[table.partition.name])
    return f"{value}#{item[table.sort.name]}" if table.sort else value


def expiry_attributes(table: Table, key_value: str, expires_at: int) -> dict[str, Any]:
    """What a record of ``table`` that expires carries: the TTL attribute and its expiry-index
    partition (the day it expires and its shard, from ``key_value``, its partition key value)."""
    assert table.expires, f"{table.name} has no {EXPIRY_INDEX} index"
    return {
        "expires_at": expires_at,
        "expiry_bucket": expiry_bucket(expiry_day(expires_at), expiry_shard(table, key_value)),
    }


def create_table_params(table: Table, settings: Settings) -> dict[str, Any]:
    """CreateTable arguments for ``table`` (on-demand billing)."""
    attrs = {a.name: a.type for a in (table.partition, table.sort) if a}
    for index in table.indexes:
        attrs.update({a.name: a.type for a in (index.partition, index.sort) if a})

    def key_schema(partition: Attr, sort: Attr | None) -> list[dict[str, str]]:
        schema = [{"AttributeName": partition.name, "KeyType": "HASH"}]
        if sort:
            schema.append({"AttributeName": sort.name, "KeyType": "RANGE"})
        return schema

    params: dict[str, Any] = {
        "TableName": settings.table_name(table.name),
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in sorted(attrs.items())],
        "KeySchema": key_schema(table.partition, table.sort),
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.indexes:
        params["GlobalSecondaryIndexes"] = [
            {
                "IndexName": i.name,
                "KeySchema": key_schema(i.partition, i.sort),
                "Projection": {"ProjectionType": i.projection},
            }
            for i in table.indexes
        ]
    return params


def create_tables(client: DynamoDBClient, settings: Settings) -> None:
    """Create every table (and its TTL setting) that does not exist yet, and wait until all are active."""
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page.get("TableNames", []))
    for table in TABLES:
        name = settings.table_name(table.name)
        if name in existing:
            _add_missing_indexes(client, table, settings)
            continue
        client.create_table(**create_table_params(table, settings))
    for table in TABLES:
        name = settings.table_name(table.name)
        for _ in range(600):
            if client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE":
                break
            time.sleep(0.1)
        if table.ttl_attribute and name not in existing:
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
            )


def _add_missing_indexes(client: DynamoDBClient, table: Table, settings: Settings) -> None:
    """Add the indexes that ``table`` has gained since its table was created (kept local data)."""
    name = settings.table_name(table.name)
    params = create_table_params(table, settings)
    have = {i["IndexName"] for i in client.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])}
    for index in params.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in have:
            continue
        names = {k["AttributeName"] for k in index["KeySchema"]}
        client.update_table(
            TableName=name,
            AttributeDefinitions=[a for a in params["AttributeDefinitions"] if a["AttributeName"] in names],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        for _ in range(600):
            described = client.describe_table(TableName=name)["Table"]
            if all(i.get("IndexStatus") == "ACTIVE" for i in described.get("GlobalSecondaryIndexes", [])):
                break
            time.sleep(0.1)
