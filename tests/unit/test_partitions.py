"""The partition model (scripts/bench/partitions.py) over the stores' real key functions: at the
synthetic day's peak, no partition key of any table or index takes 1,000 writes or 3,000 reads a
second; and the one key that concentrates by design (a fleet sharing one API key) shows up."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "bench"))

import partitions

from chalicelib.store.tables import EVENTS, EXPIRY_INDEX, SESSIONS, THROTTLES


@pytest.fixture(scope="module")
def rows() -> dict[tuple[str, str | None], partitions.Busiest]:
    return {(r.table, r.index): r for r in partitions.busiest(partitions.simulate(partitions.Traffic()))}


def test_no_partition_key_is_over_the_limits_at_the_peak(
    rows: dict[tuple[str, str | None], partitions.Busiest],
) -> None:
    assert [r for r in rows.values() if r.over] == []
    assert len(rows) == sum(1 + len(t.indexes) for t in partitions.TABLES)


def test_the_expiry_shards_carry_a_day_of_logins_and_failures(
    rows: dict[tuple[str, str | None], partitions.Busiest],
) -> None:
    sessions = rows[SESSIONS.name, EXPIRY_INDEX]
    # 100,000 session writes a second over 128 shards: ~781 each; unsharded, one key would take them all.
    assert 100_000 / SESSIONS.expiry_shards <= sessions.writes < partitions.WRITE_LIMIT
    assert sessions.write_key.startswith("2033-05-25#")  # the day a week-long session expires
    # Up to 5 index writes per failed login (the address's counter, the account's and the account and
    # address's moving) over 64 shards; and an event per login and failed login over 128.
    assert 10_000 * 4 / THROTTLES.expiry_shards < rows[THROTTLES.name, EXPIRY_INDEX].writes < partitions.WRITE_LIMIT
    assert 110_000 / EVENTS.expiry_shards < rows[EVENTS.name, EXPIRY_INDEX].writes < partitions.WRITE_LIMIT


def test_one_api_key_shared_by_a_fleet_concentrates_its_reads_by_design() -> None:
    hot = partitions.busiest(
        partitions.simulate(partitions.Traffic(key_requests=5_000, logins=0, failed_logins=0, hot_key=True))
    )
    [key_table] = [r for r in hot if r.table == "api_keys" and r.index is None]
    assert key_table.reads == 5_000 and key_table.over  # every request reads the one item
