"""The terminal methods of a table's query that return one row or one value: ``first``,
``single``, the aggregates (``sum``, ``min``, ``max``, ``avg``) — the base of
:class:`~linkgress.query.queryable.Queryable`, kept apart from its builders."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from linkgress.errors import MultipleResultsError, NoResultError, QueryBuildError
from linkgress.query import session
from linkgress.query.awaitables import QueryCall
from linkgress.query.expressions import Param, as_expr
from linkgress.query.running import Reader, RunnableQuery
from linkgress.query.statements import AGGREGATE, LIMIT, SelectQuery, replace_field

if TYPE_CHECKING:
    from linkgress.query.proxies import GroupProxy

__all__ = ["TableResults"]

T = TypeVar("T")

# first() and single() bind these shared (immutable) parameters instead of making new ones.
_LIMITS = {1: Param(1, None), 2: Param(2, None)}


class TableResults(RunnableQuery[T]):
    """``first`` / ``single`` / aggregates over :meth:`_statement` (see ``Queryable``)."""

    _query: SelectQuery
    _group: GroupProxy | None

    def _statement(self) -> SelectQuery:
        raise NotImplementedError

    def _call(self, fn: Callable[..., Any], what: str) -> Any:
        raise NotImplementedError

    def _prepare_limited(self, most: int) -> tuple[str, Reader | None, list[Any]]:
        """``_prepare("rows")`` of this query limited to ``most`` rows."""
        return self._prepare("rows", self._limited(most))

    def _limited(self, most: int) -> SelectQuery:
        query = self._statement()
        limit = query.limit
        if limit is None:
            return replace_field(query, LIMIT, _LIMITS[most])
        return replace_field(query, LIMIT, Param(min(limit.value, most), None))

    def first(self) -> QueryCall[T]:
        """The first row (``await q.first()``; :class:`~linkgress.errors.NoResultError` when
        there is none). Unawaited inside another query's lambda, a query of one column is a
        scalar subquery (NULL when it finds no row) that compares like a column."""
        return QueryCall(self, "first", self._run_first())

    async def _run_first(self) -> T:
        sql, reader, params = self._prepare_limited(1)
        row = await self._read(session.fetchrow, sql, params)
        if row is None:
            raise NoResultError(f"first(): no {self._query.source.meta.name} row matched")
        assert reader is not None
        return reader(row)  # type: ignore[no-any-return]

    async def first_or_none(self) -> T | None:
        """The first row, or None when there is none."""
        sql, reader, params = self._prepare_limited(1)
        row = await self._read(session.fetchrow, sql, params)
        assert reader is not None
        return None if row is None else reader(row)

    async def _single(self) -> list[T]:
        sql, reader, params = self._prepare_limited(2)
        rows = await self._read(session.fetch, sql, params)
        if len(rows) > 1:
            raise MultipleResultsError(
                f"single(): more than one {self._query.source.meta.name} row matched")
        assert reader is not None
        return [reader(row) for row in rows]

    async def single(self) -> T:
        """The only row; raises :class:`~linkgress.errors.NoResultError` when there is none
        and :class:`~linkgress.errors.MultipleResultsError` when there are several."""
        rows = await self._single()
        if not rows:
            raise NoResultError(f"single(): no {self._query.source.meta.name} row matched")
        return rows[0]

    async def single_or_none(self) -> T | None:
        """The only row or None; raises MultipleResultsError when there are several."""
        rows = await self._single()
        return rows[0] if rows else None

    async def _aggregate(self, kind: str, selector: Callable[[Any], Any]) -> Any:
        if self._group is not None:
            raise QueryBuildError(f"{kind}() on a grouped query: use g.{kind}() in select")
        value = as_expr(self._call(selector, kind))
        sql, _, params = self._prepare(kind, replace_field(self._statement(), AGGREGATE, value))
        return await self._read(session.fetchval, sql, params)

    async def sum(self, selector: Callable[[Any], Any]) -> Any:
        """``sum(selector)`` over the rows (None when there are none; PostgreSQL's types:
        ``bigint`` for integer columns, ``numeric`` -> ``Decimal`` for bigint/numeric)."""
        return await self._aggregate("sum", selector)

    async def min(self, selector: Callable[[Any], Any]) -> Any:
        """The smallest ``selector`` value (None when there are no rows)."""
        return await self._aggregate("min", selector)

    async def max(self, selector: Callable[[Any], Any]) -> Any:
        """The largest ``selector`` value (None when there are no rows)."""
        return await self._aggregate("max", selector)

    async def avg(self, selector: Callable[[Any], Any]) -> Any:
        """The average of ``selector`` (a ``Decimal`` for integer/numeric columns; None when
        there are no rows)."""
        return await self._aggregate("avg", selector)

