"""The runtime under load and faults, against real servers: fair connection reuse under
contention, recovery after a restart, errors while the server is down or the connection is cut,
a migration whose connection is terminated, and a killed migrator's lock.

Restarts and stops happen on a private cluster the test starts (tests/integration/cluster.py),
never on the shared server."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import statistics
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from linkgress import (
    DatabaseClient,
    DatabaseConnectionError,
    LinkgressError,
    MigrationError,
    PgClient,
)
from linkgress.client import create_database
from tests.integration.cluster import Cluster, private_cluster
from tests.integration.migrate_support import rows
from tests.integration.mutation_models import Club, Member, club_on

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with private_cluster() as started:
        yield started


@pytest_asyncio.fixture
async def club(cluster: Cluster) -> AsyncIterator[Club]:
    """A context with its schema and one member, on a fresh database of the private cluster."""
    name = f"lg_fault_{secrets.token_hex(4)}"
    await create_database(cluster.dsn(), name)
    async with club_on(cluster.dsn(name)) as db:
        await db.members.insert(Member(handle="ann"))
        yield db


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


# --- 1. fairness under contention ----------------------------------------------------------


async def test_fifty_tasks_on_a_pool_of_ten_are_all_served_fairly(
        linkgress_database: str) -> None:
    async with club_on(linkgress_database) as db:
        await db.members.insert(Member(handle="ann"))
        deadline = time.monotonic() + 3.0

        async def worker() -> int:
            done = 0
            while time.monotonic() < deadline:
                assert await db.members.where(lambda m: m.handle == "ann").first_or_none()
                done += 1
            return done

        counts = await asyncio.gather(*(worker() for _ in range(50)))
    # Before the fix 40 of 50 tasks completed exactly one lookup while 10 did all the work.
    assert min(counts) > 1
    assert min(counts) >= statistics.median(counts) / 3, sorted(counts)


async def test_uncontended_lookups_still_reuse_one_parked_connection(
        linkgress_database: str) -> None:
    async with club_on(linkgress_database) as db:
        pids = set()
        for _ in range(20):
            row = await db.members.where(lambda m: m.handle == "x").first_or_none()
            assert row is None
            lease = db.query_scope.park.take()
            assert lease is not None  # the connection went back to the park, not the pool
            pids.add(lease[0].get_server_pid())
            db.query_scope.park.put(lease)
        assert len(pids) == 1


# --- 2. recovery after a restart --------------------------------------------------------------


async def test_after_a_restart_no_dead_connection_is_handed_out(
        club: Club, cluster: Cluster) -> None:
    park = club.query_scope.park
    leases = [await park.lease() for _ in range(4)]
    assert all(park.put(lease) for lease in leases)  # four connections parked
    await cluster.restart()
    assert [await club.members.count() for _ in range(20)] == [1] * 20
    assert await asyncio.gather(*(club.members.count() for _ in range(20))) == [1] * 20
    assert await club.client.fetchval("SELECT count(*) FROM members") == 1


async def test_with_the_server_down_every_failure_is_a_connection_error(
        club: Club, cluster: Cluster) -> None:
    await asyncio.gather(*(club.members.count() for _ in range(10)))
    await cluster.stop()
    try:
        for attempt in range(4):
            with pytest.raises(DatabaseConnectionError) as info:
                if attempt % 2:
                    await club.members.count()
                else:
                    await club.client.fetchval("SELECT 1")
            assert f"127.0.0.1:{cluster.port}" in str(info.value)
            assert info.value.server == f"127.0.0.1:{cluster.port}"
        with pytest.raises(DatabaseConnectionError, match="refused"):
            await club.members.insert(Member(handle="bob"))
        with pytest.raises(DatabaseConnectionError):
            async with club.transaction():
                pass
    finally:
        await cluster.start()
    assert await club.members.count() == 1  # the first query after the server is back


async def test_a_stream_cut_by_a_restart_raises_a_connection_error(
        club: Club, cluster: Cluster) -> None:
    await club.members.insert_many([Member(handle=f"m{i}") for i in range(100)])
    seen = 0
    with pytest.raises(DatabaseConnectionError) as info:
        async for _ in club.members.order_by(lambda m: m.id).stream(prefetch=10):
            seen += 1
            if seen == 5:
                await cluster.restart()
    assert seen >= 5
    assert info.value.server == f"127.0.0.1:{cluster.port}"
    assert await club.members.count() == 101


async def test_a_transaction_cut_by_a_restart_is_not_reported_as_committed(
        club: Club, cluster: Cluster) -> None:
    with pytest.raises(DatabaseConnectionError):
        async with club.transaction():
            await club.members.insert(Member(handle="lost"))
            await cluster.restart()
            await club.members.count()
    assert await club.members.where(lambda m: m.handle == "lost").count() == 0


# --- 3. a terminated migration connection -----------------------------------------------------


class SlowHook(Club):
    async def on_migration_complete(self, client: DatabaseClient) -> None:
        await client.execute("SELECT pg_sleep(30)")


async def _migrating_pid(dsn: str) -> int:
    for _ in range(200):
        found = await rows(dsn, "SELECT pid FROM pg_stat_activity WHERE application_name = "
                                "'linkgress migrate' AND query LIKE '%pg_sleep%' "
                                "AND datname = current_database()")
        if found:
            return int(found[0][0])
        await asyncio.sleep(0.05)
    raise AssertionError("the migration session never showed up as 'linkgress migrate'")


async def test_a_terminated_migration_connection_is_a_migration_error(
        linkgress_database: str) -> None:
    async with SlowHook(PgClient(dsn=linkgress_database)) as db:
        task = asyncio.create_task(db.get_schema_manager().migrate())
        pid = await _migrating_pid(linkgress_database)
        await rows(linkgress_database, "SELECT pg_terminate_backend($1)", pid)
        with pytest.raises(MigrationError, match="nothing was applied") as info:
            await task
    chain = _chain(info.value)
    assert not any("rollback" in str(e) and "closed" in str(e) for e in chain), chain
    assert all(isinstance(e, LinkgressError) for e in chain[:2])
    tables = await rows(linkgress_database,
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert tables == []


# --- 4. a killed migrator's lock ----------------------------------------------------------


KILLED_MIGRATOR = textwrap.dedent("""
    import asyncio, sys
    sys.path.insert(0, {root!r})
    from linkgress import PgClient
    from tests.integration.mutation_models import Club

    class Sleepy(Club):
        async def on_migration_complete(self, client):
            print("sleeping", flush=True)
            await client.execute("SELECT pg_sleep(30)")

    async def main():
        async with Sleepy(PgClient(dsn={dsn!r})) as db:
            await db.get_schema_manager().migrate()

    asyncio.run(main())
""")


async def test_a_killed_migrators_lock_is_released_within_seconds(
        linkgress_database: str, tmp_path: Path) -> None:
    script = tmp_path / "migrator.py"
    script.write_text(KILLED_MIGRATOR.format(root=str(ROOT), dsn=linkgress_database))
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), stdout=asyncio.subprocess.PIPE, cwd=ROOT)
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.strip() == b"sleeping"
        await _migrating_pid(linkgress_database)  # pg_sleep(30) is running under the lock
    finally:
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
    killed = time.monotonic()
    async with Club(PgClient(dsn=linkgress_database)) as db:
        applied = await db.get_schema_manager().migrate()
    waited = time.monotonic() - killed
    # Without client_connection_check_interval the server keeps the session (and the lock)
    # until pg_sleep(30) ends; with it the lock goes within about a second.
    assert waited < 10, f"the next migrator waited {waited:.1f}s for a dead migrator's lock"
    assert applied  # the killed migrator applied nothing: everything was still to do


# --- the documented example ---------------------------------------------------------------


async def test_failure_modes_page_example_runs_as_written(club: Club, cluster: Cluster) -> None:
    page = ROOT / "docs" / "failure-modes.md"
    (snippet,) = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
    namespace: dict[str, Any] = {}
    exec(compile(snippet, str(page), "exec"), namespace)
    assert await namespace["count_members"](club) == 1
    await cluster.stop()
    try:
        assert await namespace["count_members"](club) is None
    finally:
        await cluster.start()
    assert await namespace["count_members"](club) == 1
