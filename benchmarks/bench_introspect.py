"""Introspection speed on a large schema: concurrent (snapshot-sharing) vs sequential.

Generates a model of ``--tables`` tables (default 500: 10 columns, 2 indexes and 1 foreign key
each, i.e. about 5,000 columns, 1,000 indexes and 500 foreign keys), times ``ensure_created()``
on a fresh database, checks that the created database introspects to exactly the normalised
model, then prints medians over ``--runs`` repeats of:

- ``introspect()`` concurrent (default workers) and sequential, and concurrent with 2..6
  workers (:func:`~linkgress.schema.introspect.reader.read_concurrently`);
- ``normalize_target()`` of the model (it runs on every ``migrate()``).

Runs against ``DATABASE_URL`` (an admin DSN: it creates and drops its own ``lg_test_*``
database), else whatever :func:`linkgress.testing.postgres_server` provides::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python benchmarks/bench_introspect.py --runs 15

``--latency-ms 2`` reads through a TCP proxy (a child process) that delays every packet by
half that much each way, to see what concurrency buys against a server across a network
(a database on the same host answers in microseconds, and there the CPU is the limit).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

from linkgress import (
    DbContext,
    DbModelConfig,
    Entity,
    PgClient,
    bigint,
    column,
    jsonb,
    numeric,
    text,
    timestamptz,
    varchar,
)
from linkgress.schema.from_model import schema_from_model
from linkgress.schema.introspect import introspect, normalize_target
from linkgress.schema.introspect.parse import build_schema
from linkgress.schema.introspect.reader import read_concurrently
from linkgress.testing import postgres_server, temporary_database


def build_context(tables: int) -> type[DbContext]:
    """``tables`` entities of 10 columns, 2 indexes (one on the FK) and 1 foreign key each;
    every tenth table lives in schema ``archive``."""
    entities: dict[str, type[Entity]] = {}
    previous: type[Entity] | None = None
    for i in range(tables):
        parent = (column(references=previous, on_delete="cascade", index=True)
                  if previous is not None else column(index=True))
        fields: dict[str, tuple[Any, Any]] = {
            "id": (int, column()),
            "name": (str, column(varchar(100))),
            "code": (str, column(varchar(20), default="")),
            "body": (str | None, column(text())),
            "amount": (Any, column(numeric(12, 2), default=0)),
            "counter": (int, column(bigint(), default=-1)),
            "active": (bool, column(default=True)),
            "created_at": (Any, column(timestamptz(), default_sql="now()")),
            "data": (Any, column(jsonb(), default={})),
            "parent_id": (int | None, parent),
        }
        namespace = {"__annotations__": {k: v[0] for k, v in fields.items()},
                     "__module__": __name__, **{k: v[1] for k, v in fields.items()}}
        entity = type(f"T{i}", (Entity,), namespace)
        entities[f"t{i:03d}"] = entity
        previous = entity

    def setup_model(self: DbContext, model: DbModelConfig) -> None:
        for n, (table, entity) in enumerate(entities.items()):
            builder = model.entity(entity).has_index(f"ix_{table}_lower_name", "(lower(name))",
                                                     where="active")
            if n % 10 == 0:
                builder.to_table(table, schema="archive")

    attrs: dict[str, Any] = {attr: DbContext.table(e) for attr, e in entities.items()}
    attrs["setup_model"] = setup_model
    return type(f"Bench{tables}", (DbContext,), attrs)


async def timed(step: Callable[[], Awaitable[Any]]) -> float:
    """Wall time of one ``step`` in milliseconds."""
    start = time.perf_counter()
    await step()
    return (time.perf_counter() - start) * 1000


async def interleaved(runs: int, steps: dict[str, Callable[[], Awaitable[Any]]]
                      ) -> dict[str, float]:
    """Median wall time of each step in milliseconds, the steps taking turns in every round
    (so that a busy machine slows them all alike)."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(runs):
        for name, step in steps.items():
            times[name].append(await timed(step))
    return {name: statistics.median(values) for name, values in times.items()}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                delay: float) -> None:
    """Copy ``reader`` to ``writer``, each chunk ``delay`` seconds late (order kept)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, data))
    except ConnectionError:
        pass
    queue.put_nowait((loop.time() + delay, b""))
    await delivering


async def _serve(host: str, port: int, delay: float, ready: Connection) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, port)
        await asyncio.gather(_pipe(reader, up_writer, delay), _pipe(up_reader, writer, delay),
                             return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    ready.send(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def _proxy_process(host: str, port: int, delay: float, ready: Connection) -> None:
    asyncio.run(_serve(host, port, delay, ready))


@contextmanager
def latency_proxy(dsn: str, latency_ms: float) -> Iterator[str]:
    """``dsn`` rewritten to go through a delaying TCP proxy in a child process."""
    parts = urlsplit(dsn)
    if not parts.hostname or parts.hostname.startswith("/"):
        raise SystemExit("--latency-ms needs a TCP DSN (DATABASE_URL=postgresql://host:port/)")
    ready, child_end = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_proxy_process, daemon=True, args=(
        parts.hostname, parts.port or 5432, latency_ms / 2000, child_end))
    process.start()
    try:
        port = ready.recv()
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
        yield parts._replace(netloc=netloc).geturl()
    finally:
        process.terminate()
        process.join()


async def bench(dsn: str, tables: int, runs: int,
                read_dsn: str | None = None) -> list[tuple[str, float]]:
    db = build_context(tables)(PgClient(dsn=dsn, max_size=10))
    client = PgClient(dsn=read_dsn or dsn, max_size=10)
    target = schema_from_model(db.model)
    schemas = list(target.schemas)
    counts = (len(target.tables), sum(len(t.columns) for t in target.tables),
              sum(len(t.indexes) for t in target.tables),
              sum(len(t.foreign_keys) for t in target.tables))
    out = [(f"ensure_created(): {counts[0]} tables, {counts[1]} columns, {counts[2]} indexes, "
            f"{counts[3]} FKs", await timed(db.get_schema_manager(quiet=True).ensure_created))]
    try:
        out.append(("first introspect() (pool opens its connections)",
                    await timed(lambda: introspect(client, schemas))))
        async with client.acquire() as conn:
            normalised = await normalize_target(conn, target)
        assert await introspect(client, schemas) == normalised, "introspection != model"
        steps: dict[str, Callable[[], Awaitable[Any]]] = {
            "introspect() concurrent (default workers)": lambda: introspect(client, schemas),
            "introspect() sequential (one connection)":
                lambda: introspect(client, schemas, concurrent=False),
        }
        for workers in (2, 3, 4, 6):
            async def read(workers: int = workers) -> None:
                build_schema(await read_concurrently(client, schemas, workers))
            steps[f"  concurrent with {workers} workers"] = read

        async def normalise() -> None:
            async with client.acquire() as conn, conn.transaction():
                await normalize_target(conn, target)
        steps["normalize_target() of the model"] = normalise
        out.extend((await interleaved(runs, steps)).items())
    finally:
        await client.close()
        await db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tables", type=int, default=500)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="round-trip latency to add for the timed reads")
    args = parser.parse_args()
    with postgres_server() as admin, temporary_database(admin) as dsn:
        if args.latency_ms > 0:
            with latency_proxy(dsn, args.latency_ms) as slow:
                results = asyncio.run(bench(dsn, args.tables, args.runs, slow))
        else:
            results = asyncio.run(bench(dsn, args.tables, args.runs))
    if args.latency_ms > 0:
        print(f"(reads through a proxy adding {args.latency_ms} ms per round trip)")
    width = max(len(name) for name, _ in results)
    print(f"{'measurement'.ljust(width)}  ms (median of {args.runs} unless one-off)")
    for name, value in results:
        print(f"{name.ljust(width)}  {value:9.1f}")


if __name__ == "__main__":
    main()
