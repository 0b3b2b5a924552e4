"""Data pre-checks: before any DDL, each data-dependent operation is checked against the rows.

``migrate()`` calls :func:`precheck` under the migration lock, before the first statement of
the plan. Each operation that existing rows can make fail gets one read-only query
(:func:`row_checks`, pure) that counts the offending rows and returns up to five sample keys:

- ``SET NOT NULL`` (and a new primary key): rows holding NULL;
- a column added NOT NULL without a default: any row at all;
- a new UNIQUE constraint, unique index or primary key: rows sharing their key with another;
- a new foreign key: rows whose (non-NULL) key has no referenced row;
- a new CHECK: rows for which the expression is false;
- a narrowing type change (``varchar(50)`` -> ``varchar(10)``, ``text`` -> ``integer``,
  ``bigint`` -> ``integer``, a smaller ``numeric``): rows whose value does not fit. Any other
  lossy change is tried on every row in a savepoint; if that fails, the message gives
  PostgreSQL's error (the number of rows is then unknown).

With ``migrate(online=True)`` the checks run on the plan before it is rewritten into its
online forms (:mod:`linkgress.schema.online`), so rows that a step after the commit would meet
are refused while nothing has changed.

A failure raises :class:`~linkgress.errors.MigrationError` naming the table, the column(s), the
number of offending rows and up to five primary keys (``ctid`` for a table without one); the
transaction is rolled back and nothing has changed. Operations on tables or columns the plan
creates or renames, checks that read a column the plan adds or retypes, and indexes declared
``concurrently=True`` (built after the commit) are not pre-checked (PostgreSQL still refuses
them: the transaction's atomically, a concurrent build as described in
:mod:`linkgress.schema.deferred`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg

from linkgress.errors import MigrationError
from linkgress.schema import operations as ops
from linkgress.schema.indexdef import index_element
from linkgress.schema.quoting import quote_ident, quote_qualified
from linkgress.schema.snapshot import Column, Schema, Table

if TYPE_CHECKING:
    from linkgress.connection import RawConnection

log = logging.getLogger("linkgress.migrate")

SAMPLES = 5
# SQLSTATE classes a pre-check query may raise because of the rows or the expression:
# data exceptions (22) and syntax / undefined objects / type mismatches (42).
_ROW_ERRORS = frozenset({"22", "42"})
_INT_RANGE = {"smallint": (-(2**15), 2**15 - 1), "integer": (-(2**31), 2**31 - 1),
              "bigint": (-(2**63), 2**63 - 1)}
_NUMBERS = frozenset({*_INT_RANGE, "numeric", "real", "double precision"})
_TEXTS = frozenset({"text", "character varying", "character"})
_LENGTH_TYPES = frozenset({"character varying", "character", "bit varying", "bit"})
_INT_TEXT = r"^\s*[+-]?[0-9]+\s*$"
_NUMERIC_TEXT = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"


@dataclass(frozen=True)
class RowCheck:
    """One read-only query for one operation: ``sql`` returns ``(count, key)`` rows (the
    count of offending rows, and up to five of their keys); with ``trial`` it only runs, and
    an error means some row fails."""

    operation: ops.Operation
    table: Table
    columns: tuple[str, ...]
    problem: str
    sql: str
    trial: bool = False


def _key(table: Table) -> tuple[tuple[str, ...], str]:
    """(the key columns' names for messages, an SQL text array of their values)."""
    if table.primary_key is None:
        return ("ctid",), "ARRAY[t.ctid::text]"
    cols = table.primary_key.columns
    return cols, "ARRAY[" + ", ".join(f"t.{quote_ident(c)}::text" for c in cols) + "]"


def _rows_where(table: Table, where: str) -> str:
    return (f"SELECT count(*) OVER (), {_key(table)[1]} FROM "
            f"{quote_qualified(table.schema, table.name)} AS t WHERE {where} LIMIT {SAMPLES}")


def _duplicates(table: Table, elements: Sequence[str], *, nulls_count: bool,
                where: str | None) -> str:
    cols = ", ".join(index_element(e) for e in elements)
    filters = [] if nulls_count else [f"{index_element(e)} IS NOT NULL" for e in elements]
    filters += [f"({where})"] if where else []
    condition = "copies > 1" + (" OR has_null" if nulls_count else "")
    has_null = " OR ".join(f"{index_element(e)} IS NULL" for e in elements)
    return (f"SELECT count(*) OVER (), key FROM (SELECT {_key(table)[1]} AS key, "
            f"count(*) OVER (PARTITION BY {cols}) AS copies, ({has_null}) AS has_null "
            f"FROM {quote_qualified(table.schema, table.name)} AS t"
            f"{' WHERE ' + ' AND '.join(filters) if filters else ''}) AS d "
            f"WHERE {condition} LIMIT {SAMPLES}")


def _cast_where(col: str, old: Column, new: Column) -> str | None:
    """The condition for a value that does not survive the cast, when it can be written."""
    source, target = old.type, new.type
    if source.dims or target.dims:
        return None
    value = f"t.{quote_ident(col)}"
    if target.name in _LENGTH_TYPES and target.params:
        n = target.params[0]
        return (f"length({value}::text) > {n} AND "
                f"rtrim(substr({value}::text, {n + 1}), ' ') <> ''")
    if target.name in _INT_RANGE:
        low, high = _INT_RANGE[target.name]
        bounds = f"NOT BETWEEN {low} AND {high}"
        if source.name in _NUMBERS:
            return f"round({value}::numeric) {bounds}"
        if source.name in _TEXTS:
            return (f"CASE WHEN {value}::text ~ '{_INT_TEXT}' THEN "
                    f"btrim({value}::text)::numeric {bounds} ELSE {value} IS NOT NULL END")
    if target.name == "numeric" and target.params:
        precision, scale = target.params[0], (target.params[1] if len(target.params) > 1 else 0)
        limit = f"1e{precision - scale}"
        if source.name in _NUMBERS:
            return f"abs(round({value}::numeric, {scale})) >= {limit}"
        if source.name in _TEXTS:
            return (f"CASE WHEN {value}::text ~ '{_NUMERIC_TEXT}' THEN "
                    f"abs(round(btrim({value}::text)::numeric, {scale})) >= {limit} "
                    f"ELSE {value} IS NOT NULL END")
    return None


def _alter_checks(op: ops.AlterColumn, table: Table) -> list[RowCheck]:
    col, out = op.old.name, []
    if op.old.nullable and not op.new.nullable:
        out.append(RowCheck(op, table, (col,), "hold NULL, so SET NOT NULL would fail",
                            _rows_where(table, f"t.{quote_ident(col)} IS NULL")))
    if op.lossy and op.old.type != op.new.type:
        target = op.new.type.display
        given = op.new.using  # the model's conversion (column(using=...)) replaces the cast
        where = None if given is not None else _cast_where(col, op.old, op.new)
        if where is not None:
            out.append(RowCheck(op, table, (col,), f"do not fit {target}",
                                _rows_where(table, where)))
        else:
            using = (f"({given})::{op.new.type.sql}" if given is not None
                     else op.using or f"{quote_ident(col)}::{op.new.type.sql}")
            out.append(RowCheck(op, table, (col,), f"cannot be converted to {target}",
                                # count(v), not count(*): the cast must be evaluated
                                f"SELECT count(v) FROM (SELECT {using} AS v FROM "
                                f"{quote_qualified(table.schema, table.name)} AS t) AS c",
                                trial=True))
    return out


def _foreign_key_check(op: ops.CreateForeignKey, table: Table, current: Schema) -> list[RowCheck]:
    fk = op.foreign_key
    ref = current.table(fk.ref_schema, fk.ref_table)
    if ref is None or any(ref.column(c) is None for c in fk.ref_columns):
        return []
    present = " AND ".join(f"t.{quote_ident(c)} IS NOT NULL" for c in fk.columns)
    match = " AND ".join(f"r.{quote_ident(rc)} = t.{quote_ident(c)}"
                         for c, rc in zip(fk.columns, fk.ref_columns, strict=True))
    where = (f"{present} AND NOT EXISTS (SELECT 1 FROM "
             f"{quote_qualified(ref.schema, ref.name)} AS r WHERE {match})")
    problem = f"reference no row of '{ref.schema}.{ref.name}'"
    return [RowCheck(op, table, fk.columns, problem, _rows_where(table, where))]


def _checks_for(op: ops.Operation, table: Table, current: Schema) -> list[RowCheck]:
    if isinstance(op, ops.AlterColumn):
        return _alter_checks(op, table)
    if isinstance(op, ops.AddColumn):
        col = op.column
        if col.nullable or col.default is not None or col.identity or col.type.serial:
            return []
        return [RowCheck(op, table, (col.name,), "exist, and the column is added NOT NULL "
                         "without a default", _rows_where(table, "true"))]
    if isinstance(op, ops.CreateUniqueConstraint):
        u = op.unique
        return [RowCheck(op, table, u.columns, "share their value with another row",
                         _duplicates(table, u.columns, nulls_count=u.nulls_not_distinct,
                                     where=None))]
    if isinstance(op, ops.CreateIndex) and op.index.unique:
        ix = op.index
        return [RowCheck(op, table, ix.columns, "share their value with another row",
                         _duplicates(table, ix.columns, nulls_count=ix.nulls_not_distinct,
                                     where=ix.where))]
    if isinstance(op, ops.AddPrimaryKey):
        cols = op.primary_key.columns
        return [RowCheck(op, table, cols, "hold NULL or share their value with another row",
                         _duplicates(table, cols, nulls_count=True, where=None))]
    if isinstance(op, ops.CreateForeignKey):
        return _foreign_key_check(op, table, current)
    if isinstance(op, ops.CreateCheckConstraint):
        return [RowCheck(op, table, (), f"violate CHECK ({op.check.expression})",
                         _rows_where(table, f"NOT coalesce(({op.check.expression}), true)"))]
    return []


def _columns_of(op: ops.Operation) -> tuple[str, ...]:
    if isinstance(op, ops.AlterColumn):
        return (op.old.name,)
    if isinstance(op, ops.CreateUniqueConstraint):
        return op.unique.columns
    if isinstance(op, ops.CreateIndex):
        return tuple(c for c in op.index.columns if not c.startswith("("))
    if isinstance(op, ops.AddPrimaryKey):
        return op.primary_key.columns
    if isinstance(op, ops.CreateForeignKey):
        return op.foreign_key.columns
    return ()


def _changed_columns(operations: Sequence[ops.Operation]) -> set[tuple[str, str, str]]:
    """``(schema, table, column)`` of the columns the plan adds or gives another type."""
    out = {(op.schema, op.table_name, op.column.name) for op in operations
           if isinstance(op, ops.AddColumn)}
    return out | {(op.schema, op.table_name, op.new.name) for op in operations
                  if isinstance(op, ops.AlterColumn) and op.old.type != op.new.type}


def _reads_changed(op: ops.Operation, table: Table,
                   changed: set[tuple[str, str, str]]) -> bool:
    """Whether the check of ``op`` (other than an added or altered column's own) may read a
    column the plan adds or retypes: the rows would then be judged by the wrong values."""
    if isinstance(op, ops.AddColumn | ops.AlterColumn):
        return False
    on_table = {c for s, t, c in changed if (s, t) == table.key}
    if not on_table:
        return False
    free_sql = (isinstance(op, ops.CreateCheckConstraint)
                or (isinstance(op, ops.CreateIndex)
                    and (op.index.where is not None
                         or any(c.startswith("(") for c in op.index.columns))))
    return free_sql or bool(on_table & set(_columns_of(op)))


def row_checks(operations: Sequence[ops.Operation], current: Schema) -> list[RowCheck]:
    """The pre-check queries for ``operations`` against the database ``current`` describes
    (pure). Operations on tables the plan renames, on tables or columns that do not exist
    yet, or reading a column the plan adds or retypes, get none."""
    renamed = {(op.schema, op.table_name) for op in operations
               if isinstance(op, ops.RenameTable | ops.RenameColumn)}
    renamed |= {(op.schema, op.new_name) for op in operations if isinstance(op, ops.RenameTable)}
    changed = _changed_columns(operations)
    out: list[RowCheck] = []
    for op in operations:
        key = (getattr(op, "schema", None), getattr(op, "table_name", None))
        table = current.table(*key) if None not in key else None  # type: ignore[arg-type]
        if table is None or key in renamed or _reads_changed(op, table, changed):
            continue
        if any(table.column(c) is None for c in _columns_of(op)):
            continue
        out += _checks_for(op, table, current)
    return out


def _sample(table: Table, key: list[str]) -> str:
    names = _key(table)[0]
    pairs = ", ".join(f"{n}={v}" for n, v in zip(names, key, strict=True))
    return f"({pairs})" if len(names) > 1 else pairs


async def _failure(conn: RawConnection, check: RowCheck) -> str | None:
    where = f"table '{check.table.schema}.{check.table.name}'"
    if check.columns:
        where += f", column(s) {', '.join(check.columns)}"
    try:
        async with conn.transaction():  # a savepoint: a failed query leaves no trace
            rows = await conn.fetch(check.sql)
    except asyncpg.PostgresError as exc:
        if str(getattr(exc, "sqlstate", ""))[:2] not in _ROW_ERRORS:
            raise  # a lock timeout, a lost connection...: not the rows' fault
        if check.trial:
            return f"{where}: some rows {check.problem} ({exc})"
        # The query does not fit what the table holds (an expression PostgreSQL cannot
        # evaluate on these rows as they are): the DDL itself still checks them, atomically.
        log.debug("pre-check of %r skipped: %s", check.operation.describe(), exc)
        return None
    if check.trial or not rows:
        return None
    keys = ", ".join(_sample(check.table, list(r[1])) for r in rows)
    return f"{where}: {rows[0][0]} row(s) {check.problem} (keys: {keys})"


async def precheck(conn: RawConnection, operations: Sequence[ops.Operation],
                   current: Schema) -> None:
    """Run the pre-checks of ``operations`` on ``conn`` (read-only); raise
    :class:`MigrationError` listing every failure, before any DDL ran."""
    failures: list[tuple[RowCheck, str]] = []
    for check in row_checks(operations, current):
        text = await _failure(conn, check)
        if text is not None:
            failures.append((check, text))
    if failures:
        lines = "\n".join(f"  - {op_text}: {text}" for op_text, text in
                          ((c.operation.describe(), t) for c, t in failures))
        raise MigrationError("data pre-check failed, nothing was changed:\n" + lines,
                             operation=failures[0][0].operation, sql=failures[0][0].sql)
