"""Partition keys and bounds as PostgreSQL prints them.

The model writes a key as ``RANGE ("paid_at")`` and a bound as the user spelled it
(``FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')``); the catalog prints
``RANGE (paid_at)`` and, for a timestamp key, ``'2024-01-01 00:00:00'``. So each partitioned
table of the target is mirrored as a temporary partitioned table with its partitions, inside a
savepoint that is always rolled back, and the printed key and bounds replace the model's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import asyncpg

from linkgress.errors import ModelError
from linkgress.schema.introspect.mirror import TEMP_PREFIX, Existing, type_sql, type_statements
from linkgress.schema.quoting import quote_ident
from linkgress.schema.rawsql import execute_one, is_stacked
from linkgress.schema.snapshot import Schema, Table, TablePartition

if TYPE_CHECKING:
    from linkgress.connection import RawConnection

SAVEPOINT = "__linkgress_partitions"

# $1: the temporary tables' names. Each one's key (partitioned) or bound (partition).
PRINTED = """
SELECT c.relname AS name,
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS key,
       pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relname = ANY($1::text[])
"""


def _statements(position: int, table: Table) -> list[tuple[str, str, str]]:
    """(temp name, SQL, what) for the mirror of one partitioned table and its partitions."""
    parent = f"{TEMP_PREFIX}p{position}"
    columns = ", ".join(f"{quote_ident(c.name)} {type_sql(c.type)}" for c in table.columns)
    label = f"{table.schema}.{table.name}"
    out = [(parent, f"CREATE TEMPORARY TABLE {quote_ident(parent)} ({columns}) "
                    f"PARTITION BY {table.partition_by}", f"partition key of table {label!r}")]
    for j, partition in enumerate(table.partitions):
        name = f"{parent}_{j}"
        out.append((name, f"CREATE TEMPORARY TABLE {quote_ident(name)} PARTITION OF "
                          f"{quote_ident(parent)} {partition.bound}",
                    f"partition {partition.name!r} of table {label!r}"))
    return out


async def _run(conn: RawConnection, target: Schema, existing: Existing,
               work: list[tuple[str, str, str]]) -> dict[str, tuple[str | None, str | None]]:
    in_transaction = conn.is_in_transaction()
    await conn.execute(f"SAVEPOINT {SAVEPOINT}" if in_transaction else "BEGIN")
    try:
        for statement in type_statements(target, existing):
            await execute_one(conn, statement.sql)
        for _, sql, what in work:
            try:
                await execute_one(conn, sql)
            except asyncpg.PostgresError as exc:
                hint = (": partition_by members and for_values= are raw SQL and take no "
                        "second statement" if is_stacked(exc) else "")
                raise ModelError(f"PostgreSQL rejects the model's {what}: {exc}{hint}\n"
                                 f"  SQL: {sql}") from exc
        rows = await conn.fetch(PRINTED, [name for name, _, _ in work])
    finally:
        await conn.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}"
                           if in_transaction else "ROLLBACK")
    return {r["name"]: (r["key"], r["bound"]) for r in rows}


# What PostgreSQL printed for a partitioned table of the model, by everything the printing
# depends on (its columns' types, key and bounds): the same model is not mirrored again in
# this process (one statement per partition makes that the costliest part of normalising).
_PRINTED_TABLES: dict[tuple[object, ...], Table] = {}
_PRINTED_MAX = 4096


def _printing_key(table: Table) -> tuple[object, ...]:
    return (tuple(type_sql(c.type) for c in table.columns),
            tuple(c.name for c in table.columns), table.partition_by,
            tuple((p.name, p.bound) for p in table.partitions))


async def print_partitioning(conn: RawConnection, target: Schema, existing: Existing) -> Schema:
    """``target`` with each partition key and bound as PostgreSQL prints it (unchanged when
    no table is partitioned). Raises :class:`~linkgress.errors.ModelError` naming the
    partition (or key) PostgreSQL rejects, e.g. overlapping bounds."""
    tables = list(target.tables)
    for i, table in enumerate(tables):
        known = _PRINTED_TABLES.get(_printing_key(table)) if table.partition_by else None
        if known is not None:
            tables[i] = replace(table, partition_by=known.partition_by,
                                partitions=known.partitions)
    positions = [i for i, t in enumerate(target.tables)
                 if t.partition_by is not None and tables[i] is t]
    if not positions:
        return replace(target, tables=tuple(tables))
    work = {i: _statements(i, target.tables[i]) for i in positions}
    printed = await _run(conn, target, existing, [s for i in positions for s in work[i]])
    if len(_PRINTED_TABLES) > _PRINTED_MAX:
        _PRINTED_TABLES.clear()
    for i in positions:
        table = tables[i]
        names = [name for name, _, _ in work[i]]
        partitions = tuple(TablePartition(name=p.name, bound=printed[n][1] or p.bound)
                           for p, n in zip(table.partitions, names[1:], strict=True))
        tables[i] = replace(table, partition_by=printed[names[0]][0] or table.partition_by,
                            partitions=partitions)
        _PRINTED_TABLES[_printing_key(table)] = tables[i]
    return replace(target, tables=tuple(tables))
