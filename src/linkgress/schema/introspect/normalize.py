"""Normalisation of the model side: PostgreSQL re-prints the model's SQL text.

A default written ``0`` reads back as ``0``, but ``(-5)`` as ``'-5'::integer``, ``''`` on a
varchar column as ``''::character varying`` and ``lower(email)`` in an index as
``lower((email)::text)``. No text rule gets all of these right, so linkgress asks the printer
that produced the catalog side: inside a savepoint that is always rolled back, it creates
temporary tables mirroring the model's column types and defaults, checks and indexes (planned,
deduplicated, by :mod:`.mirror`), reads the definitions back with the queries introspection
uses, parses them with the same functions, and rolls back. Enums, sequences and schemas the
target needs but the database lacks are created in the savepoint too, so a brand-new model
normalises before its first migration.

Round trips: one read of what exists, the savepoint, each (deduplicated) DDL statement of the
mirror, one read of everything printed (as JSON), the rollback. The mirror's statements carry
the model's raw SQL (defaults, checks, index expressions and predicates), so each is sent on
its own through the extended protocol (:func:`~linkgress.schema.rawsql.execute_one`): a raw
option holding a second statement is refused even here, in a savepoint that is rolled back.
When a statement is rejected, the model's objects are re-created one statement at a time
(see :func:`.mirror.blame_statements`) to name the one at fault.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import asyncpg

from linkgress.errors import MigrationError, ModelError
from linkgress.schema.introspect import catalog
from linkgress.schema.introspect.domains import TEMP_DOMAINS, apply_printed_domains
from linkgress.schema.introspect.mirror import (
    Existing,
    MirrorPlan,
    Printed,
    Statement,
    apply_printed,
    blame_statements,
    mirror_plan,
)
from linkgress.schema.introspect.parse import (
    Row,
    canonical_schema,
    parse_column,
    parse_constraint,
    parse_index,
)
from linkgress.schema.introspect.partition_print import print_partitioning
from linkgress.schema.rawsql import execute_one, is_stacked, stacked_statement_hint
from linkgress.schema.server_features import check_server_supports
from linkgress.schema.snapshot import CheckConstraint, Schema

if TYPE_CHECKING:
    from linkgress.connection import RawConnection

_T = TypeVar("_T")

IN_RECOVERY = "SELECT pg_catalog.pg_is_in_recovery()"
STANDBY = ("this server is a read replica (a standby in recovery): schema management — "
           "migrate(), analyze(), ensure_created() — runs on the primary only; give the "
           "context a client on the primary (PgClient(dsn=primary, replicas=[...]) sends ORM "
           "reads to replicas)")


def collect_printed(oids: Sequence[Row], columns: Sequence[Row], constraints: Sequence[Row],
                    indexes: Sequence[Row]) -> dict[str, Printed]:
    """Group the read-back rows by temporary table name."""
    names = {r["oid"]: r["name"] for r in oids}
    printed: dict[str, Printed] = defaultdict(Printed)
    for row in columns:
        printed[names[row["table_oid"]]].columns[row["name"]] = parse_column(row)
    for row in constraints:
        constraint = parse_constraint(row)
        if isinstance(constraint, CheckConstraint):
            printed[names[row["table_oid"]]].checks[constraint.name] = constraint.expression
    for row in indexes:
        printed[names[row["table_oid"]]].indexes[row["name"]] = parse_index(row)
    return printed


async def _in_rolled_back_savepoint(conn: RawConnection,
                                    work: Callable[[], Awaitable[_T]]) -> _T:
    # A savepoint when ``conn`` is in a transaction, else a transaction: always rolled back.
    transaction = conn.transaction()
    await transaction.start()
    try:
        return await work()
    finally:
        await transaction.rollback()


# The mirror lives in this savepoint (or, outside a transaction, in a transaction of its
# own), always rolled back.
SAVEPOINT = "__linkgress_normalize"


async def _mirror_and_read(conn: RawConnection, plan: MirrorPlan
                           ) -> tuple[dict[str, Printed], Sequence[Row]]:
    if conn.is_in_transaction():
        begin = f"SAVEPOINT {SAVEPOINT}"
        end = f"ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}"
    else:
        begin, end = "BEGIN", "ROLLBACK"
    await conn.execute(begin)
    try:
        for statement in plan.statements:
            await execute_one(conn, statement.sql)
        row = await conn.fetchrow(catalog.temp_readback_sql(conn.get_server_version().major),
                                  plan.temp_tables)
        domains = await conn.fetch(TEMP_DOMAINS, plan.temp_domains) if plan.temp_domains else []
    finally:
        await conn.execute(end)
    assert row is not None
    printed = collect_printed(*(json.loads(row[k])
                                for k in ("oids", "columns", "constraints", "indexes")))
    return printed, domains


async def _find_rejected(conn: RawConnection, statements: list[Statement]
                         ) -> tuple[Statement, asyncpg.PostgresError] | None:
    """Run the statements one by one (the rare error path) to name the one that fails."""
    for statement in statements:
        try:
            await execute_one(conn, statement.sql)
        except asyncpg.PostgresError as exc:
            return statement, exc
    return None


async def normalize(conn: RawConnection, target: Schema) -> Schema:
    """See :func:`linkgress.schema.introspect.normalize_target`."""
    if not target.tables and not target.domains:
        return canonical_schema(target)
    check_server_supports(target, conn.get_server_version().major)
    names = sorted({*target.schemas, *(e.schema for e in target.enums),
                    *(s.schema for s in target.sequences), *(d.schema for d in target.domains)})
    existing = Existing.from_rows(await conn.fetch(catalog.EXISTING_ENUMS_AND_SEQUENCES, names))
    plan = mirror_plan(target, existing)
    try:
        printed, domains = await _mirror_and_read(conn, plan)
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == "25006" and await conn.fetchval(IN_RECOVERY):
            raise MigrationError(STANDBY) from exc
        blame = blame_statements(target, existing)
        found = await _in_rolled_back_savepoint(conn, lambda: _find_rejected(conn, blame))
        if found is None:
            raise
        statement, error = found
        stacked = is_stacked(error) or is_stacked(exc)
        hint = f": {stacked_statement_hint(list(statement.options))}" if stacked else ""
        first = "" if str(error) == str(exc) else f"\n  (the first failure was: {exc})"
        raise ModelError(f"PostgreSQL rejects the model's {statement.what}: {error}{hint}\n"
                         f"  SQL: {statement.sql}{first}") from error
    # Domains first: their temporary names follow the model's order, which apply_printed sorts.
    return await print_partitioning(
        conn, apply_printed(apply_printed_domains(target, domains), plan, printed), existing)
