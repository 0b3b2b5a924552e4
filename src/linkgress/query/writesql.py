"""The SQL of writes (pure): ``UPDATE`` / ``DELETE`` over a query's filter
(:func:`compile_write`, :func:`compile_predicate`) and ``INSERT ... VALUES`` with its
``ON CONFLICT`` clause (:func:`compile_insert`). Beside :mod:`linkgress.query.compiler`, whose
:class:`~linkgress.query.compiler.SqlCompiler` renders their expressions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from linkgress.errors import QueryBuildError
from linkgress.query.compiler import ROOT_ALIAS, SqlCompiler, table_sql
from linkgress.query.ctes import with_clause
from linkgress.query.projection import projection_columns
from linkgress.query.statements import (
    DeleteStatement,
    InsertStatement,
    OnConflict,
    SelectQuery,
    UpdateStatement,
)
from linkgress.schema.quoting import quote_ident, quote_qualified

if TYPE_CHECKING:
    from linkgress.model.meta import EntityMeta

__all__ = ["compile_insert", "compile_predicate", "compile_write"]


def compile_predicate(query: SelectQuery, numbers: dict[int, int]) -> str:
    """``query``'s filter as a predicate over its root table aliased :data:`ROOT_ALIAS`
    (``""`` when there is none), for ``UPDATE`` / ``DELETE``.

    A filter needing joins, or a query with ordering, paging, DISTINCT or a row lock, becomes
    ``(t0.pk, ...) IN (SELECT pk, ... FROM <the query>)`` (``ctid`` without a primary key).
    """
    simple = (query.limit is None and query.offset is None and not query.distinct
              and not query.group_by)
    if simple:
        if query.where is None:
            return ""
        c = SqlCompiler(numbers)
        scope, _ = c.push(query.source)
        predicate = c.expr(query.where)
        if not scope.joins and not c.definitions:  # CTEs need the subquery's WITH
            return predicate
    source = query.source
    pk = source.meta.primary_key
    keys = [quote_ident(n) for n in pk] if pk else ["ctid"]
    inner = SqlCompiler(numbers)
    inner.next_alias = 1  # the outer table keeps t0; inner sources start at t1
    sub = inner.select(query, lambda: ", ".join(
        f"{inner.aliases[id(source)]}.{k}" for k in keys))
    outer = ", ".join(f"{ROOT_ALIAS}.{k}" for k in keys)
    return f"({outer}) IN ({with_clause(inner.definitions)}{sub})"


# --- UPDATE / DELETE ------------------------------------------------------------------------------


def compile_write(statement: UpdateStatement | DeleteStatement, numbers: dict[int, int]) -> str:
    """The SQL of an ``UPDATE`` / ``DELETE`` (``numbers`` from
    :func:`~linkgress.query.shape.shape_of_write`). Raises
    :class:`~linkgress.errors.QueryBuildError` when SET values or ``returning()`` follow a
    reference navigation (they cannot join)."""
    c = SqlCompiler(numbers)
    root = statement.filter.source
    scope, alias = c.push(root)
    assert alias == ROOT_ALIAS
    table = table_sql(root)
    if isinstance(statement, UpdateStatement):
        sets = ", ".join(f"{quote_ident(ref.meta.name)} = {c.expr(expr)}"
                         for ref, expr in statement.sets)
        text = f"UPDATE {table} AS {ROOT_ALIAS} SET {sets}"
        verb = "update"
    else:
        text = f"DELETE FROM {table} AS {ROOT_ALIAS}"
        verb = "delete"
    predicate = compile_predicate(statement.filter, numbers)
    conditions = [predicate] if predicate else []
    if statement.key is not None:
        conditions.append(c.expr(statement.key))
    if conditions:
        text += " WHERE " + " AND ".join(conditions)
    if statement.returning is not None:
        text += " RETURNING " + ", ".join(
            c.expr(item) for item in projection_columns(statement.returning))
    if scope.joins:
        raise QueryBuildError(
            f"{verb}() values and returning() cannot follow a reference navigation "
            "(u.user.name): filter through one with where(...) instead")
    return with_clause(c.definitions) + text


# --- INSERT -------------------------------------------------------------------------------------


def compile_insert(statement: InsertStatement) -> str:
    """``INSERT INTO ... VALUES ($1, ...), ...`` for ``statement.rows`` rows (``DEFAULT
    VALUES`` / one ``DEFAULT`` per row when no column is given), with its ``ON CONFLICT``
    clause and ``RETURNING`` every column when asked."""
    meta = statement.table
    attrs = statement.attrs
    table = quote_qualified(meta.schema, meta.table)
    if not attrs and statement.rows == 1 and statement.conflict is None:
        body = "DEFAULT VALUES"
    elif attrs:
        width = len(attrs)
        tuples = ", ".join(
            "(" + ", ".join(f"${r * width + i}" for i in range(1, width + 1)) + ")"
            for r in range(statement.rows))
        body = f"({_columns(meta, attrs)}) VALUES {tuples}"
    else:  # every column generated: one DEFAULT per row
        first = quote_ident(meta.columns[0].name)
        body = f"({first}) VALUES " + ", ".join("(DEFAULT)" for _ in range(statement.rows))
    text = f"INSERT INTO {table} {body}"
    if statement.conflict is not None:
        text += " " + _on_conflict(meta, statement.conflict, statement.rows * len(attrs))
    if statement.returning:
        text += " RETURNING " + ", ".join(quote_ident(c.name) for c in meta.columns)
    return text


def _columns(meta: EntityMeta, attrs: tuple[str, ...]) -> str:
    return ", ".join(quote_ident(meta.column(a).name) for a in attrs)


def _on_conflict(meta: EntityMeta, conflict: OnConflict, offset: int) -> str:
    """``ON CONFLICT (target) DO ...``; bound values are numbered after ``offset``."""
    head = f"ON CONFLICT ({_columns(meta, conflict.target)}) "
    if conflict.action == "nothing" or not conflict.attrs:
        return head + "DO NOTHING"
    names = [quote_ident(meta.column(a).name) for a in conflict.attrs]
    if conflict.action == "excluded":
        sets = ", ".join(f"{n} = EXCLUDED.{n}" for n in names)
    else:
        sets = ", ".join(f"{n} = ${offset + i}" for i, n in enumerate(names, 1))
    if conflict.increment is not None:
        token = quote_ident(meta.column(conflict.increment).name)
        sets += f", {token} = {quote_qualified(meta.schema, meta.table)}.{token} + 1"
    return head + "DO UPDATE SET " + sets
