"""Read replicas: throughput of ORM reads from 50 tasks, primary alone vs primary + 1 replica.

Starts a private primary and a streaming replica of it (``initdb``, ``pg_basebackup -R``,
``pg_ctl`` on free loopback ports, as a non-root OS user when run as root:
tests/integration/cluster.py), loads 10,000 rows, waits until the replica replayed them, then
runs the same work with three clients, in rotating order, medians of ``--repeats`` rounds:

- ``primary alone``: ``PgClient(dsn=primary)``;
- ``primary + replica``: ``PgClient(dsn=primary, replicas=[replica])`` — reads outside a
  transaction go to the replica;
- ``primary + replica, max_lag_seconds=5``: the same, checking the replica's replay lag.

Two workloads, each from 50 concurrent tasks: primary-key lookups, and an aggregate over the
table (a read that costs the server CPU). Before timing, each client shows which server its
reads reach (``inet_server_port()`` read through the ORM). Loopback only, bounded in count::

    python benchmarks/bench_replicas.py --repeats 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from linkgress import DbContext, Entity, PgClient, column, func, varchar
from linkgress.databases import create_database

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.cluster import Cluster, private_cluster, private_replica

ROWS = 10_000
TASKS = 50
DATABASE = "lg_bench_replicas"


class Item(Entity):
    id: int
    name: str = column(varchar(50))
    weight: int


class ItemsDb(DbContext):
    items = DbContext.table(Item)


async def _lookups(db: ItemsDb, per_task: int) -> None:
    async def task(offset: int) -> None:
        for n in range(per_task):
            key = (offset * per_task + n) % ROWS + 1
            await db.items.where(lambda i: i.id == key).first()  # noqa: B023

    await asyncio.gather(*(task(t) for t in range(TASKS)))


async def _aggregates(db: ItemsDb, per_task: int) -> None:
    async def task() -> None:
        for _ in range(per_task):
            await db.items.where(lambda i: i.weight > 10).select(
                lambda i: func.sum(i.weight)).first()

    await asyncio.gather(*(task() for _ in range(TASKS)))


async def _read_port(db: ItemsDb) -> int:
    """The port of the server that answers this client's reads."""
    port = await db.items.select(lambda i: func.inet_server_port()).first()
    return int(port)


async def _caught_up(primary: Cluster, replica: Cluster) -> None:
    source = await asyncpg.connect(primary.dsn())
    target = await asyncpg.connect(replica.dsn())
    try:
        lsn = await source.fetchval("SELECT pg_current_wal_lsn()")
        for _ in range(600):
            if await target.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("the replica did not catch up within 30 s")
    finally:
        await source.close()
        await target.close()


async def _load(primary: Cluster, replica: Cluster) -> None:
    await create_database(primary.dsn(), DATABASE)
    async with ItemsDb(PgClient(dsn=primary.dsn(DATABASE))) as setup:
        await setup.get_schema_manager().ensure_created()
        await setup.items.insert_many(
            [Item(name=f"item {n}", weight=n % 100) for n in range(ROWS)])
        # As a table in service is: vacuumed, so that scans on the replica need not look up
        # each row's transaction status (hint bits are not replicated; all-visible pages are).
        await setup.client.execute("VACUUM (ANALYZE) items")
    await _caught_up(primary, replica)


async def run(primary: Cluster, replica: Cluster, lookups: int, aggregates: int,
              repeats: int) -> None:
    await _load(primary, replica)
    main, standby = primary.dsn(DATABASE), replica.dsn(DATABASE)
    clients = {
        "primary alone": ItemsDb(PgClient(dsn=main, max_size=20)),
        "primary + replica": ItemsDb(PgClient(dsn=main, replicas=[standby], max_size=20)),
        "primary + replica, max_lag_seconds=5": ItemsDb(PgClient(
            dsn=main, replicas=[standby], max_lag_seconds=5, max_size=20)),
    }
    scenarios: dict[str, tuple[int, Callable[[ItemsDb], Awaitable[None]]]] = {
        "primary-key lookups": (lookups, lambda db: _lookups(db, lookups // TASKS)),
        "aggregates over 10,000 rows": (
            aggregates, lambda db: _aggregates(db, aggregates // TASKS)),
    }
    rates: dict[tuple[str, str], list[float]] = {}
    ports = {name: await _read_port(db) for name, db in clients.items()}
    try:
        for scenario, (count, work) in scenarios.items():
            for db in clients.values():
                await work(db)  # warm-up: pools filled, statements cached
            names = list(clients)
            for round_ in range(repeats):
                for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                    start = time.perf_counter()
                    await work(clients[name])
                    rates.setdefault((scenario, name), []).append(
                        count / (time.perf_counter() - start))
    finally:
        for db in clients.values():
            await db.dispose()
    roles = {primary.port: "primary", replica.port: "replica"}
    for name, port in ports.items():
        print(f"{name}: reads answered by the {roles.get(port, port)}")
    _report(clients, scenarios, rates)


def _report(clients: dict[str, ItemsDb], scenarios: dict[str, object],
            rates: dict[tuple[str, str], list[float]]) -> None:
    print(f"{TASKS} tasks; reads per second, median (ratio to primary alone)")
    print("| workload | " + " | ".join(clients) + " |")
    print("|---|" + "---|" * len(clients))
    for scenario in scenarios:
        base = statistics.median(rates[(scenario, "primary alone")])
        cells = []
        for name in clients:
            rate = statistics.median(rates[(scenario, name)])
            cells.append(f"{rate:,.0f}/s ({rate / base:.2f}x)")
        print(f"| {scenario} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--aggregates", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with private_cluster() as primary, private_replica(primary) as replica:
        asyncio.run(run(primary, replica, args.lookups, args.aggregates, args.repeats))


if __name__ == "__main__":
    main()
