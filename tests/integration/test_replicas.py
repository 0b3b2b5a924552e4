"""Read replicas against a real streaming replica: a private primary and a ``pg_basebackup -R``
standby started by the tests (tests/integration/cluster.py), never the shared server.

Which server answered is seen the way a user would see it: replay is paused on the replica,
a row is written (to the primary), and a read that misses it came from the replica."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import pytest_asyncio

import linkgress.replicas
from linkgress import MigrationError, PgClient
from linkgress.client import create_database
from tests.integration.cluster import Cluster, private_cluster, private_replica
from tests.integration.mutation_models import Club, Member, club_on


@pytest.fixture(scope="module")
def primary() -> Iterator[Cluster]:
    with private_cluster() as started:
        yield started


@pytest.fixture(scope="module")
def replica(primary: Cluster) -> Iterator[Cluster]:
    with private_replica(primary) as started:
        yield started


async def _caught_up(primary: Cluster, replica: Cluster, timeout: float = 30.0) -> None:
    """Wait until the replica replayed everything the primary wrote so far."""
    source = await asyncpg.connect(primary.dsn())
    try:
        lsn = await source.fetchval("SELECT pg_current_wal_lsn()::text")
    finally:
        await source.close()
    deadline = time.monotonic() + timeout
    while True:
        with_replica = await asyncpg.connect(replica.dsn())
        try:
            if await with_replica.fetchval(
                    "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn):
                return
        finally:
            await with_replica.close()
        assert time.monotonic() < deadline, "the replica did not catch up"
        await asyncio.sleep(0.05)


async def _replay(replica: Cluster, action: str) -> None:
    conn = await asyncpg.connect(replica.dsn())
    try:
        await conn.execute(f"SELECT pg_wal_replay_{action}()")
    finally:
        await conn.close()


@pytest_asyncio.fixture
async def database(primary: Cluster, replica: Cluster) -> AsyncIterator[str]:
    """A fresh database on the primary with the Club schema and one member, replicated."""
    name = f"lg_replica_{secrets.token_hex(4)}"
    await create_database(primary.dsn(), name)
    async with club_on(primary.dsn(name)) as db:
        await db.members.insert(Member(handle="ann"))
    await _caught_up(primary, replica)
    yield name
    await _replay(replica, "resume")


def _club(primary: Cluster, replica: Cluster, name: str, **options: object) -> Club:
    return Club(PgClient(dsn=primary.dsn(name), replicas=[replica.dsn(name)],
                         **options))  # type: ignore[arg-type]


async def test_reads_go_to_the_replica_writes_and_transactions_to_the_primary(
        primary: Cluster, replica: Cluster, database: str) -> None:
    async with _club(primary, replica, database) as db:
        await _replay(replica, "pause")
        await db.members.insert(Member(handle="bo"))  # a write: the primary
        assert [m.handle for m in await db.members.to_list()] == ["ann"]  # the replica
        assert await db.members.count() == 1
        assert [m.handle async for m in db.members.stream()] == ["ann"]
        # on_primary(), kept by the queries built from it.
        on_primary = db.members.on_primary()
        assert await on_primary.count() == 2
        assert await on_primary.where(lambda m: m.handle == "bo").exists()
        assert [m.handle for m in await on_primary.order_by(lambda m: m.handle).to_list()] == [
            "ann", "bo"]
        assert await db.members.count() == 1  # the table itself still reads from the replica
        # Inside a transaction everything runs on the primary: it reads its own writes.
        async with db.transaction():
            await db.members.insert(Member(handle="cy"))
            assert await db.members.count() == 3
            assert [m.handle async for m in db.members.stream()] == ["ann", "bo", "cy"]
        # The client's own SQL and schema management: the primary.
        assert await db.client.fetchval("SELECT count(*) FROM members") == 3
        assert await db.get_schema_manager().analyze() == []
        await _replay(replica, "resume")
        await _caught_up(primary, replica)
        assert await db.members.count() == 3


async def test_a_lagging_replica_is_skipped_for_the_primary(
        primary: Cluster, replica: Cluster, database: str) -> None:
    async with _club(primary, replica, database, max_lag_seconds=0.5) as bounded, \
            _club(primary, replica, database) as unbounded:
        assert await bounded.members.count() == 1
        await _replay(replica, "pause")
        await bounded.members.insert(Member(handle="bo"))
        await asyncio.sleep(1.0)  # the last replayed transaction is now over 0.5 s old
        assert await unbounded.members.count() == 1  # the replica really is behind
        assert await bounded.members.count() == 2  # ... so this read went to the primary
        await _replay(replica, "resume")
        await _caught_up(primary, replica)
        await asyncio.sleep(linkgress.replicas.LAG_CHECK_SECONDS)
        await _replay(replica, "pause")  # caught up and paused: lag 0 until the next write
        assert await bounded.members.count() == 2
        assert bounded.client.replicas is not None
        assert await bounded.client.replicas.pick() is bounded.client.replicas.clients[0]


async def test_concurrent_reads_share_one_lag_measurement(
        primary: Cluster, replica: Cluster, database: str,
        caplog: pytest.LogCaptureFixture) -> None:
    """50 reads arriving together when the lag must be measured again cost one lag query."""
    async with _club(primary, replica, database, max_lag_seconds=5, log_queries=True) as db:
        assert await db.members.count() == 1
        await asyncio.sleep(linkgress.replicas.LAG_CHECK_SECONDS * 2)  # the measurement aged
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="linkgress.sql"):
            counts = await asyncio.gather(*(db.members.count() for _ in range(50)))
        assert counts == [1] * 50
        lag_queries = [r for r in caplog.records if "pg_last_xact_replay_timestamp" in r.message]
        assert len(lag_queries) == 1


async def test_migrate_on_a_replica_says_so(replica: Cluster, database: str) -> None:
    async with Club(PgClient(dsn=replica.dsn(database))) as db:
        for run in (db.get_schema_manager().migrate, db.get_schema_manager().analyze):
            with pytest.raises(MigrationError, match=r"read replica .*on the primary only"):
                await run()


async def test_a_replica_stopped_mid_run_is_skipped_then_used_again(
        primary: Cluster, replica: Cluster, database: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linkgress.replicas, "RETRY_SECONDS", 0.5)
    async with _club(primary, replica, database) as db:
        stop = asyncio.Event()
        reads = 0

        async def reader() -> None:
            nonlocal reads
            while not stop.is_set():
                assert await db.members.where(lambda m: m.handle == "ann").first()
                reads += 1

        readers = [asyncio.create_task(reader()) for _ in range(5)]
        try:
            await asyncio.sleep(0.3)
            await replica.stop()  # mid-run: every read must still succeed (on the primary)
            before = reads
            await asyncio.sleep(0.5)
            assert reads > before
        finally:
            stop.set()
            await asyncio.gather(*readers)  # re-raises any failed read
            await replica.start()
        await _caught_up(primary, replica)
        await asyncio.sleep(0.6)  # past RETRY_SECONDS: the replica is tried again
        await _replay(replica, "pause")
        await db.members.insert(Member(handle="bo"))
        assert await db.members.count() == 1  # served by the replica again
