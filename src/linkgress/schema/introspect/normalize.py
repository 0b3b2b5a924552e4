"""Normalisation of the model side: PostgreSQL re-prints the model's SQL text.

A default written ``0`` reads back as ``0``, but ``(-5)`` as ``'-5'::integer``, ``''`` on a
varchar column as ``''::character varying`` and ``lower(email)`` in an index as
``lower((email)::text)``. No text rule gets all of these right, so linkgress asks the printer
that produced the catalog side: inside a savepoint that is always rolled back, it creates a
temporary table per target table (same column names, types and defaults, with the checks and
indexes), reads the definitions back with the queries introspection uses, parses them with the
same functions, and rolls back. Enums, sequences and schemas the target needs but the database
lacks are created in the savepoint too, so a brand-new model normalises before its first
migration.

Round trips: one read of what exists, one script for all DDL, four reads, the rollback.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import asyncpg

from linkgress.errors import ModelError
from linkgress.schema.ddl import check_clause, column_definition, create_index_sql
from linkgress.schema.introspect import catalog
from linkgress.schema.introspect.parse import (
    Row,
    canonical_schema,
    parse_column,
    parse_constraint,
    parse_index,
)
from linkgress.schema.quoting import quote_ident, quote_literal, quote_qualified
from linkgress.schema.snapshot import CheckConstraint, Column, Index, Schema, Table

if TYPE_CHECKING:
    from linkgress.client import RawConnection

TEMP_PREFIX = "__linkgress_norm_"


@dataclass(frozen=True)
class Statement:
    """One setup statement and what it is for (named in the error if PostgreSQL rejects it)."""

    sql: str
    what: str


@dataclass(frozen=True)
class Existing:
    """What normalisation must know about the database: schemas, enum labels, relations."""

    schemas: frozenset[str] = frozenset()
    enums: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    relations: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def from_rows(cls, rows: Sequence[Row]) -> Existing:
        """From the rows of :data:`catalog.EXISTING_ENUMS_AND_SEQUENCES`."""
        return cls(
            schemas=frozenset(r["schema"] for r in rows if r["kind"] == "schema"),
            enums={(r["schema"], r["name"]): tuple(r["labels"])
                   for r in rows if r["kind"] == "enum"},
            relations=frozenset((r["schema"], r["name"]) for r in rows
                                if r["kind"] == "relation"))


def temp_table_name(position: int) -> str:
    """The temporary mirror of the target's ``position``-th table."""
    return f"{TEMP_PREFIX}{position}"


def temp_index_name(table_position: int, index_position: int) -> str:
    """The temporary mirror of an index (indexes share one namespace, hence positions)."""
    return f"{TEMP_PREFIX}{table_position}_{index_position}"


def _label(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


def _type_statements(target: Schema, existing: Existing) -> list[Statement]:
    """Schemas, enums and sequences the temporary tables' types and defaults need."""
    out: list[Statement] = []
    needed = [e.schema for e in target.enums] + [s.schema for s in target.sequences]
    for name in dict.fromkeys(needed):
        if name not in existing.schemas:
            out.append(Statement(f"CREATE SCHEMA {quote_ident(name)}", f"schema {name!r}"))
    for position, enum in enumerate(target.enums):
        labels = existing.enums.get(enum.key)
        if labels is not None and set(enum.values) <= set(labels):
            continue  # the existing type accepts every label the target may use
        what = f"enum {_label(enum.schema, enum.name)!r}"
        if labels is not None:  # lacks a label: set it aside, within the savepoint only
            out.append(Statement(f"ALTER TYPE {quote_qualified(enum.schema, enum.name)} "
                                 f"RENAME TO {quote_ident(f'{TEMP_PREFIX}enum_{position}')}",
                                 what))
        values = ", ".join(quote_literal(v) for v in enum.values)
        out.append(Statement(f"CREATE TYPE {quote_qualified(enum.schema, enum.name)} "
                             f"AS ENUM ({values})", what))
    for seq in target.sequences:
        if seq.key not in existing.relations:
            out.append(Statement(f"CREATE SEQUENCE {quote_qualified(seq.schema, seq.name)}",
                                 f"sequence {_label(seq.schema, seq.name)!r}"))
    return out


def _table_statements(position: int, table: Table) -> list[Statement]:
    """The temporary mirror of ``table``: columns with type and default, checks, indexes."""
    what = f"table {table.qualified_name!r}"
    temp = temp_table_name(position)
    items = [column_definition(replace(c, identity=None, nullable=True, comment=None))
             for c in table.columns]
    items.extend(check_clause(c) for c in table.checks)
    out = [Statement(f"CREATE TEMPORARY TABLE {quote_ident(temp)} ({', '.join(items)})", what)]
    for j, index in enumerate(table.indexes):
        mirror = replace(index, name=temp_index_name(position, j), concurrently=False)
        out.append(Statement(create_index_sql("pg_temp", temp, mirror),
                             f"index {index.name!r} on {table.qualified_name!r}"))
    return out


def setup_statements(target: Schema, existing: Existing) -> list[Statement]:
    """Every statement normalisation runs in its savepoint, in order."""
    out = _type_statements(target, existing)
    for position, table in enumerate(target.tables):
        out.extend(_table_statements(position, table))
    return out


@dataclass
class Printed:
    """What PostgreSQL printed for one temporary table."""

    columns: dict[str, Column] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)


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


def _normalised_column(column: Column, printed: Column | None) -> Column:
    if printed is None:
        return column
    return replace(column, type=printed.type,
                   default=None if column.identity is not None else printed.default)


def _normalised_index(index: Index, printed: Index | None) -> Index:
    if printed is None:
        return index
    return replace(index, columns=printed.columns, where=printed.where)


def apply_printed(target: Schema, printed: dict[str, Printed]) -> Schema:
    """``target`` with types, defaults, check expressions and index elements/predicates
    replaced by PostgreSQL's printing of them, in canonical order."""
    tables = []
    for i, table in enumerate(target.tables):
        p = printed.get(temp_table_name(i), Printed())
        tables.append(replace(
            table,
            columns=tuple(_normalised_column(c, p.columns.get(c.name)) for c in table.columns),
            checks=tuple(replace(c, expression=p.checks.get(c.name, c.expression))
                         for c in table.checks),
            indexes=tuple(_normalised_index(ix, p.indexes.get(temp_index_name(i, j)))
                          for j, ix in enumerate(table.indexes))))
    return canonical_schema(replace(target, tables=tuple(tables)))


async def _in_rolled_back_savepoint(conn: RawConnection, work: Any) -> Any:
    # A savepoint when ``conn`` is in a transaction, else a transaction: always rolled back.
    transaction = conn.transaction()
    await transaction.start()
    try:
        return await work()
    finally:
        await transaction.rollback()


async def _setup_and_read(conn: RawConnection, statements: list[Statement],
                          tables: int) -> dict[str, Printed]:
    if statements:
        await conn.execute(";\n".join(s.sql for s in statements))
    names = [temp_table_name(i) for i in range(tables)]
    major = conn.get_server_version().major
    return collect_printed(
        await conn.fetch(catalog.TEMP_TABLE_OIDS, names),
        await conn.fetch(catalog.TEMP_COLUMNS, names),
        await conn.fetch(catalog.constraints_sql(major, temp=True), names),
        await conn.fetch(catalog.indexes_sql(major, temp=True), names))


async def _find_rejected(conn: RawConnection,
                         statements: list[Statement]) -> tuple[Statement, Exception] | None:
    """Re-run the statements one by one (the rare error path) to name the one that fails."""
    for statement in statements:
        try:
            await conn.execute(statement.sql)
        except asyncpg.PostgresError as exc:
            return statement, exc
    return None


async def normalize(conn: RawConnection, target: Schema) -> Schema:
    """See :func:`linkgress.schema.introspect.normalize_target`."""
    if not target.tables:
        return canonical_schema(target)
    names = sorted({*target.schemas, *(e.schema for e in target.enums),
                    *(s.schema for s in target.sequences)})
    existing = Existing.from_rows(await conn.fetch(catalog.EXISTING_ENUMS_AND_SEQUENCES, names))
    statements = setup_statements(target, existing)
    try:
        printed = await _in_rolled_back_savepoint(
            conn, lambda: _setup_and_read(conn, statements, len(target.tables)))
    except asyncpg.PostgresError as exc:
        found = await _in_rolled_back_savepoint(conn, lambda: _find_rejected(conn, statements))
        if found is None:
            raise
        statement, error = found
        raise ModelError(f"PostgreSQL rejects the model's {statement.what}: {error}\n"
                         f"  SQL: {statement.sql}") from exc
    return apply_printed(target, printed)
