"""PgBouncer: ORM point lookups and a 10,000-entity read, direct and through PgBouncer.

Three clients on the same database, measured in rotating order (medians of ``--repeats``
rounds, each after an untimed warm-up):

- ``direct``: the default client on PostgreSQL (asyncpg's prepared-statement cache on);
- ``direct, pgbouncer=True``: the same server, without named prepared statements — the cost of
  the option alone;
- ``PgBouncer, pgbouncer=True``: through a PgBouncer (transaction mode) this script starts on a
  free loopback port (tests/integration/pgbouncer.py; needs the ``pgbouncer`` binary).

Loopback only, bounded in count::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python benchmarks/bench_pgbouncer.py
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from linkgress import DbContext, Entity, PgClient, column, varchar
from linkgress.dsn import parse_dsn
from linkgress.testing import postgres_server, temporary_database

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.pgbouncer import running_pgbouncer

ROWS = 10_000


class Item(Entity):
    id: int
    name: str = column(varchar(50))


class ItemsDb(DbContext):
    items = DbContext.table(Item)


async def _lookup(db: ItemsDb, key: int) -> None:
    await db.items.where(lambda i: i.id == key).first()


async def _lookups(db: ItemsDb, count: int) -> None:
    for key in range(1, count + 1):
        await _lookup(db, key)


async def _read_all(db: ItemsDb) -> None:
    assert len(await db.items.to_list()) == ROWS


async def _timed(work: Callable[[], Awaitable[None]]) -> float:
    start = time.perf_counter()
    await work()
    return time.perf_counter() - start


async def run(dsn: str, bouncer_dsn: str, lookups: int, repeats: int) -> None:
    async with ItemsDb(PgClient(dsn=dsn)) as setup:
        await setup.get_schema_manager().ensure_created()
        await setup.items.insert_many([Item(name=f"item {n}") for n in range(ROWS)])
    clients = {
        "direct": ItemsDb(PgClient(dsn=dsn)),
        "direct, pgbouncer=True": ItemsDb(PgClient(dsn=dsn, pgbouncer=True)),
        "PgBouncer, pgbouncer=True": ItemsDb(PgClient(dsn=bouncer_dsn)),
    }
    scenarios: dict[str, Callable[[ItemsDb], Awaitable[None]]] = {
        f"{lookups:,} primary-key lookups": lambda db: _lookups(db, lookups),
        f"read {ROWS:,} entities": _read_all,
    }
    times: dict[tuple[str, str], list[float]] = {}
    try:
        for scenario, work in scenarios.items():
            for db in clients.values():
                await work(db)  # warm-up
            names = list(clients)
            for round_ in range(repeats):
                for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                    db = clients[name]
                    spent = await _timed(functools.partial(work, db))
                    times.setdefault((scenario, name), []).append(spent)
    finally:
        for db in clients.values():
            await db.dispose()
    print("| scenario | " + " | ".join(clients) + " |")
    print("|---|" + "---|" * len(clients))
    for scenario in scenarios:
        base = statistics.median(times[(scenario, "direct")])
        cells = [f"{statistics.median(times[(scenario, n)]) * 1000:.1f} ms "
                 f"({statistics.median(times[(scenario, n)]) / base:.2f}x)" for n in clients]
        print(f"| {scenario} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with postgres_server() as admin, temporary_database(admin) as dsn, \
            running_pgbouncer(admin, pool_size=10) as bouncer:
        name = parse_dsn(dsn).database or "postgres"
        asyncio.run(run(dsn, bouncer.dsn(name), args.lookups, args.repeats))


if __name__ == "__main__":
    main()
