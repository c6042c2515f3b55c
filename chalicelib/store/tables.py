"""The single description of every table, key, index and TTL attribute.

Tests and ``make run`` create tables from it, and the deployment template is generated from it,
so the three cannot drift. Every table whose records expire has a ``by_expiry`` index keyed by
the day of expiry (``expiry_bucket``) and ``expires_at``: the purge queries it, so its cost follows
the expired records, not the size of the table.
"""

from __future__ import annotations

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

    @property
    def expires(self) -> bool:
        return any(i.name == EXPIRY_INDEX for i in self.indexes)

    @property
    def key_names(self) -> tuple[str, ...]:
        return (self.partition.name,) + ((self.sort.name,) if self.sort else ())


_EXPIRY = Index(EXPIRY_INDEX, Attr("expiry_bucket"), Attr("expires_at", "N"), projection="KEYS_ONLY")

USERS = Table("users", Attr("pk"))
# ``by_user`` lists a user's sessions (session ids are time-ordered: newest first by a reverse Query).
SESSIONS = Table(
    "sessions",
    Attr("session_id"),
    indexes=(Index("by_user", Attr("user_id"), Attr("session_id")), _EXPIRY),
    ttl_attribute="expires_at",
)
API_KEYS = Table(
    "api_keys",
    Attr("key_hash"),
    indexes=(Index("by_user", Attr("user_id"), Attr("key_id")), _EXPIRY),
    ttl_attribute="expires_at",
)
APPLICATIONS = Table("applications", Attr("pk"))
# ``by_owner`` (sparse: collaborators' grants only) lists the people of an owner's applications,
# one person's grants together: ``person`` is ``<lower username>#<app id>``.
GRANTS = Table(
    "grants",
    Attr("app_id"),
    Attr("user_id"),
    indexes=(Index("by_user", Attr("user_id"), Attr("app_id")), Index("by_owner", Attr("owner_id"), Attr("person"))),
)
THROTTLES = Table("throttles", Attr("key"), indexes=(_EXPIRY,), ttl_attribute="expires_at")
# Single-use email tokens (verification, address change, password reset) and device tokens, keyed
# by the SHA-256 of the token; ``by_user`` finds a user's tokens of one kind, to void or end them.
TOKENS = Table(
    "tokens",
    Attr("token_hash"),
    indexes=(Index("by_user", Attr("user_id"), Attr("kind")), _EXPIRY),
    ttl_attribute="expires_at",
)
# The security log (stream ``USER#<id>``) and the applications' audit logs (``APP#<id>``): one
# partition per user or application, newest first by a reverse Query of the time-ordered event id.
EVENTS = Table("events", Attr("stream"), Attr("event_id"), indexes=(_EXPIRY,), ttl_attribute="expires_at")

TABLES: tuple[Table, ...] = (USERS, SESSIONS, API_KEYS, APPLICATIONS, GRANTS, THROTTLES, TOKENS, EVENTS)


def expiry_bucket(expires_at: int) -> str:
    """The ``by_expiry`` partition of a record: the UTC day it expires."""
    return datetime.fromtimestamp(expires_at, tz=UTC).strftime("%Y-%m-%d")


def expiry_attributes(expires_at: int) -> dict[str, Any]:
    """What a record that expires carries: the TTL attribute and its expiry-index partition."""
    return {"expires_at": expires_at, "expiry_bucket": expiry_bucket(expires_at)}


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
