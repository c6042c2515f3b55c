"""The partition model: the busiest partition key of every table and index at the day's peak.

DynamoDB serves about 1,000 writes and 3,000 strongly consistent reads (of items up to 1 KB and
4 KB) a second on one partition key, for a global secondary index as for a table; a throttled
index throttles the table's writes. This script feeds the real key functions of the stores
(chalicelib.store..., chalicelib.services.throttle) one second of the synthetic day's peak:

- 100,000 logins a second (no two-factor), by users drawn from 20 million, from 5 million addresses,
  each also writing one event to the user's security log (as the events table is meant to hold);
- 100,000 API-key requests a second (``GET /v1/user``), by 1 million keys of 1,000 owners (a fleet
  of devices, one key each), every key's ``last_used_at`` written at most once per 5 minutes;
- 10,000 failed logins a second (credential stuffing from 200,000 addresses against real accounts);
- and the hourly purge at its top pace (one BatchWriteItem of 25 keys every 10 ms).

It counts what each request writes and reads, as the code does it (items, and index entries: an
index write when an item gains or moves an index key, two when the key changes), and prints the
busiest partition key's writes and reads a second for every table and index. It exits non-zero if
any is at or over the limits. ``--hot-key`` adds what one API key shared by a whole fleet does
(concentrated by design: see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from chalicelib.config import Settings  # noqa: E402
from chalicelib.security.api_keys import hash_api_key  # noqa: E402
from chalicelib.security.ids import new_id  # noqa: E402
from chalicelib.security.tokens import SESSION  # noqa: E402
from chalicelib.services.api_keys import LAST_USED_PRECISION  # noqa: E402
from chalicelib.services.identity import Origin  # noqa: E402
from chalicelib.services.sessions import SessionService  # noqa: E402
from chalicelib.services.throttle import ACCOUNT_COUNT_LIFETIME, HOUR, LoginThrottle  # noqa: E402
from chalicelib.store.expiry import _in_turn  # noqa: E402
from chalicelib.store.tables import (  # noqa: E402
    API_KEYS,
    EVENTS,
    EXPIRY_INDEX,
    SESSIONS,
    TABLES,
    THROTTLES,
    USERS,
    expiry_attributes,
    expiry_buckets,
    expiry_day,
    expiry_key,
)
from chalicelib.store.users import _user_key, _username_key  # noqa: E402

WRITE_LIMIT = 1000  # writes a second on one partition key
READ_LIMIT = 3000  # strongly consistent reads a second on one partition key
NOW = 2_000_000_000 + 12 * HOUR  # midday: every record written this second shares the day
PURGE_DELETES_PER_SECOND = 25 * 100  # 25 keys per BatchWriteItem, one every 10 ms


@dataclass(frozen=True)
class Traffic:
    logins: int = 100_000
    key_requests: int = 100_000
    failed_logins: int = 10_000
    users: int = 20_000_000
    addresses: int = 5_000_000
    keys: int = 1_000_000
    key_owners: int = 1_000
    attack_addresses: int = 200_000
    hot_key: bool = False  # one key for every API-key request (a fleet sharing a key)


@dataclass
class Load:
    """Writes and reads per partition key value, by (table, index); index None is the table."""

    writes: defaultdict[tuple[str, str | None], Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    reads: defaultdict[tuple[str, str | None], Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def write(self, table: str, key: str, index: str | None = None, n: int = 1) -> None:
        self.writes[table, index][key] += n

    def read(self, table: str, key: str, index: str | None = None) -> None:
        self.reads[table, index][key] += 1

    def expiring_write(self, table_name: str, key: str, old: dict[str, object] | None, new: dict[str, object]) -> None:
        """An item write on a table with the by_expiry index: the item, and its index entry (one
        write when the entry is new, two when its key moves: delete the old, put the new)."""
        self.write(table_name, key)
        if old == new:
            return
        if old is not None:
            self.write(table_name, str(old["expiry_bucket"]), EXPIRY_INDEX)
        self.write(table_name, str(new["expiry_bucket"]), EXPIRY_INDEX)


def _user_id(n: int) -> str:
    return f"{n:026d}"  # the shape of an id is all the model needs; its value spreads the keys


def simulate(traffic: Traffic, seed: int = 1) -> Load:
    """One second of the peak: every request's reads and writes, by the stores' own keys."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible traffic model, not a secret
    load = Load()
    settings = Settings()
    sessions = SessionService(settings, lambda: NOW)
    throttle = LoginThrottle(settings, lambda: NOW)
    window = NOW - NOW % HOUR

    def login_reads(user: int, address: int) -> tuple[str, str, str]:
        load.read(USERS.name, _username_key(f"user{user}")["pk"])  # GetItem: the username's claim
        load.read(USERS.name, _user_key(_user_id(user))["pk"])  # BatchGetItem: the user and 3 counters
        account = throttle._account_key(_user_id(user))
        pair = throttle._account_address_key(_user_id(user), f"10.{address}")
        now_key = throttle._address_key(f"10.{address}", window)
        before_key = throttle._address_key(f"10.{address}", window - HOUR)
        for key in (account, pair, now_key, before_key):
            load.read(THROTTLES.name, key)
        return account, pair, now_key

    # Logins: the session is one new item, with its index entries, and one event.
    for _ in range(traffic.logins):
        user, address = rng.randrange(traffic.users), rng.randrange(traffic.addresses)
        login_reads(user, address)
        session = sessions._new_session(_user_id(user), SESSION, Origin(f"10.{address}"), None)
        new = expiry_attributes(SESSIONS, session.session_id, session.expires_at)
        load.expiring_write(SESSIONS.name, session.session_id, None, new)
        load.write(SESSIONS.name, session.user_id, "by_user")
        event = {"stream": f"USER#{_user_id(user)}", "event_id": new_id()}  # the store's keys
        expires = NOW + settings.event_retention_days * 86400
        load.expiring_write(
            EVENTS.name, event["stream"], None, expiry_attributes(EVENTS, expiry_key(EVENTS, event), expires)
        )

    # Failed logins: the address's hourly counter (its index entry is written when it is created;
    # its expiry stays the window's), the account's and the account-and-address counters (their
    # expiry moves a day on with every failure, so their index entries move: two index writes
    # each), and a login.failed event. Every tenth locks the account.
    seen_windows: set[str] = set()
    for n in range(traffic.failed_logins):
        user, address = rng.randrange(traffic.users), rng.randrange(traffic.attack_addresses)
        account, pair, now_key = login_reads(user, address)
        address_expiry = expiry_attributes(THROTTLES, now_key, window + 2 * HOUR)
        load.expiring_write(
            THROTTLES.name, now_key, address_expiry if now_key in seen_windows else None, address_expiry
        )
        seen_windows.add(now_key)
        for key in (pair, account):  # each counter's expiry moves a day on: its index entry moves
            before = expiry_attributes(THROTTLES, key, NOW - 60 + ACCOUNT_COUNT_LIFETIME)
            load.expiring_write(
                THROTTLES.name, key, before, expiry_attributes(THROTTLES, key, NOW + ACCOUNT_COUNT_LIFETIME)
            )
        failed = {"stream": f"USER#{_user_id(user)}", "event_id": new_id()}  # login.failed, a real account
        expires = NOW + settings.event_retention_days * 86400
        load.expiring_write(
            EVENTS.name, failed["stream"], None, expiry_attributes(EVENTS, expiry_key(EVENTS, failed), expires)
        )
        if n % settings.login_failures_per_account == 0:
            locked = expiry_attributes(THROTTLES, account, NOW + settings.login_lockout_seconds)
            load.expiring_write(
                THROTTLES.name, account, expiry_attributes(THROTTLES, account, NOW + ACCOUNT_COUNT_LIFETIME), locked
            )

    # API-key requests: GetItem of the key (by its hash), GetItem of its user; last_used_at is
    # written once per key per 5 minutes, and the by_user index (projecting every attribute)
    # takes each of those writes under the owner. by_expiry projects keys only: untouched.
    owners = [_user_id(traffic.users + n) for n in range(traffic.key_owners)]
    touches = traffic.keys // LAST_USED_PRECISION  # keys due a last_used_at write in any one second
    for n in range(traffic.key_requests):
        index = 0 if traffic.hot_key else rng.randrange(traffic.keys)
        key_hash = hash_api_key(f"lk_device{index}")
        owner = owners[index % len(owners)]
        load.read(API_KEYS.name, key_hash)
        load.read(USERS.name, _user_key(owner)["pk"])
        if n < (1 if traffic.hot_key else touches):
            load.write(API_KEYS.name, key_hash)
            load.write(API_KEYS.name, owner, "by_user")

    # The purge, at its top pace, deleting keys that take the shards in turn (store/expiry.py).
    per_shard = [
        [
            {"session_id": f"{bucket}/{i}", "bucket": bucket}
            for i in range(PURGE_DELETES_PER_SECOND // SESSIONS.expiry_shards + 1)
        ]
        for bucket in expiry_buckets(SESSIONS, expiry_day(NOW - HOUR))
    ]
    for n, key in enumerate(_in_turn(per_shard)):
        if n == PURGE_DELETES_PER_SECOND:
            break
        load.write(SESSIONS.name, str(key["session_id"]))
        load.write(SESSIONS.name, str(key["bucket"]), EXPIRY_INDEX)
    return load


@dataclass(frozen=True)
class Busiest:
    table: str
    index: str | None
    writes: int
    write_key: str
    reads: int
    read_key: str

    @property
    def over(self) -> bool:
        return self.writes >= WRITE_LIMIT or self.reads >= READ_LIMIT


def busiest(load: Load) -> list[Busiest]:
    """The busiest partition key's writes and reads a second, for every table and index."""
    rows = []
    for table in TABLES:
        for index in (None, *(i.name for i in table.indexes)):
            writes = load.writes.get((table.name, index), Counter()).most_common(1)
            reads = load.reads.get((table.name, index), Counter()).most_common(1)
            (write_key, write_count), (read_key, read_count) = (writes or [("", 0)])[0], (reads or [("", 0)])[0]
            rows.append(Busiest(table.name, index, write_count, write_key, read_count, read_key))
    return rows


def table(rows: list[Busiest]) -> Iterator[str]:
    yield "| table | index | busiest key: writes/s | its key | busiest key: reads/s | its key |"
    yield "|---|---|---|---|---|---|"
    for r in rows:
        flag = " **over**" if r.over else ""
        yield (
            f"| {r.table} | {r.index or '(table)'} | {r.writes:,} | `{_short(r.write_key)}` | {r.reads:,} |"
            f" `{_short(r.read_key)}` |{flag}"
        )


def _short(key: str) -> str:
    return key if len(key) <= 28 else key[:25] + "..."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hot-key", action="store_true", help="also: every API-key request by one shared key")
    args = parser.parse_args()
    traffic = Traffic()
    print(
        f"One second at the peak: {traffic.logins:,} logins, {traffic.key_requests:,} API-key requests,"
        f" {traffic.failed_logins:,} failed logins, the purge at {PURGE_DELETES_PER_SECOND:,} deletes/s."
        f" Limits per partition key: {WRITE_LIMIT:,} writes/s, {READ_LIMIT:,} strongly consistent reads/s."
    )
    print(
        "Expiry shards: " + ", ".join(f"{t.name} {t.expiry_shards}" for t in TABLES if t.expires) + "; every"
        f" shard of a day is `{expiry_buckets(SESSIONS, expiry_day(NOW))[1]}` and so on."
    )
    print()
    rows = busiest(simulate(traffic))
    print("\n".join(table(rows)))
    over = [r for r in rows if r.over]
    if args.hot_key:
        print()
        print("With one API key shared by every device (by design it concentrates: one item, read on every request):")
        hot = [r for r in busiest(simulate(Traffic(hot_key=True))) if r.table == API_KEYS.name and r.index is None]
        print("\n".join(table(hot)))
    if over:
        names = ", ".join(f"{r.table}/{r.index or 'table'}" for r in over)
        print(f"\nOVER THE LIMIT: {names}", file=sys.stderr)
        sys.exit(1)
    print(f"\nEvery partition key stays under {WRITE_LIMIT:,} writes/s and {READ_LIMIT:,} reads/s.")


if __name__ == "__main__":
    main()
