"""Operations that cannot run inside the migration transaction, and running them after COMMIT.

- ``CREATE INDEX CONCURRENTLY`` (an index declared with ``concurrently=True``) refuses to run in
  a transaction block. It is built after the migration transaction committed, as
  ``CREATE INDEX CONCURRENTLY IF NOT EXISTS``; an INVALID leftover of an interrupted build is
  dropped (``DROP INDEX CONCURRENTLY``) and built again, so a retry always converges. An index
  on a table created by the same migration is built inside the transaction instead (the table
  is new and empty, nobody else can see it yet).
- ``ALTER TYPE ... ADD VALUE`` may run in a transaction (PostgreSQL 12+), but the new label
  cannot be *used* before that transaction commits ("unsafe use of new value"). When a later
  operation of the same plan mentions the label, the label is added and committed first, under
  the lock, and the rest of the plan is then planned and applied in a second transaction.

The post-commit builds take a second, session-level advisory lock with ``pg_try_advisory_lock``
(never waiting for it: a worker that waited on a lock while holding a snapshot would stall the
concurrent build, which waits for every older snapshot). A worker that does not get it leaves
the build to the one that has it. A session-level lock needs a session: through PgBouncer in
transaction mode (``pgbouncer=True``) the builds are refused with a :class:`MigrationError`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

import anyio
import asyncpg

from linkgress.errors import MigrationError
from linkgress.schema.ddl import create_index_sql, render
from linkgress.schema.operations import AddEnumValue, CreateIndex, CreateTable, Operation
from linkgress.schema.quoting import quote_literal, quote_qualified
from linkgress.schema.rawsql import execute_one, failure_reason
from linkgress.schema.snapshot import Schema

if TYPE_CHECKING:
    from linkgress.client import PgClient
    from linkgress.connection import RawConnection

log = logging.getLogger("linkgress.migrate")

# "linkgidx": a different key from the migration lock's, for the post-commit index builds.
DEFERRED_LOCK_KEY = 0x6C696E6B67696478

INDEX_VALIDITY = """
SELECT i.indisvalid FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relname = $2
"""

INVALID_INDEXES = """
SELECT n.nspname AS schema, c.relname AS name FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT i.indisvalid AND n.nspname = ANY($1::text[]) AND c.relname = ANY($2::text[])
"""


def split_concurrent(operations: list[Operation]) -> tuple[list[Operation], list[CreateIndex]]:
    """``(in_transaction, after_commit)``: concurrent index builds move after the commit,
    except those on a table the same plan creates (built in the transaction, non-concurrently).
    """
    new_tables = {(op.table.schema, op.table.name) for op in operations
                  if isinstance(op, CreateTable)}
    now: list[Operation] = []
    later: list[CreateIndex] = []
    for op in operations:
        if isinstance(op, CreateIndex) and op.index.concurrently:
            if (op.schema, op.table_name) in new_tables:
                now.append(replace(op, index=replace(op.index, concurrently=False)))
            else:
                later.append(op)
        else:
            now.append(op)
    return now, later


def enum_values_to_commit_first(operations: list[Operation]) -> list[AddEnumValue]:
    """The ``AddEnumValue`` operations whose label a later operation of the plan mentions."""
    early = []
    for i, op in enumerate(operations):
        if not isinstance(op, AddEnumValue):
            continue
        label = quote_literal(op.value)
        if any(label in sql for later in operations[i + 1:] for sql in render(later)):
            early.append(op)
    return early


async def invalid_concurrent_indexes(conn: RawConnection, target: Schema) -> list[CreateIndex]:
    """Concurrent indexes of ``target`` left INVALID by an interrupted build (to rebuild)."""
    wanted = {(t.schema, ix.name): CreateIndex(schema=t.schema, table_name=t.name, index=ix)
              for t in target.tables for ix in t.indexes if ix.concurrently}
    if not wanted:
        return []
    rows = await conn.fetch(INVALID_INDEXES, sorted({s for s, _ in wanted}),
                            sorted({n for _, n in wanted}))
    return [wanted[(r["schema"], r["name"])] for r in rows if (r["schema"], r["name"]) in wanted]


async def build_concurrently(client: PgClient, operations: list[CreateIndex],
                             *, quiet: bool = False) -> list[Operation]:
    """Build ``operations`` after the migration committed; return the ones built here.

    Raises :class:`MigrationError` if a build fails: the migration itself stays committed, and
    the next ``migrate()`` retries the index.
    """
    if not operations:
        return []
    if client.pgbouncer:
        names = ", ".join(op.index.name for op in operations)
        raise MigrationError(
            f"the migration was committed, but the concurrent index builds ({names}) cannot run "
            "through PgBouncer in transaction pooling mode (pgbouncer=True): CREATE INDEX "
            "CONCURRENTLY runs outside a transaction under a session-level lock. Run migrate() "
            "once on a direct connection to PostgreSQL to build them")
    level = logging.DEBUG if quiet else logging.INFO
    async with client.acquire() as conn, session_lock(conn, DEFERRED_LOCK_KEY) as got:
        if not got:
            log.log(level, "another worker is building the concurrent indexes; not waiting")
            return []
        built: list[Operation] = []
        for op in operations:
            log.log(level, "after commit (outside the transaction): %s CONCURRENTLY",
                    op.describe())
            if await _build_one(conn, op):
                built.append(op)
        return built


@asynccontextmanager
async def session_lock(conn: RawConnection, key: int) -> AsyncIterator[bool]:
    """Try the session-level advisory lock ``key`` on ``conn`` (``pg_try_advisory_lock``,
    never waiting); yield whether it was got, and release it on exit.

    For work that must run outside a transaction block (so a transaction-scoped lock cannot
    cover it). The release is shielded: a cancelled caller must not leave the session lock on a
    pooled connection (the pool would hand it to someone else still holding it).
    """
    got = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))
    try:
        yield got
    finally:
        if got and session_usable(conn):  # a lost session released its locks with it
            with anyio.CancelScope(shield=True):
                await conn.execute("SELECT pg_advisory_unlock($1)", key)


def session_usable(conn: RawConnection) -> bool:
    """False when ``conn``'s session is gone (a dead pooled connection raises even on
    ``is_closed()``)."""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:
        return False


async def _build_one(conn: RawConnection, op: CreateIndex) -> bool:
    valid = await conn.fetchval(INDEX_VALIDITY, op.schema, op.index.name)
    if valid:
        return False
    statements = []
    if valid is not None:  # an INVALID leftover of an interrupted build
        statements.append(
            f"DROP INDEX CONCURRENTLY IF EXISTS {quote_qualified(op.schema, op.index.name)}")
    statements.append(create_index_sql(op.schema, op.table_name, op.index,
                                       if_not_exists=True))
    for sql in statements:
        try:
            await execute_one(conn, sql)  # one statement, outside any transaction block
        except asyncpg.PostgresError as exc:
            raise MigrationError(
                f"building index '{op.index.name}' concurrently failed: "
                f"{failure_reason(op, exc)}\n  SQL: {sql}\n"
                "  the migration before it is committed; the next migrate() retries the index",
                operation=op, sql=sql) from exc
    return True
