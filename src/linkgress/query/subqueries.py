"""Subqueries inside a query's expressions: ``exists(query)``, ``expr.in_(query)`` and scalar
subqueries (``query.count()`` / ``query.first()`` of one column, unawaited inside another
query's lambda: see :class:`~linkgress.query.awaitables.QueryCall`).

The floor of statement values: the nodes hold a :class:`~linkgress.query.statements.SelectQuery`
and compile into the one outer statement. An inner lambda may read the outer query's row (a
correlated subquery): its columns render with the outer alias.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from linkgress.errors import QueryBuildError
from linkgress.query.awaitables import SCALAR_EXPRS
from linkgress.query.categories import compatible
from linkgress.query.expressions import Expr, Param, node
from linkgress.query.projection import Projection, PValue
from linkgress.query.statements import LIMIT, Compound, SelectQuery, replace_field

if TYPE_CHECKING:
    from linkgress.model.meta import ColumnMeta

__all__ = [
    "ExistsQuery",
    "InQuery",
    "ScalarQuery",
    "Subquery",
    "exists",
    "in_query",
    "scalar_query",
]


class Subquery(Protocol):
    """What may be used as a subquery: a query of one ``SELECT`` (a ``Queryable``)."""

    def _statement(self) -> SelectQuery | Compound: ...


@node
@dataclass(frozen=True, slots=True, eq=False)
class ExistsQuery(Expr):
    """``EXISTS (SELECT 1 FROM ...)``; ``~exists(q)`` is ``NOT EXISTS``."""

    query: SelectQuery
    category = "bool"

    def describe(self) -> str:
        return f"exists({self.query.source.meta.name} query)"


@node
@dataclass(frozen=True, slots=True, eq=False)
class InQuery(Expr):
    """``operand [NOT] IN (SELECT column FROM ...)``."""

    operand: Expr
    query: SelectQuery
    negated: bool
    category = "bool"


@node
@dataclass(frozen=True, slots=True, eq=False)
class ScalarQuery(Expr):
    """``(SELECT count(*) ...)`` (``kind`` "count") or ``(SELECT column ... LIMIT 1)``
    ("first"): one value per outer row (NULL when the first finds no row)."""

    query: SelectQuery
    kind: str
    category: str = "any"
    meta: ColumnMeta | None = None

    def describe(self) -> str:
        return f"{self.query.source.meta.name} query.{self.kind}()"


def _select(query: Subquery, what: str) -> SelectQuery:
    statement = query._statement()
    if isinstance(statement, Compound):
        raise QueryBuildError(f"{what}: a union cannot be a subquery here")
    return statement


def _single_column(statement: SelectQuery, what: str) -> Expr:
    projection: Projection | None = statement.projection
    if not isinstance(projection, PValue):
        raise QueryBuildError(f"{what} needs a query of one column: end it with "
                              "select(lambda x: x.column)")
    return projection.expr


def exists(query: Subquery) -> Expr:
    """``EXISTS (query)``: true when ``query`` (a queryable, possibly correlated — its lambdas
    may read the outer row) has a row. Combine with ``~``, ``&``, ``|``."""
    return ExistsQuery(_select(query, "exists()"))


def in_query(operand: Expr, query: Subquery, negated: bool) -> Expr:
    """``operand IN (query)`` for a query of one column of a comparable type."""
    statement = _select(query, "in_()")
    column = _single_column(statement, "in_()")
    if not compatible(operand.category, column.category):
        raise QueryBuildError(f"in_(): cannot compare {operand.describe()} "
                              f"({operand.category}) with {column.describe()} "
                              f"({column.category})")
    return InQuery(operand, statement, negated)


def scalar_query(query: Subquery, kind: str) -> Expr:
    """The scalar subquery of ``query.count()`` or ``query.first()`` (one column)."""
    statement = _select(query, f"{kind}() as a subquery")
    if kind == "count":
        return ScalarQuery(statement, kind, "num")
    column = _single_column(statement, "first() as a subquery")
    limit = statement.limit
    one = Param(1 if limit is None else min(1, limit.value), None)
    return ScalarQuery(replace_field(statement, LIMIT, one), kind, column.category,
                       column.meta)


SCALAR_EXPRS.append(scalar_query)
