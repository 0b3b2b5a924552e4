"""How long a concurrent writer stalls while ``migrate()`` changes a large table, online or not.

For each form ``migrate(online=True)`` rewrites — an index, a foreign key, a CHECK constraint,
``SET NOT NULL``, a UNIQUE constraint — on a table of ``--rows`` rows (default 1,000,000): a
writer in a process of its own (so the migrating process's own work never delays it) inserts a
row and updates a random row in a loop (one autocommit statement at a time, ``--pause`` between
them) while ``migrate()`` adds that one object, once with ``online=False`` and once with
``online=True``. Reported per run: how long ``migrate()`` took, and over the writer's statements
that overlapped it, their number, median, p99 and longest time (the *stall*). Goal: longest
stall under 100 ms online.

Between runs the object is dropped again by hand and linkgress's state table is dropped, so each
run starts from the same table (which only grows by the writer's rows). Runs against
``DATABASE_URL`` (an admin DSN: it creates and drops its own ``lg_test_*`` database), else the
embedded PostgreSQL::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python benchmarks/bench_online.py
    python benchmarks/bench_online.py --rows 20000 --forms index,not_null   # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from linkgress import DbContext, DbModelConfig, Entity, PgClient, column
from linkgress.testing import postgres_server, temporary_database

FORMS = ("index", "foreign_key", "check", "not_null", "unique")
OWNERS = 100

# How to take each form away again between runs.
UNDO = {
    "index": "DROP INDEX IF EXISTS ix_accounts_code",
    "foreign_key": "ALTER TABLE accounts DROP CONSTRAINT IF EXISTS fk_accounts_owner",
    "check": "ALTER TABLE accounts DROP CONSTRAINT IF EXISTS ck_accounts_code",
    "not_null": "ALTER TABLE accounts ALTER COLUMN email DROP NOT NULL",
    "unique": "ALTER TABLE accounts DROP CONSTRAINT IF EXISTS uq_accounts_email",
}


class Owner(Entity):
    id: int
    name: str | None


def model(form: str | None) -> type[DbContext]:
    """owners + accounts, with the one object of ``form`` (None: the starting model)."""
    email: Any = str if form == "not_null" else str | None
    owner: Any = int | None
    fields: dict[str, Any] = {}
    if form == "foreign_key":
        fields["owner_id"] = column(references=Owner, constraint_name="fk_accounts_owner")
    namespace: dict[str, Any] = {
        "__annotations__": {"id": int, "email": email, "code": int | None, "owner_id": owner},
        "__module__": __name__, **fields}
    account = type("Account", (Entity,), namespace)

    def setup_model(self: DbContext, config: DbModelConfig) -> None:
        builder = config.entity(account)
        if form == "index":
            builder.has_index("ix_accounts_code", "code")
        elif form == "check":
            builder.has_check("ck_accounts_code", "code >= 0")
        elif form == "unique":
            builder.has_unique("uq_accounts_email", "email")

    return type("Accounts", (DbContext,), {
        "owners": DbContext.table(Owner), "accounts": DbContext.table(account),
        "setup_model": setup_model})


INSERT = "INSERT INTO accounts (email, code, owner_id) VALUES ($1, $2, $3)"
UPDATE = "UPDATE accounts SET code = code + 1 WHERE id = $1"


async def write(dsn: str, rows: int, pause: float, tag: str, stop: Any, out: Any) -> None:
    """Insert a row and update a random one, pause, again, until ``stop`` is set; then send
    every statement's ``(start, end)`` (``time.monotonic()``, system-wide) through ``out``."""
    conn = await asyncpg.connect(dsn)
    samples: list[tuple[float, float]] = []
    out.send("ready")
    n = 0
    while not stop.is_set():
        n += 1
        for sql, args in ((INSERT, (f"w{tag}-{n}@x", n, 1 + n % OWNERS)),
                          (UPDATE, (random.randint(1, rows),))):
            start = time.monotonic()
            await conn.execute(sql, *args)
            samples.append((start, time.monotonic()))
        await asyncio.sleep(pause)
    await conn.close()
    out.send(samples)


def writer_process(dsn: str, rows: int, pause: float, tag: str, stop: Any, out: Any) -> None:
    asyncio.run(write(dsn, rows, pause, tag, stop, out))


@dataclass
class Writer:
    """The writer in a process of its own (so that the migrating process's own work never
    delays it: what it measures is the database making it wait)."""

    dsn: str
    rows: int
    pause: float
    tag: str
    samples: list[tuple[float, float]] = field(default_factory=list)

    async def __aenter__(self) -> Writer:
        ctx = multiprocessing.get_context("spawn")
        self._stop = ctx.Event()
        self._pipe, child = ctx.Pipe()
        self._process = ctx.Process(target=writer_process, args=(
            self.dsn, self.rows, self.pause, self.tag, self._stop, child))
        self._process.start()
        assert await asyncio.to_thread(self._pipe.recv) == "ready"
        await asyncio.sleep(0.3)  # warm
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        self.samples = await asyncio.to_thread(self._pipe.recv)
        await asyncio.to_thread(self._process.join)

    def during(self, start: float, end: float) -> list[float]:
        """Milliseconds of every statement that overlapped ``[start, end]``."""
        return [(b - a) * 1000 for a, b in self.samples if b >= start and a <= end]


async def load(dsn: str, rows: int) -> None:
    db = model(None)(PgClient(dsn=dsn))
    try:
        await db.get_schema_manager(quiet=True).migrate()
    finally:
        await db.dispose()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"INSERT INTO owners (name) SELECT 'o' || g "
                           f"FROM generate_series(1, {OWNERS}) g")
        await conn.execute(f"INSERT INTO accounts (email, code, owner_id) SELECT 'a' || g || "
                           f"'@x', g, 1 + g % {OWNERS} FROM generate_series(1, {rows}) g")
        await conn.execute("VACUUM ANALYZE accounts")
    finally:
        await conn.close()


def summary(form: str, mode: str, took: float, times: list[float]) -> dict[str, Any]:
    ordered = sorted(times) or [0.0]
    return {"form": form, "mode": mode, "migrate_s": took, "ops": len(times),
            "median_ms": statistics.median(ordered),
            "p99_ms": ordered[int(len(ordered) * 0.99)], "max_ms": ordered[-1]}


async def baseline(dsn: str, rows: int, pause: float, seconds: float = 2.0) -> dict[str, Any]:
    """The writer alone for ``seconds``: what a stall looks like without any migration."""
    async with Writer(dsn, rows, pause, "baseline") as writer:
        start = time.monotonic()
        await asyncio.sleep(seconds)
        end = time.monotonic()
    return summary("(none)", f"writer alone, {seconds:g} s", 0.0, writer.during(start, end))


async def one_run(dsn: str, rows: int, form: str, online: bool, pause: float
                  ) -> dict[str, Any]:
    db = model(form)(PgClient(dsn=dsn))
    try:
        async with Writer(dsn, rows, pause, f"{form}-{online}") as writer:
            start = time.monotonic()
            applied = await db.get_schema_manager(quiet=True, lock_timeout=30).migrate(
                online=online)
            end = time.monotonic()
            await asyncio.sleep(0.2)  # the writer's blocked statement completes
        assert len(applied) == 1, applied
        assert await db.get_schema_manager(quiet=True).analyze() == []
    finally:
        await db.dispose()
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(UNDO[form])
            await conn.execute("DROP TABLE IF EXISTS __linkgress_schema_state")
        finally:
            await conn.close()
    return summary(form, "online" if online else "offline", end - start,
                   writer.during(start, end))


def print_report(rows: int, results: list[dict[str, Any]]) -> None:
    print(f"\n{rows:,} rows; writer statement times while migrate() ran\n")
    print("| form | mode | migrate() | writer statements | median | p99 | max stall |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in results:
        took = f"{r['migrate_s']:.2f} s" if r["migrate_s"] else "—"
        print(f"| {r['form']} | {r['mode']} | {took} | {r['ops']} | "
              f"{r['median_ms']:.1f} ms | {r['p99_ms']:.1f} ms | **{r['max_ms']:.1f} ms** |")


async def bench(dsn: str, rows: int, forms: list[str], pause: float) -> list[dict[str, Any]]:
    await load(dsn, rows)
    results = [await baseline(dsn, rows, pause)]
    for form in forms:
        for online in (False, True):
            results.append(await one_run(dsn, rows, form, online, pause))
            r = results[-1]
            print(f"{form:12} {r['mode']:8} migrate {r['migrate_s']:6.2f} s  "
                  f"max stall {r['max_ms']:8.1f} ms", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--forms", default=",".join(FORMS),
                        help=f"comma-separated, from {', '.join(FORMS)}")
    parser.add_argument("--pause", type=float, default=0.002,
                        help="seconds the writer sleeps after each insert + update")
    args = parser.parse_args()
    forms = [f for f in args.forms.split(",") if f]
    unknown = [f for f in forms if f not in FORMS]
    if unknown:
        parser.error(f"unknown form(s) {', '.join(unknown)}; choose from {', '.join(FORMS)}")
    logging.basicConfig(level=logging.WARNING)
    with postgres_server() as admin, temporary_database(admin) as dsn:
        results = asyncio.run(bench(dsn, args.rows, forms, args.pause))
    print_report(args.rows, results)


if __name__ == "__main__":
    main()
