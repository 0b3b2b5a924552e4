"""How long a concurrent writer stalls while ``migrate()`` changes a large table, online or not.

For each form ``migrate(online=True)`` rewrites — an index, a foreign key, a CHECK constraint,
``SET NOT NULL``, a UNIQUE constraint — on a table of ``--rows`` rows (default 1,000,000): a
writer task on its own connection inserts a row and updates a random row in a loop (one
autocommit statement at a time, a short pause between them) while ``migrate()`` adds that one
object, once with ``online=False`` and once with ``online=True``. Reported per run: how long
``migrate()`` took, how many statements the writer completed, and the writer's p99 and longest
statement time while the migration ran (its *stall*). Goal: longest stall under 100 ms online.

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


@dataclass
class Writer:
    """Inserts and updates rows of ``accounts`` until stopped; records statement times."""

    conn: asyncpg.Connection
    rows: int
    pause: float
    tag: str
    times: list[float] = field(default_factory=list)
    recording: bool = False
    stop: bool = False

    async def run(self) -> None:
        n = 0
        while not self.stop:
            n += 1
            await self._timed("INSERT INTO accounts (email, code, owner_id) VALUES ($1, $2, $3)",
                              f"w{self.tag}-{n}@x", n, 1 + n % OWNERS)
            await self._timed("UPDATE accounts SET code = code + 1 WHERE id = $1",
                              random.randint(1, self.rows))
            await asyncio.sleep(self.pause)

    async def _timed(self, sql: str, *args: Any) -> None:
        start = time.perf_counter()
        await self.conn.execute(sql, *args)
        if self.recording:
            self.times.append((time.perf_counter() - start) * 1000)


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


def summary(form: str, mode: str, took: float, writer: Writer) -> dict[str, Any]:
    times = sorted(writer.times) or [0.0]
    return {"form": form, "mode": mode, "migrate_s": took, "ops": len(writer.times),
            "median_ms": statistics.median(times), "p99_ms": times[int(len(times) * 0.99)],
            "max_ms": times[-1]}


async def baseline(dsn: str, rows: int, pause: float, seconds: float = 2.0) -> dict[str, Any]:
    """The writer alone for ``seconds``: what a stall looks like without any migration."""
    conn = await asyncpg.connect(dsn)
    writer = Writer(conn, rows, pause, "baseline")
    task = asyncio.create_task(writer.run())
    try:
        await asyncio.sleep(0.5)
        writer.recording = True
        await asyncio.sleep(seconds)
    finally:
        writer.stop = True
        await task
        await conn.close()
    return summary("(none)", "writer alone, 2 s", 0.0, writer)


async def one_run(dsn: str, rows: int, form: str, online: bool, pause: float
                  ) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    writer = Writer(conn, rows, pause, f"{form}-{online}")
    task = asyncio.create_task(writer.run())
    db = model(form)(PgClient(dsn=dsn))
    try:
        await asyncio.sleep(0.5)  # the writer is warm
        writer.recording = True
        start = time.perf_counter()
        applied = await db.get_schema_manager(quiet=True, lock_timeout=30).migrate(
            online=online)
        took = time.perf_counter() - start
        writer.recording = False
        assert len(applied) == 1, applied
        assert await db.get_schema_manager(quiet=True).analyze() == []
    finally:
        writer.stop = True
        await task
        await db.dispose()
        await conn.execute(UNDO[form])
        await conn.execute("DROP TABLE IF EXISTS __linkgress_schema_state")
        await conn.close()
    return summary(form, "online" if online else "offline", took, writer)


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
