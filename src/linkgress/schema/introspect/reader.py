"""Running the catalog queries: on one given connection, or concurrently on several pooled
connections that all read one exported snapshot (as parallel ``pg_dump`` does)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio

from linkgress.schema.introspect import catalog
from linkgress.schema.introspect.domains import DOMAINS
from linkgress.schema.introspect.others import others_sql
from linkgress.schema.introspect.parse import CatalogRows
from linkgress.schema.introspect.views import VIEWS
from linkgress.schema.quoting import quote_literal

if TYPE_CHECKING:
    from linkgress.client import PgClient
    from linkgress.connection import RawConnection

# More connections than queries, or than a small pool offers, would only add connect time.
DEFAULT_WORKERS = 4

# pg_export_snapshot() returns e.g. "00000003-0000001B-1". SET TRANSACTION SNAPSHOT takes no
# bind parameter, so the id is pasted as a literal: server-generated, but checked anyway.
SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f]{1,16}(?:-[0-9A-Fa-f]{1,16}){1,3}")


def catalog_queries(server_major: int, column_shards: int = 1) -> dict[str, str]:
    """The introspection queries by :class:`CatalogRows` field, the slowest first (so that
    concurrent workers start on them). With ``column_shards`` > 1 the columns query, by far
    the largest, comes in that many parts, named ``columns``, ``columns:1``, ...
    (:func:`catalog_rows` puts them together again)."""
    shards = {("columns" if k == 0 else f"columns:{k}"): catalog.columns_sql(column_shards, k)
              for k in range(column_shards)}
    return {
        **shards,
        "indexes": catalog.indexes_sql(server_major),
        "constraints": catalog.constraints_sql(server_major),
        "tables": catalog.TABLES,
        "sequences": catalog.SEQUENCES,
        "enums": catalog.ENUMS,
        "domains": DOMAINS,
        "schemas": catalog.SCHEMAS,
        "views": VIEWS,
        "others": others_sql(server_major),
    }


def catalog_rows(results: dict[str, list[Any]]) -> CatalogRows:
    """:class:`CatalogRows` from the rows of :func:`catalog_queries` by name."""
    merged: dict[str, list[Any]] = {}
    for name, rows in results.items():
        merged.setdefault(name.partition(":")[0], []).extend(rows)
    return CatalogRows(**merged)


def checked_snapshot_id(value: Any) -> str:
    """``value`` if it looks like an exported snapshot id; ``ValueError`` otherwise."""
    if not isinstance(value, str) or SNAPSHOT_ID.fullmatch(value) is None:
        raise ValueError(f"unexpected snapshot id from pg_export_snapshot(): {value!r}")
    return value


def _server_major(conn: RawConnection) -> int:
    return conn.get_server_version().major


# The catalog queries are prepared statements (asyncpg's cache), but with the default
# plan_cache_mode PostgreSQL keeps re-planning them for each call (a custom plan per schema
# list), and planning these joins costs about as much as running them on a small schema.
# Reading with generic plans cuts introspection of 50 tables by about a quarter.
GENERIC_PLANS_FROM = 12  # plan_cache_mode appeared in PostgreSQL 12


async def read_on(conn: RawConnection, schemas: list[str]) -> CatalogRows:
    """Run every query on ``conn``, one after the other, in the transaction it is in (with
    generic plans for the time of the reading; the setting is restored afterwards)."""
    major = _server_major(conn)
    queries = catalog_queries(major)
    if major < GENERIC_PLANS_FROM:
        return catalog_rows({name: await conn.fetch(sql, schemas)
                             for name, sql in queries.items()})
    # The target list is evaluated left to right: the old value is read before the change.
    previous = await conn.fetchval(
        "SELECT current_setting('plan_cache_mode'), "
        "set_config('plan_cache_mode', 'force_generic_plan', true)")
    rows = catalog_rows({name: await conn.fetch(sql, schemas) for name, sql in queries.items()})
    # (On an error the transaction is lost anyway, and the local setting with it.)
    await conn.execute("SELECT set_config('plan_cache_mode', $1, true)", previous)
    return rows


async def read_sequential(client: PgClient, schemas: list[str]) -> CatalogRows:
    """Run every query on one pooled connection, in one REPEATABLE READ transaction."""
    async with (client.acquire() as conn,
                conn.transaction(isolation="repeatable_read", readonly=True)):
        return await read_on(conn, schemas)


class _Work:
    """The queries not started yet, and the rows of those finished."""

    def __init__(self, queries: dict[str, str], args: tuple[object, ...]) -> None:
        self.pending = list(queries.items())
        self.results: dict[str, list[Any]] = {}
        self.args = args

    async def drain(self, conn: RawConnection) -> None:
        while self.pending:
            name, sql = self.pending.pop(0)
            self.results[name] = await conn.fetch(sql, *self.args)


async def _helper(client: PgClient, work: _Work, snapshot: str,
                  acquiring: anyio.CancelScope) -> None:
    conn = None
    with acquiring:
        conn = await client.acquire()
    if conn is None:  # cancelled while waiting: the first connection did all the work
        return
    try:
        if not work.pending:
            return
        # One round trip for both (a simple-query script); on error or cancellation, the
        # pool's release rolls the transaction back.
        await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
                           f"SET TRANSACTION SNAPSHOT {quote_literal(snapshot)}")
        await work.drain(conn)
        await conn.execute("COMMIT")
    finally:
        await client.release(conn)


async def fetch_concurrently(client: PgClient, queries: Callable[[int], dict[str, str]],
                             args: tuple[object, ...],
                             workers: int = DEFAULT_WORKERS) -> dict[str, list[Any]]:
    """Run ``queries`` (built for the server's major version) on up to ``workers`` pooled
    connections at once, all in REPEATABLE READ transactions reading the snapshot the first
    one exports; return each query's rows by name.

    Helpers still waiting for a pooled connection when the work is done are cancelled, so a
    busy pool only slows the reading down, and a pool of one never deadlocks.
    """
    async with (client.acquire() as first,
                first.transaction(isolation="repeatable_read", readonly=True)):
        snapshot = checked_snapshot_id(
            await first.fetchval("SELECT pg_catalog.pg_export_snapshot()"))
        work = _Work(queries(_server_major(first)), args)
        scopes = [anyio.CancelScope() for _ in range(max(0, workers - 1))]
        try:
            async with anyio.create_task_group() as group:
                for scope in scopes:
                    group.start_soon(_helper, client, work, snapshot, scope)
                await work.drain(first)
                # Cancelling an exited scope is a no-op: helpers that already hold a connection
                # are past their acquire scope and finish their query.
                for scope in scopes:
                    scope.cancel()
        except BaseExceptionGroup as errors:
            # Surface the (first) real error rather than anyio's group wrapper.
            raise errors.exceptions[0] from None
    return work.results


async def read_concurrently(client: PgClient, schemas: list[str],
                            workers: int = DEFAULT_WORKERS) -> CatalogRows:
    """The introspection queries, run by :func:`fetch_concurrently` (the columns query in two
    parts when there are more than two workers, so that it is not the one long pole)."""
    shards = 2 if workers > 2 else 1
    return catalog_rows(await fetch_concurrently(
        client, lambda major: catalog_queries(major, shards), (schemas,), workers))
