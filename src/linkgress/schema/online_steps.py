"""Running the steps of ``migrate(online=True)`` after the commit, and resuming them.

The steps (:class:`~linkgress.schema.online.OnlineStep`) are written to the state row's
``pending`` column (jsonb) in the migration transaction itself, so they are recorded exactly
when the transaction that needs them commits. After the COMMIT they run one by one, each
outside any transaction, on a session holding the migration lock at session level (the same
key as ``migrate()``'s transaction-scoped lock, so no other migrator runs meanwhile); each
completed step is removed from the record at once. A run that is interrupted (a failure, a
cancelled task, a killed process) leaves the rest recorded, and the next ``migrate()`` finishes
them under the lock before it plans anything.

Every step is idempotent: it reads the catalog first (an index already valid, a constraint
already validated or attached, a column already NOT NULL is left alone), and an INVALID index
left by an interrupted ``CREATE INDEX CONCURRENTLY`` is dropped and built again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

import anyio

from linkgress.errors import MigrationError, is_driver_error
from linkgress.schema import operations as ops
from linkgress.schema.ddl import create_index_sql
from linkgress.schema.deferred import (
    INDEX_VALIDITY,
    INVALID_INDEXES,
    session_usable,
)
from linkgress.schema.online import OnlinePlan, OnlineStep, online_plan, touched_tables
from linkgress.schema.quoting import quote_ident, quote_literal, quote_qualified
from linkgress.schema.rawsql import execute_one
from linkgress.schema.retry import with_lock_retries
from linkgress.schema.sessionlock import locked_session
from linkgress.schema.snapshot import Schema

if TYPE_CHECKING:
    from linkgress.connection import RawConnection
    from linkgress.schema.executor import MigrationExecutor, MigrationSettings

log = logging.getLogger("linkgress.migrate")

# $1: tables as quoted qualified names. Those that are partitioned, or partitions.
OFFLINE_TABLES = """
SELECT r.name FROM unnest($1::text[]) AS r(name)
  JOIN pg_catalog.pg_class c ON c.oid = to_regclass(r.name)
 WHERE c.relkind = 'p' OR c.relispartition
"""

# $1: the table as a quoted qualified name, $2: the constraint. NULL when there is none.
CONSTRAINT_VALIDATED = """
SELECT con.convalidated FROM pg_catalog.pg_constraint con
 WHERE con.conrelid = to_regclass($1) AND con.conname = $2
"""

COLUMN_NOT_NULL = """
SELECT a.attnotnull FROM pg_catalog.pg_attribute a
 WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped
"""

NOTHING = "nothing was applied"

# The current lock_timeout, then none (the target list is evaluated left to right).
UNBOUNDED = "SELECT current_setting('lock_timeout'), set_config('lock_timeout', '0', false)"



# -- planning ----------------------------------------------------------------------------------

async def offline_tables(conn: RawConnection, keys: Sequence[tuple[str, str]]
                         ) -> list[tuple[str, str]]:
    """The tables among ``keys`` that are partitioned or partitions (no online forms)."""
    if not keys:
        return []
    quoted = {quote_qualified(*key): key for key in keys}
    return [quoted[r["name"]] for r in await conn.fetch(OFFLINE_TABLES, list(quoted))]


async def invalid_indexes(conn: RawConnection, target: Schema,
                          skip: Sequence[tuple[str, str]] = ()) -> list[OnlineStep]:
    """Steps rebuilding the indexes of ``target`` that are INVALID (the leftover of an
    interrupted ``CREATE INDEX CONCURRENTLY``), except those declared ``concurrently=True``
    (``migrate()`` rebuilds those in any case) and those on the tables in ``skip``."""
    declared = {(t.schema, ix.name): (t, ix) for t in target.tables for ix in t.indexes
                if not ix.concurrently and t.key not in skip}
    if not declared:
        return []
    rows = await conn.fetch(INVALID_INDEXES, sorted({s for s, _ in declared}),
                            sorted({n for _, n in declared}))
    out = []
    for row in rows:
        table, index = declared[(row["schema"], row["name"])]
        sql = create_index_sql(table.schema, table.name, replace(index, concurrently=True),
                               if_not_exists=True)
        out.append(OnlineStep(kind="index", schema=table.schema, table_name=table.name,
                              name=index.name, sql=sql))
    return out


async def online_forms(conn: RawConnection, operations: list[ops.Operation],
                       target: Schema, *, enabled: bool = True,
                       pgbouncer: bool = False) -> OnlinePlan:
    """``operations`` in their online form (see :func:`~linkgress.schema.online.online_plan`),
    plus a rebuild of each INVALID index of ``target``; unchanged unless ``enabled``. Through
    PgBouncer (``pgbouncer``), a plan with steps after the commit raises
    :class:`MigrationError` (before anything runs)."""
    if not enabled:
        return OnlinePlan(in_transaction=list(operations))
    table_keys = touched_tables(operations) + [t.key for t in target.tables if t.indexes]
    offline = await offline_tables(conn, list(dict.fromkeys(table_keys)))
    plan = online_plan(operations, offline_tables=offline)
    planned = {(s.schema, s.name) for s in plan.after_commit}
    plan.after_commit += [s for s in await invalid_indexes(conn, target, offline)
                          if (s.schema, s.name) not in planned]
    if pgbouncer and plan.after_commit:
        raise MigrationError(
            "migrate(online=True) runs steps after the commit under a session-level lock, "
            "which PgBouncer in transaction pooling mode (pgbouncer=True) cannot hold: run it "
            f"on a direct connection to PostgreSQL (or without online=True); {NOTHING}")
    return plan


# -- the record --------------------------------------------------------------------------------

async def read_pending(conn: RawConnection, settings: MigrationSettings) -> list[OnlineStep]:
    """The recorded pending steps ([] without a state row or a ``pending`` column)."""
    table, state_name = settings.qualified_state_table, settings.state_name
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
        return []
    raw = await conn.fetchval(f"SELECT (to_jsonb(s) -> 'pending')::text FROM {table} AS s "
                              "WHERE s.state_name = $1", state_name)
    value = json.loads(raw) if raw else []
    return [OnlineStep.from_json(v) for v in value] if isinstance(value, list) else []


async def write_pending(conn: RawConnection, settings: MigrationSettings,
                        steps: Sequence[OnlineStep]) -> None:
    """Record ``steps`` as pending in the state row (which exists by then)."""
    table, state_name = settings.qualified_state_table, settings.state_name
    present = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass "
        "AND attname = 'pending' AND NOT attisdropped)", table)
    if not present:
        await conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS pending jsonb "
                           "NOT NULL DEFAULT '[]'::jsonb")
    await conn.execute(f"UPDATE {table} SET pending = $2::jsonb WHERE state_name = $1",
                       state_name, json.dumps([s.to_json() for s in steps]))


# -- a newer model's say ------------------------------------------------------------------------

def wanted(step: OnlineStep, target: Schema) -> bool:
    """Whether ``target`` (a model's schema) still declares what ``step`` completes. Pure."""
    table = next((t for t in target.tables if t.key == (step.schema, step.table_name)), None)
    if table is None:
        return False
    if step.kind == "index":
        return any(ix.name == step.name for ix in table.indexes)
    if step.kind == "validate":
        return step.name in {c.name for c in table.foreign_keys} | {c.name for c in table.checks}
    if step.kind == "not_null":
        column = table.column(step.column or "")
        return column is not None and not column.nullable
    return any(u.name == step.name for u in table.uniques)


async def discard_unwanted(conn: RawConnection, settings: MigrationSettings,
                           steps: list[OnlineStep], target: Schema) -> list[OnlineStep]:
    """Forget the pending steps ``target`` (a model never applied before: the newer one) no
    longer declares, in the migration transaction; return the others. What such a step left
    half-way that the differ would not see — the temporary NOT NULL check, a unique index not
    yet attached — is dropped; the rest (a NOT VALID constraint, an INVALID index) the plan
    drops as it drops any managed object the model lost."""
    keep = [s for s in steps if wanted(s, target)]
    if len(keep) == len(steps):
        return steps
    for step in steps:
        if step in keep:
            continue
        log.warning("a pending online step is dropped, the model no longer declares what it "
                    "completes: %s", step.describe())
        try:
            await _undo(conn, step)
        except Exception as exc:
            if not is_driver_error(exc):
                raise
            raise MigrationError(f"dropping what the pending step '{step.describe()}' left "
                                 f"failed: {exc}; {NOTHING}") from exc
    await write_pending(conn, settings, keep)
    return keep


async def _undo(conn: RawConnection, step: OnlineStep) -> None:
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", step.table):
        return
    if step.kind == "not_null":
        await conn.execute(f"ALTER TABLE {step.table} DROP CONSTRAINT IF EXISTS "
                           f"{quote_ident(step.name)}")
    elif step.kind == "unique" and (
            await conn.fetchval(CONSTRAINT_VALIDATED, step.table, step.name) is None
            and await conn.fetchval(INDEX_VALIDITY, step.schema, step.name) is not None):
        await conn.execute(f"DROP INDEX {quote_qualified(step.schema, step.name)}")


# -- running -----------------------------------------------------------------------------------

@asynccontextmanager
async def online_session(executor: MigrationExecutor) -> AsyncIterator[RawConnection]:
    """A connection holding the migration lock at session level
    (:func:`~linkgress.schema.sessionlock.locked_session`): the statements that take a lock
    writers queue behind (``SET NOT NULL``, ``ADD``/``DROP CONSTRAINT``) wait for it at most
    ``lock_timeout``; the concurrent builds and ``VALIDATE`` wait as long as they must (their
    lock lets writers through, so their wait stalls nobody)."""
    why = "pending steps of migrate(online=True) run outside a transaction"
    async with locked_session(executor, why=why) as conn:
        yield conn


async def pending_notes(executor: MigrationExecutor) -> list[str]:
    """A note for ``analyze_full()`` naming the recorded pending steps ([] when none)."""
    settings = executor.settings
    async with executor.client.acquire() as conn:
        steps = await read_pending(conn, settings)
    if not steps:
        return []
    return [f"{len(steps)} step(s) of an interrupted migrate(online=True) are pending (the "
            "next migrate() runs them): " + "; ".join(s.describe() for s in steps)]


async def run_pending(executor: MigrationExecutor, retries: int, *, quiet: bool = False
                      ) -> list[OnlineStep]:
    """Run the recorded pending steps under the migration lock, removing each from the record
    once done; return those run. A step that meets ``lock_timeout`` is tried again, at most
    ``retries`` times, after a backoff (:func:`~linkgress.schema.retry.with_lock_retries`).

    A step that fails stays recorded and the others still run (they do not depend on each
    other); then :class:`MigrationError` is raised for the first failure, naming the others.
    The next ``migrate()`` resumes what is left."""
    level = logging.DEBUG if quiet else logging.INFO
    return await with_lock_retries(lambda: _run_pending(executor, level), retries,
                                   level=level)


async def _run_pending(executor: MigrationExecutor, level: int) -> list[OnlineStep]:
    settings = executor.settings
    try:
        async with online_session(executor) as conn:
            steps = await read_pending(conn, settings)
            failed: list[tuple[OnlineStep, MigrationError]] = []
            for i, step in enumerate(steps):
                log.log(level, "after commit (outside the transaction): %s", step.describe())
                try:
                    await run_step(conn, step)
                except MigrationError as exc:
                    if not session_usable(conn):
                        raise
                    failed.append((step, exc))
                await write_pending(conn, settings, [s for s, _ in failed] + steps[i + 1:])
    except Exception as exc:
        if not is_driver_error(exc):
            raise
        raise MigrationError(
            f"running the steps after the commit failed: {exc}; the migration before them is "
            "committed, and the steps not done stay pending: the next migrate() resumes them"
            ) from exc
    if failed:
        raise _failure(failed)
    return steps


def _failure(failed: list[tuple[OnlineStep, MigrationError]]) -> MigrationError:
    """The first failure, naming the other steps that failed too."""
    first = failed[0][1]
    if len(failed) == 1:
        return first
    others = "".join(f"\n  also failed (and stays pending): {step.describe()}: "
                     f"{exc.__cause__ or exc}" for step, exc in failed[1:])
    error = MigrationError(f"{first}{others}", operation=first.operation, sql=first.sql)
    error.__cause__ = first.__cause__
    return error


async def run_step(conn: RawConnection, step: OnlineStep) -> None:
    """Carry out one step, outside any transaction; a no-op for what is already done."""
    if step.kind == "index":
        await _build_index(conn, step)
    elif step.kind == "validate":
        await _validate(conn, step, step.name)
    elif step.kind == "not_null":
        await _set_not_null(conn, step)
    elif await conn.fetchval(CONSTRAINT_VALIDATED, step.table, step.name) is None:  # unique
        await _build_index(conn, step)
        await _execute(conn, step, f"ALTER TABLE {step.table} ADD CONSTRAINT "
                                   f"{quote_ident(step.name)} UNIQUE USING INDEX "
                                   f"{quote_ident(step.name)}")


async def _build_index(conn: RawConnection, step: OnlineStep) -> None:
    valid = await conn.fetchval(INDEX_VALIDITY, step.schema, step.name)
    if valid:
        return
    if valid is not None:  # an INVALID leftover of an interrupted build
        await _execute(conn, step, "DROP INDEX CONCURRENTLY IF EXISTS "
                                   f"{quote_qualified(step.schema, step.name)}", wait=True)
    assert step.sql is not None
    await _execute(conn, step, step.sql, wait=True)


async def _validate(conn: RawConnection, step: OnlineStep, constraint: str) -> None:
    if await conn.fetchval(CONSTRAINT_VALIDATED, step.table, constraint) is False:
        await _execute(conn, step, f"ALTER TABLE {step.table} VALIDATE CONSTRAINT "
                                   f"{quote_ident(constraint)}", wait=True)


async def _set_not_null(conn: RawConnection, step: OnlineStep) -> None:
    assert step.column is not None
    if not await conn.fetchval(COLUMN_NOT_NULL, step.table, step.column):
        await _validate(conn, step, step.name)
        # With the validated check in place, PostgreSQL 12+ proves the column holds no NULL
        # without scanning the table: the ACCESS EXCLUSIVE lock is held only for a moment.
        await _execute(conn, step, f"ALTER TABLE {step.table} ALTER COLUMN "
                                   f"{quote_ident(step.column)} SET NOT NULL")
    await _execute(conn, step, f"ALTER TABLE {step.table} DROP CONSTRAINT IF EXISTS "
                               f"{quote_ident(step.name)}")


async def _execute(conn: RawConnection, step: OnlineStep, sql: str, *,
                   wait: bool = False) -> None:
    """Run one statement outside any transaction block; ``wait``: without ``lock_timeout``
    (for a statement whose lock does not stop writers: waiting for it stalls nobody)."""
    old = await conn.fetchval(UNBOUNDED) if wait else None
    try:
        await execute_one(conn, sql)
    except Exception as exc:
        if not is_driver_error(exc):
            raise
        raise MigrationError(
            f"online step failed after the migration committed: {step.describe()}: {exc}\n"
            f"  SQL: {sql}\n"
            "  the migration before it is committed; this step stays pending and the next "
            "migrate() resumes it (fix the rows that break it first, if that is the cause)",
            sql=sql) from exc
    finally:
        if old is not None and session_usable(conn):
            with anyio.CancelScope(shield=True):
                await conn.execute(f"SET lock_timeout = {quote_literal(old)}")
