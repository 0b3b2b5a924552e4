"""Equal constant defaults printed differently are not changes.

PostgreSQL prints a default as it was written, give or take casts: a float column's
``DEFAULT '5.2'`` reads back as ``'5.2'::double precision`` while the model's ``5.2`` prints
``5.2``; ``numeric(10,2) DEFAULT 0`` against ``0.00``; ``(1 + 1)`` against ``2``. Comparing
printings is right for expressions and wrong for constants equal as values. So, where the
printed defaults of a column differ, linkgress asks PostgreSQL — in a transaction or savepoint
that is always rolled back — whether both are constant and equal: each side becomes a
generated column of the column's type on a temporary table (PostgreSQL refuses a generation
expression that is not immutable), a row is inserted and the two values are compared as text.
Equal: the model's default takes the database's printing, and the differ (pure) sees no
change. Not constant (``nextval(...)``, ``current_user``), not equal, or an error: the printed
comparison stands. ``now()``, ``CURRENT_TIMESTAMP`` and ``transaction_timestamp()`` are the
same function of the transaction and are equal by this module's table, without evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import asyncpg

from linkgress.schema.quoting import quote_ident
from linkgress.schema.rawsql import execute_one
from linkgress.schema.snapshot import Column, Schema, Table

if TYPE_CHECKING:
    from linkgress.connection import RawConnection

# One function of the transaction, three spellings (PostgreSQL prints each as written).
TRANSACTION_TIMESTAMP = frozenset({"now()", "CURRENT_TIMESTAMP", "transaction_timestamp()"})
_TEMP = "__linkgress_const"
_SAVEPOINT = "__linkgress_const_one"


@dataclass(frozen=True)
class Candidate:
    """A column whose printed defaults differ: ``(schema, table, column)``, its type and the
    database's (``old``) and the model's (``new``) default."""

    key: tuple[str, str, str]
    type_sql: str
    old: str
    new: str


def _current_column(table: Table, column: Column) -> Column | None:
    found = table.column(column.name)
    if found is None and column.renamed_from is not None:
        found = table.column(column.renamed_from)
    return found


def candidates(current: Schema, target: Schema) -> list[Candidate]:
    """The columns of ``target`` whose default differs in print from ``current``'s, with the
    same type, neither side identity nor serial."""
    tables = {t.key: t for t in current.tables}
    out = []
    for table in target.tables:
        existing = tables.get(table.key)
        if existing is not None:
            out.extend(_table_candidates(existing, table))
    return out


def _table_candidates(existing: Table, table: Table) -> list[Candidate]:
    out = []
    for column in table.columns:
        old = _current_column(existing, column)
        if (old is None or old.default is None or column.default is None
                or old.default == column.default or old.type != column.type
                or column.type.serial or old.identity or column.identity):
            continue
        out.append(Candidate((table.schema, table.name, column.name), column.type.sql,
                             old.default, column.default))
    return out


def same_by_table(candidate: Candidate) -> bool:
    """True when both sides are spellings of one function (see :data:`TRANSACTION_TIMESTAMP`)."""
    return {candidate.old, candidate.new} <= TRANSACTION_TIMESTAMP


def with_defaults(target: Schema, equal: dict[tuple[str, str, str], str]) -> Schema:
    """``target`` with the default of each column in ``equal`` printed as given."""
    if not equal:
        return target
    tables = []
    for table in target.tables:
        columns = tuple(replace(c, default=equal[(table.schema, table.name, c.name)])
                        if (table.schema, table.name, c.name) in equal else c
                        for c in table.columns)
        tables.append(table if columns == table.columns else replace(table, columns=columns))
    return replace(target, tables=tuple(tables))


def _probe_sql(candidate: Candidate) -> str:
    return (f"CREATE TEMPORARY TABLE {quote_ident(_TEMP)} ("
            f"a {candidate.type_sql} GENERATED ALWAYS AS ({candidate.old}) STORED, "
            f"b {candidate.type_sql} GENERATED ALWAYS AS ({candidate.new}) STORED)")


async def _equal_constants(conn: RawConnection, candidate: Candidate) -> bool:
    await conn.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        await execute_one(conn, _probe_sql(candidate))
        return bool(await conn.fetchval(
            f"INSERT INTO {quote_ident(_TEMP)} DEFAULT VALUES "
            "RETURNING a::text IS NOT DISTINCT FROM b::text"))
    except asyncpg.PostgresError:  # not immutable, or PostgreSQL cannot evaluate it
        return False
    finally:
        await conn.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}; RELEASE SAVEPOINT {_SAVEPOINT}")


async def equal_constant_defaults(conn: RawConnection, current: Schema,
                                  target: Schema) -> Schema:
    """``target`` where each default equal as a constant to ``current``'s takes its printing
    (see the module). Changes nothing in the database: the probes are rolled back."""
    found = candidates(current, target)
    equal = {c.key: c.old for c in found if same_by_table(c)}
    probes = [c for c in found if c.key not in equal]
    if probes:
        transaction = conn.transaction()
        await transaction.start()
        try:
            for candidate in probes:
                if await _equal_constants(conn, candidate):
                    equal[candidate.key] = candidate.old
        finally:
            await transaction.rollback()
    return with_defaults(target, equal)
