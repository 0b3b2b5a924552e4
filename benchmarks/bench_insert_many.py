"""``insert_many`` of 10,000 rows in the shapes scenario 8 of ``bench_orm.py`` leaves out, and
the Python part alone.

Cases, each timed around ``insert_many`` only (the entities are made beforehand), medians of
``--repeats`` interleaved runs, wall and this process's CPU time; raw asyncpg's
``copy_records_to_table`` of ready-made tuples for scale:

- every row sets the same fields (scenario 8);
- row 5,000 sets other fields (the rows go in two groups);
- inside the caller's transaction.

Then, without a database (``timeit``, best of 15 x 20): turning 10,000 entities (and 10,000
dicts) into value tuples as a list (``group_rows``) and streamed (the generator COPY reads).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python benchmarks/bench_insert_many.py --repeats 15
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import statistics
import time
import timeit
from typing import Any

import asyncpg
from bench_orm import Bench, Signup, signup_rows

from linkgress import PgClient
from linkgress.query.writeplan import group_rows, table_plan
from linkgress.testing import postgres_server, temporary_database

CASES = ("raw asyncpg COPY", "same fields", "row 5,000 differs", "in a transaction")


async def run_case(db: Bench, conn: asyncpg.Connection[Any], case: str) -> tuple[float, float]:
    await conn.execute("TRUNCATE signups RESTART IDENTITY")
    tuples = signup_rows()
    rows = [Signup(username=u, email=e, score=s) for u, e, s in tuples]
    if case == "row 5,000 differs":
        rows[5000] = Signup(username="odd", email="odd@example.com")
    cpu, wall = time.process_time(), time.perf_counter()
    if case == "raw asyncpg COPY":
        await conn.copy_records_to_table(
            "signups", columns=["username", "email", "score"], records=tuples)
    elif case == "in a transaction":
        async with db.transaction():
            await db.signups.insert_many(rows)
    else:
        await db.signups.insert_many(rows)
    return time.perf_counter() - wall, time.process_time() - cpu


async def run(dsn: str, repeats: int) -> None:
    db = Bench(PgClient(dsn=dsn, min_size=1, max_size=4))
    await db.get_schema_manager().ensure_created()
    conn = await asyncpg.connect(dsn)
    try:
        times: dict[str, list[tuple[float, float]]] = {case: [] for case in CASES}
        for _ in range(repeats + 1):  # the first round warms up
            for case in CASES:
                times[case].append(await run_case(db, conn, case))
        print("| case | wall | CPU |\n|---|---|---|")
        for case, samples in times.items():
            wall = statistics.median(w for w, _ in samples[1:])
            cpu = statistics.median(c for _, c in samples[1:])
            print(f"| {case} | {wall * 1e3:.1f} ms | {cpu * 1e3:.1f} ms |")
        python_part(db)
    finally:
        await conn.close()
        await db.dispose()


def python_part(db: Bench) -> None:
    plan = table_plan(db.signups.meta)
    entities = [Signup(username=u, email=e, score=s) for u, e, s in signup_rows()]
    dicts = [{"username": u, "email": e, "score": s} for u, e, s in signup_rows()]
    print("\n| 10,000 rows to value tuples | entities | dicts |\n|---|---|---|")

    def best(function: Any) -> str:
        return f"{min(timeit.repeat(function, number=20, repeat=15)) / 20 * 1e3:.2f} ms"

    listed = [best(lambda rows=rows: group_rows(plan, rows, "insert_many()"))
              for rows in (entities, dicts)]
    print(f"| as a list (`group_rows`) | {listed[0]} | {listed[1]} |")
    if hasattr(plan, "stream"):  # not before the streamed COPY
        streamed = []
        for rows in (entities, dicts):
            shape = plan.shape(rows[0])
            assert shape is not None
            stream = plan.stream(shape)
            streamed.append(best(
                lambda rows=rows, stream=stream: collections.deque(stream(rows), maxlen=0)))
        print(f"| streamed (what COPY reads) | {streamed[0]} | {streamed[1]} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    with postgres_server() as admin_dsn, temporary_database(admin_dsn) as dsn:
        asyncio.run(run(dsn, args.repeats))


if __name__ == "__main__":
    main()
