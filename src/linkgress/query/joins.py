"""Explicit joins: ``q.join(other, lambda a, b: ...)`` and ``q.left_join(...)``.

The floor of statement values (it builds :class:`~linkgress.query.statements.SelectQuery`
values; the compiler renders them). A joined query gets a :class:`JoinSource` of its own — a
new occurrence of the other query's table (or CTE), so a table may be joined to itself — and
lambdas given after a join receive one proxy per source, in join order.

What may be joined: a table (``JOIN "users" AS t1 ON ...``), a filtered query (its rows as a
derived table, ``JOIN (SELECT ... WHERE ...) AS t1 ON ...``), or a CTE. A projected or grouped
query cannot be joined: its rows are not entities (make it a ``cte(...)`` first).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from linkgress.errors import QueryBuildError
from linkgress.query.ctes import CteSource
from linkgress.query.expressions import Expr, as_expr
from linkgress.query.lambdaargs import call_lambda
from linkgress.query.proxies import Source
from linkgress.query.statements import JOINS, SelectQuery, replace_field

__all__ = ["Join", "JoinSource", "build_join", "call_with_sources", "query_sources"]


class JoinSource(Source):
    """The joined occurrence of ``target`` (a table's or a CTE's source) in a query whose root
    is ``parent``; ``required`` is False for a LEFT JOIN (its values may read as None)."""

    __slots__ = ("required", "target")

    def __init__(self, parent: Source, target: Source, required: bool) -> None:
        super().__init__(target.model, target.meta, "join", parent)
        self.target = target
        self.required = required
        # target.token[0]: the entity, or ``dict`` for a CTE of dicts (whose entity class is
        # made per cte() call and would defeat the compiled-query cache).
        self.token = (target.token[0], "join", "inner" if required else "left")

    @property
    def join_required(self) -> bool:
        """True for an inner join, False for a LEFT JOIN."""
        return self.required


@dataclass(frozen=True, slots=True, eq=False)
class Join:
    """One ``[LEFT] JOIN relation AS alias ON condition``; ``subquery`` is the filtered query
    joined as a derived table (None: the target's table or CTE itself)."""

    source: JoinSource
    on: Expr
    subquery: SelectQuery | None = None


def query_sources(query: SelectQuery) -> tuple[Source, ...]:
    """The sources lambdas of ``query`` receive: its root, then each joined source."""
    if not query.joins:
        return (query.source,)
    return (query.source, *(join.source for join in query.joins))


def call_with_sources(fn: Callable[..., Any], sources: tuple[Source, ...], what: str) -> Any:
    """``fn(proxy, ...)``, one proxy per source; a lambda taking another number of parameters
    raises :class:`~linkgress.errors.QueryBuildError` (not a bare ``TypeError``)."""
    if inspect.isfunction(fn) and not fn.__code__.co_flags & inspect.CO_VARARGS:
        wanted = fn.__code__.co_argcount
        if wanted != len(sources):
            raise QueryBuildError(
                f"the {what} lambda takes {wanted} parameter(s), but the query has "
                f"{len(sources)} source(s): one parameter per joined query")
    return call_lambda(fn, *[source.proxy() for source in sources])


def _check_left(query: SelectQuery) -> None:
    if query.projection is not None or query.group_by:
        raise QueryBuildError("join() must come before select() and group_by()")
    if query.limit is not None or query.offset is not None or query.distinct:
        raise QueryBuildError("join() must come before limit(), offset() and distinct(): "
                              "join a limited query as the other side instead")


def _joinable(query: SelectQuery) -> bool:
    """True when ``query`` is its source's relation as it is (no filter, order or page)."""
    source = query.source
    default = source.default if isinstance(source, CteSource) else None
    if query.projection is not None and query.projection is not default:
        raise QueryBuildError("a projected query (select) cannot be joined: join the table "
                              "or a filtered query, or make the projection a cte(...)")
    if query.group_by or query.aggregate is not None:
        raise QueryBuildError("a grouped query cannot be joined: make it a cte(...)")
    return (query.where is None and not query.ordering and query.limit is None
            and query.offset is None and not query.distinct and not query.joins)


def build_join(left: SelectQuery, right: SelectQuery, on: Callable[..., Any], required: bool
               ) -> SelectQuery:
    """``left`` joined with ``right`` on the condition ``on`` returns (given one proxy per
    source of ``left``, then one for ``right``). Raises
    :class:`~linkgress.errors.QueryBuildError` for a join that cannot be expressed."""
    _check_left(left)
    plain = _joinable(right)
    source = JoinSource(left.source, right.source, required)
    condition = as_expr(call_with_sources(on, (*query_sources(left), source), "join"))
    if condition.category not in ("bool", "any"):
        raise QueryBuildError(f"a join needs a condition, got {condition.describe()}")
    join = Join(source, condition, None if plain else right)
    return replace_field(left, JOINS, (*left.joins, join))
