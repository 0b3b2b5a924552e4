"""Load: N tasks sharing one pool of M connections, through the ORM and through raw asyncpg.

Each task looks up one row by a unique key in a loop for a bounded time (``--seconds``); every
operation's latency is recorded. Reported per implementation: throughput (operations/s), p50,
p99 and max latency, and min / median / max operations per task (fairness: a starved task shows
as a tiny minimum). Implementations run one after another on the same database, in the same
process, each after a short untimed warm-up:

- ``linkgress``: ``db.users.where(lambda u: u.id == key).first_or_none()`` on one context;
- ``asyncpg pool``: ``pool.fetchrow(sql, key)`` on a pool of the same size.

Also an uncontended figure: one task doing point lookups (ORM vs raw asyncpg on one connection
and on the pool), as a ratio to raw asyncpg — the park's fast path.

Traffic goes to the server of ``DATABASE_URL`` (an admin DSN: the script creates and drops its
own database) or the embedded one; loopback only, bounded in time::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python benchmarks/bench_load.py
    python benchmarks/bench_load.py --tasks 50 --pool 10 --seconds 8
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from linkgress import DbContext, Entity, PgClient, column, varchar
from linkgress.testing import postgres_server, temporary_database

ROWS = 1_000
SQL = "SELECT id, name FROM users WHERE id = $1"


class User(Entity):
    id: int
    name: str = column(varchar(50))


class LoadDb(DbContext):
    users = DbContext.table(User)


@dataclass
class Figures:
    name: str
    ops: int
    seconds: float
    latencies: list[float]
    per_task: list[int]

    def row(self) -> str:
        lat = sorted(self.latencies)
        p50 = lat[len(lat) // 2] * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        return (f"{self.name:<14} {self.ops / self.seconds:>9.0f} {p50:>8.2f} {p99:>8.2f} "
                f"{lat[-1] * 1000:>9.2f} {min(self.per_task):>7} "
                f"{statistics.median(self.per_task):>7.0f} {max(self.per_task):>7}")


async def _load(name: str, lookup: Callable[[int], Awaitable[Any]], tasks: int,
                seconds: float) -> Figures:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(seed: int) -> int:
        done = 0
        key = seed
        while time.perf_counter() < deadline:
            key = key % ROWS + 1
            started = time.perf_counter()
            await lookup(key)
            latencies.append(time.perf_counter() - started)
            done += 1
        return done

    started = time.perf_counter()
    per_task = await asyncio.gather(*(worker(i * 7) for i in range(tasks)))
    return Figures(name, sum(per_task), time.perf_counter() - started, latencies, per_task)


async def _uncontended(lookup: Callable[[int], Awaitable[Any]], count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        await lookup(i % ROWS + 1)
    return time.perf_counter() - started


async def run(dsn: str, tasks: int, pool_size: int, seconds: float, repeats: int) -> None:
    async with LoadDb(PgClient(dsn=dsn, max_size=pool_size, min_size=pool_size)) as db:
        await db.get_schema_manager().ensure_created()
        await db.users.insert_many([User(name=f"user {i}") for i in range(ROWS)])
        pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        conn = await asyncpg.connect(dsn)
        try:
            async def orm(key: int) -> Any:
                return await db.users.where(lambda u: u.id == key).first_or_none()

            async def raw_pool(key: int) -> Any:
                return await pool.fetchrow(SQL, key)

            async def raw_conn(key: int) -> Any:
                return await conn.fetchrow(SQL, key)

            for lookup in (orm, raw_pool):  # warm-up: statements prepared, pools filled
                await _load("warm-up", lookup, tasks, 0.5)
            print(f"\n{tasks} tasks, pool of {pool_size}, {seconds:.0f} s each, "
                  f"{repeats} repeat(s)")
            print(f"{'':<14} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>9} "
                  f"{'min/t':>7} {'med/t':>7} {'max/t':>7}")
            ratios = []
            for _ in range(repeats):
                a = await _load("linkgress", orm, tasks, seconds)
                b = await _load("asyncpg pool", raw_pool, tasks, seconds)
                print(a.row())
                print(b.row())
                ratios.append((a.ops / a.seconds) / (b.ops / b.seconds))
            print(f"throughput linkgress / asyncpg pool: median "
                  f"{statistics.median(ratios):.2f}x")
            await _uncontended_report(orm, raw_conn, raw_pool, repeats)
        finally:
            await conn.close()
            await pool.close()


async def _uncontended_report(orm: Callable[[int], Awaitable[Any]],
                              raw_conn: Callable[[int], Awaitable[Any]],
                              raw_pool: Callable[[int], Awaitable[Any]], repeats: int) -> None:
    count = 2_000
    times: dict[str, list[float]] = {"linkgress": [], "asyncpg conn": [], "asyncpg pool": []}
    for lookup in (orm, raw_conn, raw_pool):
        await _uncontended(lookup, 200)
    for _ in range(max(3, repeats * 2)):
        times["linkgress"].append(await _uncontended(orm, count))
        times["asyncpg conn"].append(await _uncontended(raw_conn, count))
        times["asyncpg pool"].append(await _uncontended(raw_pool, count))
    base = statistics.median(times["asyncpg conn"])
    print(f"\nuncontended: {count} point lookups by one task (median of repeats)")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<14} {med * 1e6 / count:>8.1f} µs/lookup  {med / base:>5.2f}x asyncpg conn")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--pool", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with postgres_server() as admin_dsn, temporary_database(admin_dsn) as dsn:
        await run(dsn, args.tasks, args.pool, args.seconds, args.repeats)

if __name__ == "__main__":
    asyncio.run(main())
