"""How long schema management takes: medians over repeated runs, printed as a table.

- ``ensure_created()`` of a 500-table model (about 5,000 columns, 1,000 indexes, 500 foreign
  keys);
- ``analyze()`` on that created database, and its parts: introspection (concurrent and
  sequential), normalisation of the model, the diff;
- with ``--rich``, the same on a model that uses what real schemas use: arrays, two domains,
  20 tables partitioned into 12 partitions each, 50 views;
- a no-op ``migrate()`` on a 50-table model: what every service start pays (warm, and with
  the in-process caches emptied, as in a freshly started process);
- as a reference, when SQLAlchemy and Alembic are installed: Alembic's ``compare_metadata`` on
  the same 500 tables described as SQLAlchemy metadata (asyncpg driver, ``run_sync``).

Runs against ``DATABASE_URL`` (an admin DSN: it creates and drops its own ``lg_test_*``
databases), else the embedded PostgreSQL::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python benchmarks/bench_migrate.py
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from linkgress import (
    DbContext,
    DbModelConfig,
    Entity,
    PgClient,
    bigint,
    column,
    numeric,
    pg_type,
    text,
    timestamptz,
    varchar,
)
from linkgress.schema import executor, planning
from linkgress.schema.diff import diff
from linkgress.schema.introspect import introspect, normalize_target, partition_print
from linkgress.schema.introspect import views as printed_views
from linkgress.schema.planning import schemas_in_scope
from linkgress.testing import postgres_server, temporary_database


def build_context(tables: int) -> type[DbContext]:
    """A model of ``tables`` tables: 10 columns, 2 indexes and 1 foreign key each."""
    entities: dict[str, type[Entity]] = {}
    previous: type[Entity] | None = None
    for i in range(tables):
        fields: dict[str, Any] = {
            "id": (int, column()),
            "name": (str, column(varchar(100))),
            "code": (str, column(varchar(20), unique=True)),
            "body": (str | None, column(text())),
            "amount": (Any, column(numeric(12, 2), default=0)),
            "counter": (int, column(bigint(), default=0)),
            "active": (bool, column(default=True)),
            "created_at": (Any, column(timestamptz(), default_sql="now()")),
            "note": (str | None, column(varchar(200))),
            "parent_id": (int | None, column(references=previous, on_delete="set null",
                                             index=True) if previous else column()),
        }
        annotations = {k: v[0] for k, v in fields.items()}
        namespace = {"__annotations__": annotations, "__module__": __name__,
                     **{k: v[1] for k, v in fields.items()}}
        entity = type(f"T{i}", (Entity,), namespace)
        entities[f"t{i:03d}"] = entity
        previous = entity

    def setup_model(self: DbContext, model: DbModelConfig) -> None:
        for table, entity in entities.items():
            model.entity(entity).has_index(f"ix_{table}_name", "name")

    namespace = {attr: DbContext.table(e) for attr, e in entities.items()}
    namespace["setup_model"] = setup_model
    return type(f"Bench{tables}", (DbContext,), namespace)


PARTITIONED_EVERY = 25  # 20 of 500 tables
PARTITIONS = 12
VIEWS = 50


def _rich_fields(previous: type[Entity] | None, partitioned: bool) -> dict[str, Any]:
    key = {"primary_key": True} if partitioned else {}
    return {
        "id": (int, column(bigint(), identity=True, **key)),
        "name": (str, column(varchar(100))),
        "code": (str, column(pg_type("short_code"))),
        "body": (str | None, column(text())),
        "amount": (Any, column(pg_type("money_amount"), default_sql="0")),
        "tags": (list[str], column(default_sql="'{}'::text[]")),
        "scores": (list[int] | None, column()),
        "active": (bool, column(default=True)),
        "created_at": (Any, column(timestamptz(), default_sql="now()", **key)),
        "parent_id": (int | None, column(references=previous, on_delete="set null", index=True)
                      if previous is not None else column()),
    }


def build_rich_context(tables: int) -> type[DbContext]:
    """``tables`` tables with what real schemas use: each has a ``text[]`` and an
    ``integer[]`` column and two columns typed by domains; one table in 25 is partitioned by
    range on ``created_at`` into 12 monthly partitions; 50 views read the tables."""
    entities: dict[str, type[Entity]] = {}
    previous: type[Entity] | None = None
    for i in range(tables):
        partitioned = i % PARTITIONED_EVERY == 0
        fields = _rich_fields(previous, partitioned)
        namespace = {"__annotations__": {k: v[0] for k, v in fields.items()},
                     "__module__": __name__, **{k: v[1] for k, v in fields.items()}}
        entity = type(f"R{i}", (Entity,), namespace)
        entities[f"r{i:03d}"] = entity
        previous = None if partitioned else entity  # foreign keys reference plain tables

    def setup_model(self: DbContext, model: DbModelConfig) -> None:
        model.has_domain("short_code", varchar(20), check="VALUE <> ''")
        model.has_domain("money_amount", numeric(12, 2), not_null=True, check="VALUE >= 0")
        for n, (table, entity) in enumerate(entities.items()):
            builder = model.entity(entity).has_index(f"ix_{table}_name", "name")
            if n % PARTITIONED_EVERY == 0:
                builder.partition_by("range", "created_at")
                for month in range(PARTITIONS):
                    builder.has_partition(
                        f"{table}_m{month + 1:02d}",
                        f"FROM ('2026-{month + 1:02d}-01') TO "
                        f"('{2026 + (month + 1) // 12}-{(month + 1) % 12 + 1:02d}-01')")
        for v, table in enumerate(list(entities)[:VIEWS]):
            model.has_view(f"v{v:02d}", f"SELECT id, name, amount FROM {table} WHERE active")

    namespace = {attr: DbContext.table(e) for attr, e in entities.items()}
    namespace["setup_model"] = setup_model
    return type(f"Rich{tables}", (DbContext,), namespace)


async def median(runs: int, step: Callable[[], Awaitable[Any]],
                 before: Callable[[], Awaitable[Any]] | None = None) -> float:
    """Median wall time of ``step`` in milliseconds (``before`` runs untimed each time)."""
    times = []
    for _ in range(runs):
        if before is not None:
            await before()
        start = time.perf_counter()
        await step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def bench_500(dsn: str, runs: int, tables: int, *, rich: bool = False
                    ) -> dict[str, float]:
    db = (build_rich_context if rich else build_context)(tables)(PgClient(dsn=dsn))
    sm = db.get_schema_manager(quiet=True)
    target = sm.target_schema()
    scope = schemas_in_scope(target)
    out: dict[str, float] = {}
    try:
        if rich:
            # Once: dropping 740 tables and their indexes in one transaction needs more than
            # PostgreSQL's default lock table (max_locks_per_transaction = 64) holds.
            out[f"ensure_created() of {tables} tables"] = await median(1, sm.ensure_created)
        else:
            out[f"ensure_created() of {tables} tables"] = await median(
                max(1, runs // 2), sm.ensure_created, sm.ensure_deleted)
        assert await sm.analyze() == []
        out[f"analyze() on {tables} tables (total)"] = await median(runs, sm.analyze)
        out["  introspection, concurrent"] = await median(
            runs, lambda: introspect(db.client, scope))
        out["  introspection, sequential"] = await median(
            runs, lambda: introspect(db.client, scope, concurrent=False))

        async def normalize() -> Any:
            async with db.client.acquire() as conn, conn.transaction():
                return await normalize_target(conn, target)

        out["  normalisation of the model"] = await median(runs, normalize)
        current, normalized = await introspect(db.client, scope), await normalize()

        async def run_diff() -> None:
            diff(current, normalized, managed=normalized)

        out["  diff"] = await median(runs, run_diff)
    finally:
        await db.dispose()
    return out


async def bench_noop_migrate(dsn: str, runs: int, tables: int, *, rich: bool = False
                             ) -> dict[str, float]:
    db = (build_rich_context if rich else build_context)(tables)(PgClient(dsn=dsn))
    try:
        sm = db.get_schema_manager(quiet=True)
        await sm.migrate()
        await sm.migrate()  # warm the pool and the statement cache, as a running service has
        out = {f"no-op migrate() on {tables} tables": await median(runs, sm.migrate)}

        async def forget() -> None:
            # What a freshly started process has not got yet: the decoded recorded state and
            # the model's schema with its digest (the pool stays warm).
            executor._STATE_CACHE.clear()
            planning._MODEL_SCHEMAS.clear()
            printed_views._PRINTED.clear()
            partition_print._PRINTED_TABLES.clear()

        out["  first call in a process (in-process caches empty)"] = await median(
            runs, sm.migrate, forget)
        return out
    finally:
        await db.dispose()


def sqlalchemy_metadata(tables: int) -> Any:
    """The same tables as :func:`build_context`, as SQLAlchemy metadata."""
    import sqlalchemy as sa

    metadata = sa.MetaData()
    for i in range(tables):
        parent: list[Any] = ([sa.ForeignKey(f"t{i - 1:03d}.id", ondelete="SET NULL")]
                             if i else [])
        sa.Table(
            f"t{i:03d}", metadata,
            sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
            sa.Column("name", sa.String(100), nullable=False),
            sa.Column("code", sa.String(20), nullable=False, unique=True),
            sa.Column("body", sa.Text),
            sa.Column("amount", sa.Numeric(12, 2), nullable=False, server_default="0"),
            sa.Column("counter", sa.BigInteger, nullable=False, server_default="0"),
            sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                      server_default=sa.func.now()),
            sa.Column("note", sa.String(200)),
            sa.Column("parent_id", sa.Integer, *parent, index=bool(i)),
            sa.Index(f"ix_t{i:03d}_name", "name"),
        )
    return metadata


async def bench_alembic(dsn: str, runs: int, tables: int) -> dict[str, float]:
    try:
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext
        from sqlalchemy.ext.asyncio import create_async_engine
    except ImportError:
        return {}
    metadata = sqlalchemy_metadata(tables)
    engine = create_async_engine(dsn.replace("postgresql://", "postgresql+asyncpg://", 1))

    def compare(sync_conn: Any) -> Any:
        return compare_metadata(MigrationContext.configure(sync_conn), metadata)

    try:
        async def step() -> Any:
            async with engine.connect() as conn:
                return await conn.run_sync(compare)

        return {f"Alembic compare_metadata on {tables} tables (reference)": await median(
            max(1, runs // 2), step)}
    finally:
        await engine.dispose()


def print_table(results: dict[str, float]) -> None:
    width = max(len(k) for k in results)
    print(f"{'measurement'.ljust(width)}  median (ms)")
    print(f"{'-' * width}  -----------")
    for name, value in results.items():
        print(f"{name.ljust(width)}  {value:11.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tables", type=int, default=500)
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--rich", action="store_true",
                        help="the model with arrays, domains, partitioned tables and views")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results: dict[str, float] = {}
    with postgres_server() as admin:
        with temporary_database(admin) as dsn:
            results.update(asyncio.run(bench_noop_migrate(dsn, args.runs * 3, args.small,
                                                          rich=args.rich)))
        with temporary_database(admin) as dsn:
            results.update(asyncio.run(bench_500(dsn, args.runs, args.tables, rich=args.rich)))
            if not args.rich:
                results.update(asyncio.run(bench_alembic(dsn, args.runs, args.tables)))
    print_table(results)


if __name__ == "__main__":
    main()
